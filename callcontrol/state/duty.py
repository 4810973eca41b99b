"""On-call duty in Redis: who holds each on-call hotline, handovers, rota shifts, the relief record, the audit.

The live membership (`cc:hotline:<h>:members`) of an on-call hotline *is* its duty: claims offer its calls to
those holders only. Every change is one Lua script (scripts/duty.lua; the "never nobody on call" guard lives in
scripts/presence.lua with the presence change it guards).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .models import check_id
from .store import Store, decode_list, decode_map


@dataclass(frozen=True, slots=True)
class DutyRecord:
    """One holder of an on-call hotline's duty: since when, and whom they relieved (None: configured/rota)."""

    hotline: str
    agent_id: str
    penalty: int
    since: float
    relieved: str | None


@dataclass(frozen=True, slots=True)
class Relief:
    """The handover an agent's next offered call announces: since when, whom she relieved, on which hotlines."""

    since: float
    relieved: str
    hotlines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ShiftResult:
    applied: bool  # False: another instance (or an earlier tick) already applied this shift
    holders: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()  # rota holders that could not be reached (not configured, no device)
    kept: tuple[str, ...] = ()  # nobody could take it: these previous holders stay on duty


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One presence change: who, what, by which route, forced or not, by whom, when."""

    id: str
    at: float
    agent_id: str
    what: str
    by: str
    forced: bool
    actor: str | None
    detail: str | None


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


class Duty:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._keys = store.keys

    async def on_call_hotlines(self) -> list[str]:
        return sorted(decode_list(await self._store.redis.smembers(self._keys.oncall)))

    async def holders(self, hotline: str | None = None) -> list[DutyRecord]:
        """Who holds the duty of `hotline` (default: every on-call hotline), by hotline, then penalty, then id."""
        hotlines = [hotline] if hotline is not None else await self.on_call_hotlines()
        rows: list[DutyRecord] = []
        for h in hotlines:
            redis = self._store.redis
            async with redis.pipeline(transaction=True) as pipe:
                pipe.zrange(self._keys.members(h), 0, -1, withscores=True)
                pipe.hgetall(self._keys.duty(h))
                members, raw = await pipe.execute()
            duty = decode_map(raw)
            for member, score in members:
                a = member.decode() if isinstance(member, bytes) else member
                info = json.loads(duty.get(a) or "{}")
                rows.append(DutyRecord(h, a, int(score), float(info.get("since") or 0), info.get("relieved") or None))
        return rows

    async def handover(
        self, from_agent: str, to_agent: str, *, now: float | None = None, by: str = "system", actor: str = ""
    ) -> tuple[tuple[str, ...], float]:
        """Move the duty from `from_agent` to `to_agent` in one step; (hotlines moved, when). HandoverRefused or
        AgentNotFound when refused (nothing changed)."""
        reply = await self._store.run(
            "duty", "handover", self._store.now(now), by or "system", actor, check_id("agent", from_agent),
            check_id("agent", to_agent),
        )
        return _tuple(reply.get("hotlines")), float(reply["at"])

    async def shift(
        self, hotline: str, start: str, holders: Sequence[str], *, now: float | None = None, by: str = "rota"
    ) -> ShiftResult:
        """Apply the rota shift beginning at `start` (ISO text) once for every instance: `holders` take the duty."""
        reply = await self._store.run(
            "duty", "shift", self._store.now(now), by, "", hotline, self._keys.shift(hotline, start),
            json.dumps(list(holders)),
        )
        return ShiftResult(
            applied=bool(reply.get("applied")),
            holders=_tuple(reply.get("holders")),
            skipped=_tuple(reply.get("skipped")),
            kept=_tuple(reply.get("kept")),
        )

    async def take_relief(self, agent_id: str) -> Relief | None:
        """The handover to announce on this agent's next offered call, taken once (None when none)."""
        raw = await self._store.redis.getdel(self._keys.relief(agent_id))
        if not raw:
            return None
        data = json.loads(raw)
        return Relief(float(data.get("since") or 0), str(data.get("relieved") or ""), _tuple(data.get("hotlines")))

    async def put_back_relief(self, agent_id: str, relief: Relief) -> None:
        """The offered call did not reach her (no answer): her next one announces it instead."""
        body = {"since": relief.since, "relieved": relief.relieved, "hotlines": list(relief.hotlines)}
        await self._store.redis.set(self._keys.relief(agent_id), json.dumps(body), nx=True)

    # -- audit ----------------------------------------------------------------------------------------------------
    async def audit(
        self, agent_id: str | None = None, *, since: float | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        """Presence changes, oldest first (at most `limit` of the newest), of one agent or all."""
        # stream ids are Redis time, `at` the city clock (a demo may shift it): filter on `at`; the stream is capped
        rows = await self._store.redis.xrevrange(self._keys.audit, "+", "-")
        out: list[AuditEntry] = []
        for entry_id, fields in rows:
            f = decode_map(fields)
            if agent_id and f.get("agent") != agent_id:
                continue
            at = float(f.get("at") or 0)
            if since is not None and at < since:
                break
            out.append(AuditEntry(
                id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
                at=at,
                agent_id=f.get("agent", ""),
                what=f.get("what", ""),
                by=f.get("by", "system"),
                forced=f.get("forced") == "1",
                actor=f.get("actor") or None,
                detail=f.get("detail") or None,
            ))
            if len(out) >= limit:
                break
        out.reverse()
        return out
