"""Agent directory (static data from configuration) and live presence; every change is one Lua script.

Every presence change publishes presence_changed on cc:events (state/events.py) in the same script call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import structlog

from .errors import AgentNotFound
from .models import AgentRecord, AgentState, Device, SyncResult
from .store import Store, decode_list, decode_map

log = structlog.get_logger("callcontrol.state.agents")

NO_ANSWER = "no_answer"  # pause reason set by record_miss / release_no_answer


class Agents:
    """Agents' directory and presence, shared by every instance through Redis."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._keys = store.keys

    # -- directory ---------------------------------------------------------------------------------------------
    async def sync_agents(
        self, records: Iterable[AgentRecord], *, now: float | None = None, on_call: Iterable[str] = ()
    ) -> SyncResult:
        """Replace the directory with `records`; keeps the live presence of agents still configured. The
        `on_call` hotlines keep their live membership (who holds the duty) among the agents still configured."""
        payload = []
        seen: set[str] = set()
        for r in records:
            if r.id in seen:
                raise ValueError(f"agent {r.id!r} is configured twice")
            seen.add(r.id)
            payload.append({
                "id": r.id,
                "name": r.name,
                "softphone": r.softphone or "",
                "mobile": r.mobile or "",
                "pin_hash": r.pin_hash or "",
                "hotlines_json": json.dumps(dict(r.hotlines), sort_keys=True),
                "members": [[h, p] for h, p in sorted(r.hotlines.items())],
            })
        reply = await self._store.run(
            "sync_agents", self._store.now(now), json.dumps(payload), json.dumps(sorted(set(on_call)))
        )
        return SyncResult(added=tuple(reply.get("added") or ()), removed=tuple(reply.get("removed") or ()))

    async def get_record(self, agent_id: str) -> AgentRecord:
        return record_from_hash(agent_id, decode_map(await self._store.redis.hgetall(self._keys.agent(agent_id))))

    async def record_and_state(self, agent_id: str) -> tuple[AgentRecord, AgentState]:
        """Her directory record and her presence in one round trip (what ringing her needs)."""
        async with self._store.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._keys.agent(agent_id))
            pipe.hgetall(self._keys.presence(agent_id))
            record, presence = await pipe.execute()
        return record_from_hash(agent_id, decode_map(record)), AgentState.from_hash(agent_id, decode_map(presence))

    async def agent_ids(self) -> list[str]:
        return sorted(decode_list(await self._store.redis.smembers(self._keys.agents)))

    async def members(self, hotline: str) -> list[tuple[str, int]]:
        """(agent id, penalty) of a hotline, by penalty then id."""
        rows = await self._store.redis.zrange(self._keys.members(hotline), 0, -1, withscores=True)
        return [(a.decode() if isinstance(a, bytes) else a, int(p)) for a, p in rows]

    async def logged_in_ids(self) -> list[str]:
        """Agents not logged out, sorted: one SMEMBERS of the set the scripts keep (no presence read)."""
        return sorted(decode_list(await self._store.redis.smembers(self._keys.logged_in)))

    async def reachable_count(self, hotline: str) -> int:
        """How many members could answer a call now (available, ringing, on a call or in wrap-up, on a reachable
        device): one SCARD of the index the scripts keep, whatever the number of agents."""
        return int(await self._store.redis.scard(self._keys.reachable(hotline)))

    # -- presence ----------------------------------------------------------------------------------------------
    async def get_state(self, agent_id: str) -> AgentState:
        redis = self._store.redis
        async with redis.pipeline(transaction=True) as pipe:
            pipe.exists(self._keys.agent(agent_id))
            pipe.hgetall(self._keys.presence(agent_id))
            exists, raw = await pipe.execute()
        if not exists:
            raise AgentNotFound(agent_id)
        return AgentState.from_hash(agent_id, decode_map(raw))

    async def states(self, agent_ids: Iterable[str] | None = None) -> list[AgentState]:
        """Presence of the given agents (default: all configured agents), in id order."""
        ids = sorted(agent_ids) if agent_ids is not None else await self.agent_ids()
        async with self._store.redis.pipeline(transaction=False) as pipe:
            for a in ids:
                pipe.hgetall(self._keys.presence(a))
            rows = await pipe.execute()
        return [AgentState.from_hash(a, decode_map(h)) for a, h in zip(ids, rows, strict=True) if h]

    async def _op(
        self, op: str, agent_id: str, now: float | None, arg: Any = "", by: str = "", *, force: bool = False,
        actor: str = "",
    ) -> dict[str, Any]:
        # `by`: the route that asked (cli, softphone, agents-line, api, rota...), carried by presence_changed and
        # the audit stream; `force` passes the "never nobody on call" guard (a supervisor's, audited as forced)
        reply = await self._store.run(
            "presence", op, agent_id, self._store.now(now), arg, by or "system", "1" if force else "0", actor
        )
        if uncovered := reply.get("uncovered"):  # forced, registration lost, auto-paused: say it loudly
            log.error("on_call_uncovered", hotlines=list(uncovered), agent=agent_id, op=op, by=by or "system",
                      forced=force, actor=actor or None, hint="its calls escalate until someone is on duty")
        return reply

    def _state(self, agent_id: str, reply: dict[str, Any]) -> AgentState:
        return AgentState.from_hash(agent_id, reply["presence"])

    async def login(
        self, agent_id: str, device: Device | str, *, now: float | None = None, by: str = "system", actor: str = ""
    ) -> AgentState:
        """logged_out -> available on `device` (publishes agent_available); when logged in: switch device."""
        return self._state(agent_id, await self._op("login", agent_id, now, Device(device).value, by, actor=actor))

    async def logout(
        self, agent_id: str, *, now: float | None = None, by: str = "system", force: bool = False, actor: str = ""
    ) -> AgentState:
        """-> logged_out; refused (AgentBusy) while ringing or on a call, and (OnCallUncovered) for the last
        reachable holder of an on-call hotline unless `force`."""
        return self._state(agent_id, await self._op("logout", agent_id, now, "", by, force=force, actor=actor))

    async def pause(
        self, agent_id: str, reason: str, *, now: float | None = None, by: str = "system", force: bool = False,
        actor: str = "",
    ) -> AgentState:
        """available / wrap_up / paused -> paused(reason); AgentBusy while ringing or on a call; OnCallUncovered
        as logout."""
        return self._state(agent_id, await self._op("pause", agent_id, now, reason, by, force=force, actor=actor))

    async def unpause(
        self, agent_id: str, *, now: float | None = None, by: str = "system", actor: str = ""
    ) -> AgentState:
        """paused -> available (misses reset, publishes agent_available); harmless when available."""
        return self._state(agent_id, await self._op("unpause", agent_id, now, "", by, actor=actor))

    async def set_wrap_up(self, agent_id: str, until: float, *, now: float | None = None) -> AgentState:
        """available / wrap_up -> wrap_up until `until` (epoch seconds)."""
        return self._state(agent_id, await self._op("set_wrap_up", agent_id, now, until))

    async def end_wrap_up(self, agent_id: str, *, now: float | None = None) -> AgentState:
        """wrap_up -> available (publishes agent_available); harmless in any other state."""
        return self._state(agent_id, await self._op("end_wrap_up", agent_id, now))

    async def record_miss(self, agent_id: str, max_misses: int, *, now: float | None = None) -> int:
        """Count one more consecutive no-answer; auto-pause with reason "no_answer" at `max_misses` (0: never)."""
        reply = await self._op("record_miss", agent_id, now, max_misses)
        return int(reply["presence"]["missed"])

    async def set_reachable(
        self, agent_id: str, device: Device | str, reachable: bool, *, now: float | None = None
    ) -> bool:
        """Whether `device` answers at all (a softphone: registered to Asterisk). An unreachable device is never
        offered a call; becoming reachable while free there publishes agent_available. True when it changed."""
        arg = f"{Device(device).value}={1 if reachable else 0}"
        return bool((await self._op("set_reachable", agent_id, now, arg))["changed"])

    async def reset_misses(self, agent_id: str, *, now: float | None = None) -> AgentState:
        return self._state(agent_id, await self._op("reset_misses", agent_id, now))

    # -- an agent's own calls (colleagues, citizens called back) ------------------------------------------------
    async def begin_own_call(self, agent_id: str, call_id: str, *, now: float | None = None) -> AgentState:
        """-> on_call for her own call `call_id` (no hotline call offered on top); AgentBusy while ringing or
        already on a call. The state she was in comes back with end_own_call."""
        return self._state(agent_id, await self._op("own_call_begin", agent_id, now, call_id, "softphone"))

    async def end_own_call(self, agent_id: str, call_id: str, *, now: float | None = None) -> AgentState:
        """Her own call `call_id` is over: the state she had before it (available publishes agent_available).
        Harmless when she is not on that call (a second end, or a call that never marked her)."""
        return self._state(agent_id, await self._op("own_call_end", agent_id, now, call_id, "softphone"))

    async def find_by_softphone(self, extension: str) -> AgentRecord | None:
        """The agent whose softphone is `extension` (the directory as synced from agents.yaml), or None."""
        ids = await self.agent_ids()
        async with self._store.redis.pipeline(transaction=False) as pipe:
            for a in ids:
                pipe.hget(self._keys.agent(a), "softphone")
            phones = await pipe.execute()
        for agent_id, phone in zip(ids, phones, strict=True):
            if phone is not None and (phone.decode() if isinstance(phone, bytes) else phone) == extension:
                return await self.get_record(agent_id)
        return None

    async def own_call_of(self, agent_id: str) -> str | None:
        """The own call an agent is marked on_call for (None when none)."""
        value = await self._store.redis.hget(self._keys.presence(agent_id), "own_call")
        text = value.decode() if isinstance(value, bytes) else value
        return text or None


def record_from_hash(agent_id: str, h: dict[str, str]) -> AgentRecord:
    """The directory record of `cc:agent:{id}` (AgentNotFound when the hash is empty)."""
    if not h:
        raise AgentNotFound(agent_id)
    return AgentRecord(
        id=agent_id,
        name=h.get("name", ""),
        softphone=h.get("softphone") or None,
        mobile=h.get("mobile") or None,
        hotlines=json.loads(h.get("hotlines") or "{}"),
        pin_hash=h.get("pin_hash") or None,
    )
