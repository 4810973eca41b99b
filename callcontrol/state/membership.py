"""Per-hotline membership of an agent: the hotlines she takes calls for, among those agents.yaml gives her.

Logged in is per agent (presence); *45<code> / *46<code> move her in or out of one hotline while she stays
logged in for the others. Out of a hotline = not in its members zset (claims, "anyone reachable?" and the
on-call rules all read that zset), remembered in `cc:agent:{a}:out` so that a directory sync keeps it.
On-call hotlines are left alone: their members are the duty holders (handover, rota; state/duty.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import StateError
from .store import Store


class NotAHotlineOf(StateError):
    """The hotline is not one of the agent's (agents.yaml)."""

    def __init__(self, agent_id: str, hotline: str) -> None:
        super().__init__(f"hotline {hotline!r} is not one of agent {agent_id!r}'s")
        self.agent_id, self.hotline = agent_id, hotline


class OnCallDuty(StateError):
    """An on-call hotline's membership is the duty (handover, rota), not joined or left on one's own."""

    def __init__(self, agent_id: str, hotline: str) -> None:
        super().__init__(f"hotline {hotline!r} is on call: its duty is handed over, not left or joined")
        self.agent_id, self.hotline = agent_id, hotline


@dataclass(frozen=True, slots=True)
class MembershipChange:
    hotlines: tuple[str, ...]  # the hotlines she is in now (sorted)
    changed: bool


class Membership:
    """`on_call`: the on-call hotlines (hotlines.yaml on_call: true), whose membership follows the duty instead."""

    def __init__(self, store: Store, on_call: Iterable[str] = ()) -> None:
        self._store = store
        self._on_call = json.dumps(sorted(on_call))

    async def _run(self, op: str, agent_id: str, hotline: str, by: str) -> MembershipChange:
        now = self._store.now()
        reply = await self._store.run("membership", op, agent_id, now, hotline, self._on_call, by or "system")
        match reply.get("refused"):
            case "NOT_MEMBER":
                raise NotAHotlineOf(agent_id, reply.get("hotline") or hotline)
            case "ON_CALL_DUTY":
                raise OnCallDuty(agent_id, reply.get("hotline") or hotline)
        return MembershipChange(tuple(reply.get("hotlines") or ()), bool(reply.get("changed")))

    async def join(self, agent_id: str, hotline: str, *, by: str) -> MembershipChange:
        return await self._run("join", agent_id, hotline, by)

    async def leave(self, agent_id: str, hotline: str, *, by: str) -> MembershipChange:
        return await self._run("leave", agent_id, hotline, by)

    async def only(self, agent_id: str, hotline: str, *, by: str) -> MembershipChange:
        """In `hotline` alone (her on-call duties, if any, untouched)."""
        return await self._run("only", agent_id, hotline, by)

    async def join_all(self, agent_id: str, *, by: str) -> MembershipChange:
        """Back in every configured hotline (her on-call duties untouched)."""
        return await self._run("all", agent_id, "", by)

    async def hotlines_of(self, agent_id: str) -> tuple[str, ...]:
        """The configured hotlines she is a member of now (left ones out; on-call ones: where she holds duty)."""
        keys = self._store.keys
        configured = json.loads(await self._store.redis.hget(keys.agent(agent_id), "hotlines") or "{}")
        async with self._store.redis.pipeline(transaction=False) as pipe:
            for hotline in sorted(configured):
                pipe.zscore(keys.members(hotline), agent_id)
            scores = await pipe.execute()
        return tuple(h for h, score in zip(sorted(configured), scores, strict=True) if score is not None)
