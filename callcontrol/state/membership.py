"""Per-hotline membership of an agent: the hotlines she takes calls for, among those agents.yaml gives her.

Logged in is per agent (presence); *45<code> / *46<code> move her in or out of one hotline while she stays
logged in for the others. Out of a hotline = not in its members zset (claims, "anyone reachable?" and the
on-call rules all read that zset), remembered in `cc:agent:{a}:out` so that a directory sync keeps it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .errors import StateError
from .store import Store, decode_list


class NotAHotlineOf(StateError):
    """The hotline is not one of the agent's (agents.yaml)."""

    def __init__(self, agent_id: str, hotline: str) -> None:
        super().__init__(f"hotline {hotline!r} is not one of agent {agent_id!r}'s")
        self.agent_id, self.hotline = agent_id, hotline


class LastOnCall(StateError):
    """Leaving would leave an on-call hotline with no reachable member."""

    def __init__(self, agent_id: str, hotline: str) -> None:
        super().__init__(f"agent {agent_id!r} is the last reachable member of on-call hotline {hotline!r}")
        self.agent_id, self.hotline = agent_id, hotline


@dataclass(frozen=True, slots=True)
class MembershipChange:
    hotlines: tuple[str, ...]  # the hotlines she is in now (sorted)
    changed: bool


class Membership:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def _run(self, op: str, agent_id: str, hotline: str, guard: bool, by: str) -> MembershipChange:
        reply = await self._store.run(
            "membership", op, agent_id, self._store.now(), hotline, "1" if guard else "0", by or "system"
        )
        match reply.get("refused"):
            case "NOT_MEMBER":
                raise NotAHotlineOf(agent_id, reply.get("hotline") or hotline)
            case "ON_CALL_UNCOVERED":
                raise LastOnCall(agent_id, reply.get("hotline") or hotline)
        return MembershipChange(tuple(reply.get("hotlines") or ()), bool(reply.get("changed")))

    async def join(self, agent_id: str, hotline: str, *, by: str) -> MembershipChange:
        return await self._run("join", agent_id, hotline, False, by)

    async def leave(self, agent_id: str, hotline: str, *, guard: bool, by: str) -> MembershipChange:
        """Out of `hotline`; `guard`: it is an on-call hotline (refused when she is its last reachable member)."""
        return await self._run("leave", agent_id, hotline, guard, by)

    async def only(self, agent_id: str, hotline: str, *, guard: bool, by: str) -> MembershipChange:
        """In `hotline` alone; `guard`: refuse leaving an on-call hotline she is the last reachable member of."""
        return await self._run("only", agent_id, hotline, guard, by)

    async def join_all(self, agent_id: str, *, by: str) -> MembershipChange:
        return await self._run("all", agent_id, "", False, by)

    async def hotlines_of(self, agent_id: str) -> tuple[str, ...]:
        """The hotlines she is in now (configured minus those she left)."""
        out = set(decode_list(await self._store.redis.smembers(self._store.keys.hotlines_out(agent_id))))
        record = await self._store.redis.hget(self._store.keys.agent(agent_id), "hotlines")
        configured = json.loads(record or "{}")
        return tuple(sorted(h for h in configured if h not in out))
