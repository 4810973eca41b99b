"""Follow-up tickets: a voicemail left, a callback late or failed. Status new -> assigned -> done, with who and when.

One hash per ticket (`cc:ticket:{id}`), an index by creation time (`cc:tickets`, zset), and one key per
(kind, call) so that opening the same ticket twice (two instances, a retry) returns the first one. Every change
that checks before it sets is one Lua script, so several instances can share the tickets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import StateError
from .models import check_id
from .store import Store, decode_list, decode_map

KINDS = ("voicemail", "callback_late", "callback_failed")


class TicketStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Ticket:
    id: str
    kind: str  # voicemail | callback_late | callback_failed
    hotline: str
    call_id: str
    caller_masked: str
    status: TicketStatus
    created_at: float  # epoch seconds on the city clock
    number: str | None = None  # the full number to call back (only while the ticket is open)
    recording: str | None = None  # ARI stored recording name (voicemail)
    duration: float | None = None  # seconds of the recording
    note: str = ""  # why the ticket was opened (the callback's attempts, ...)
    assigned_to: str | None = None
    assigned_at: float | None = None
    done_by: str | None = None
    done_at: float | None = None
    done_note: str = ""


class TicketNotFound(StateError):
    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"ticket {ticket_id!r} does not exist")
        self.ticket_id = ticket_id


class TicketClosed(StateError):
    """The ticket is done: it cannot be assigned or closed again."""

    def __init__(self, ticket_id: str, operation: str) -> None:
        super().__init__(f"ticket {ticket_id!r} is already done: cannot {operation}")
        self.ticket_id = ticket_id
        self.operation = operation


# KEYS: ticket hash. ARGV: new status, who, when, note. Moves a ticket on unless it is missing or done.
_MOVE = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'done' then return 'done' end
if ARGV[1] == 'assigned' then
  redis.call('HSET', KEYS[1], 'status', 'assigned', 'assigned_to', ARGV[2], 'assigned_at', ARGV[3])
else
  if redis.call('HGET', KEYS[1], 'assigned_to') == '' then
    redis.call('HSET', KEYS[1], 'assigned_to', ARGV[2], 'assigned_at', ARGV[3])
  end
  redis.call('HSET', KEYS[1], 'status', 'done', 'done_by', ARGV[2], 'done_at', ARGV[3], 'done_note', ARGV[4],
             'number', '')
end
return 'ok'
"""

# KEYS: once key, sequence, ticket prefix, index. ARGV: created_at, JSON fields. Returns the ticket id.
_OPEN = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
local id = 't' .. redis.call('INCR', KEYS[2])
local fields = cjson.decode(ARGV[2])
local flat = {'id', id}
for k, v in pairs(fields) do flat[#flat + 1] = k; flat[#flat + 1] = v end
redis.call('HSET', KEYS[3] .. id, unpack(flat))
redis.call('ZADD', KEYS[4], ARGV[1], id)
redis.call('SET', KEYS[1], id)
return id
"""


class Tickets:
    def __init__(self, store: Store) -> None:
        self._store = store
        p = store.keys.prefix
        self._index = f"{p}tickets"
        self._seq = f"{p}tickets:seq"
        self._ticket_prefix = f"{p}ticket:"
        self._once_prefix = f"{p}ticket-of:"
        self._open = store.redis.register_script(_OPEN)
        self._move = store.redis.register_script(_MOVE)

    def _key(self, ticket_id: str) -> str:
        return self._ticket_prefix + check_id("ticket", ticket_id)

    async def open(
        self,
        kind: str,
        hotline: str,
        call_id: str,
        caller_masked: str,
        *,
        number: str | None = None,
        recording: str | None = None,
        note: str = "",
        duration: float | None = None,
        now: float | None = None,
    ) -> Ticket:
        """Open a ticket for a call; opening the same kind for the same call again returns the first ticket."""
        if kind not in KINDS:
            raise ValueError(f"ticket kind {kind!r}: must be one of {', '.join(KINDS)}")
        check_id("hotline", hotline)
        check_id("call", call_id)
        created = self._store.now(now)
        fields = {
            "kind": kind, "hotline": hotline, "call_id": call_id, "caller_masked": caller_masked,
            "status": TicketStatus.NEW.value, "created_at": repr(created), "number": number or "",
            "recording": recording or "", "duration": "" if duration is None else repr(float(duration)),
            "note": note, "assigned_to": "", "assigned_at": "", "done_by": "", "done_at": "", "done_note": "",
        }
        ticket_id = _text(await self._open(
            keys=[f"{self._once_prefix}{kind}:{call_id}", self._seq, self._ticket_prefix, self._index],
            args=[repr(created), json.dumps(fields)],
        ))
        return await self.get(ticket_id)

    async def get(self, ticket_id: str) -> Ticket:
        raw = decode_map(await self._store.redis.hgetall(self._key(ticket_id)))
        if not raw:
            raise TicketNotFound(ticket_id)
        return _ticket(raw)

    async def assign(self, ticket_id: str, agent_id: str, *, now: float | None = None) -> Ticket:
        """Give the ticket to an agent (again, to another one, while it is not done)."""
        check_id("agent", agent_id)
        await self._transition(ticket_id, TicketStatus.ASSIGNED, agent_id, "", now, "assign")
        return await self.get(ticket_id)

    async def done(self, ticket_id: str, by: str, note: str = "", *, now: float | None = None) -> Ticket:
        """Close the ticket, saying who and what was done; the full number to call back is forgotten."""
        await self._transition(ticket_id, TicketStatus.DONE, by, note, now, "close")
        return await self.get(ticket_id)

    async def _transition(
        self, ticket_id: str, status: TicketStatus, who: str, note: str, now: float | None, operation: str
    ) -> None:
        result = _text(await self._move(
            keys=[self._key(ticket_id)], args=[status.value, who, repr(self._store.now(now)), note]
        ))
        if result == "missing":
            raise TicketNotFound(ticket_id)
        if result == "done":
            raise TicketClosed(ticket_id, operation)

    async def list(self, status: str | None = None, hotline: str | None = None) -> list[Ticket]:
        """Tickets oldest first, optionally only of one status and / or one hotline."""
        ids = decode_list(await self._store.redis.zrange(self._index, 0, -1))
        redis = self._store.redis
        async with redis.pipeline(transaction=False) as pipe:
            for ticket_id in ids:
                pipe.hgetall(self._ticket_prefix + ticket_id)
            rows = await pipe.execute()
        found = [_ticket(decode_map(row)) for row in rows if row]
        return [t for t in found
                if (status is None or t.status.value == status) and (hotline is None or t.hotline == hotline)]

    async def purge(self, before: float) -> int:
        """Delete the tickets created before `before` (the journal's retention); returns how many went."""
        redis = self._store.redis
        ids = decode_list(await redis.zrangebyscore(self._index, "-inf", f"({before!r}"))
        for ticket_id in ids:
            raw = decode_map(await redis.hgetall(self._ticket_prefix + ticket_id))
            async with redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._ticket_prefix + ticket_id)
                if raw:
                    pipe.delete(f"{self._once_prefix}{raw.get('kind', '')}:{raw.get('call_id', '')}")
                pipe.zrem(self._index, ticket_id)
                await pipe.execute()
        return len(ids)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _opt_float(value: str | None) -> float | None:
    return float(value) if value else None


def _ticket(raw: dict[str, str]) -> Ticket:
    return Ticket(
        id=raw["id"], kind=raw.get("kind", ""), hotline=raw.get("hotline", ""), call_id=raw.get("call_id", ""),
        caller_masked=raw.get("caller_masked", ""), status=TicketStatus(raw.get("status", "new")),
        created_at=float(raw.get("created_at") or 0), number=raw.get("number") or None,
        recording=raw.get("recording") or None, duration=_opt_float(raw.get("duration")), note=raw.get("note", ""),
        assigned_to=raw.get("assigned_to") or None, assigned_at=_opt_float(raw.get("assigned_at")),
        done_by=raw.get("done_by") or None, done_at=_opt_float(raw.get("done_at")),
        done_note=raw.get("done_note", ""),
    )
