"""Waiting calls per hotline, claims (call <-> agent), connection and release; each step is one Lua script.

Queue order: one zset per hotline, lower score first, score = (PRIORITY_MAX - priority) * ARRIVAL_SPAN + arrival
in epoch milliseconds. A higher priority therefore always comes first; within a priority, the earlier arrival.
The score is stored with the call, so a requeue puts the call back exactly where it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from .agents import record_from_hash
from .errors import CallNotFound, CallNotWaiting, StateError
from .models import AgentState, Claim, NoAnswer, QueuedCall, Strategy, check_id
from .store import Store, decode_list, decode_map

log = structlog.get_logger("callcontrol.state.queues")

PRIORITY_MAX = 99
ARRIVAL_SPAN = 10**13  # > epoch milliseconds until the year 2286; max score 1e15 < 2**53 (exact in a double)
CLAIM_SCAN_LIMIT = 50  # waiting calls of dead instances skipped at most per claim


def queue_score(priority: int, enqueued_at: float) -> int:
    """Sort key of a waiting call: lower first; priority (0..99, higher = sooner) then arrival."""
    if not isinstance(priority, int) or not 0 <= priority <= PRIORITY_MAX:
        raise ValueError(f"priority must be an int in 0..{PRIORITY_MAX}, got {priority!r}")
    return (PRIORITY_MAX - priority) * ARRIVAL_SPAN + round(enqueued_at * 1000)


@dataclass(frozen=True, slots=True)
class CallHistory:
    """What a queued call had been through, kept with its entry for an instance that adopts it after a restart."""

    started_at: float  # the call's start (epoch seconds on the city clock)
    path: tuple[dict[str, Any], ...]  # its path until it was queued: {"at", "step", **detail}
    agent: str | None = None  # the agent it is connected to, if any
    connected_at: float | None = None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


class Queues:
    """Hotline queues and the atomic hand-over of citizens to agents."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._keys = store.keys

    # -- waiting -----------------------------------------------------------------------------------------------
    async def enqueue(
        self,
        call_id: str,
        hotline: str,
        *,
        priority: int = 0,
        owner: str,
        max_length: int | None = None,
        caller_masked: str = "",
        now: float | None = None,
        started_at: float | None = None,
        path: Sequence[Mapping[str, Any]] = (),
        require_reachable: bool = False,
    ) -> int:
        """Queue a call; returns its 1-based position. Raises QueueFull when `max_length` calls already wait, and
        with `require_reachable` NobodyReachable when no member could answer now (checked in the same script).
        `started_at` and `path` (the call's start and path so far) are kept for `history`.

        The arrival part of the queue score is Redis' TIME (one clock for every instance) unless `now` is given
        (tests, imports): then it is `now`."""
        args = self._enqueue_args(call_id, hotline, priority, owner, max_length, caller_masked, now, started_at, path,
                                  require_reachable)  # fmt: skip
        return int((await self._store.run("enqueue", *args))["position"])

    async def enqueue_and_claim(
        self,
        call_id: str,
        hotline: str,
        strategy: Strategy | str,
        *,
        priority: int = 0,
        owner: str,
        max_length: int | None = None,
        caller_masked: str = "",
        started_at: float | None = None,
        path: Sequence[Mapping[str, Any]] = (),
        require_reachable: bool = False,
    ) -> tuple[int, Claim | None]:
        """`enqueue`, then in the same round trip the call's own first claim: (position, the claim when free
        member(s) were reserved for this very call, else None: no agent free, another call to serve first, or
        the claim did not run; the distributor then claims as usual). Errors as `enqueue`'s."""
        args = self._enqueue_args(call_id, hotline, priority, owner, max_length, caller_masked, None, started_at,
                                  path, require_reachable)  # fmt: skip
        claim_args = ("head", hotline, Strategy(strategy).value, self._store.now(), owner, CLAIM_SCAN_LIMIT, call_id)
        queued, claimed = await self._store.run_two(("enqueue", args), ("claim", claim_args))
        return int(queued["position"]), self._claim(claimed) if claimed is not None else None

    def _enqueue_args(
        self, call_id: str, hotline: str, priority: int, owner: str, max_length: int | None, caller_masked: str,
        now: float | None, started_at: float | None, path: Sequence[Mapping[str, Any]], require_reachable: bool,
    ) -> tuple[str | int | float, ...]:
        check_id("call", call_id)
        check_id("hotline", hotline)
        check_id("instance", owner)
        score = queue_score(priority, now) if now is not None else ""
        if now is None:
            queue_score(priority, 0.0)  # validates the priority before Redis sees it
        return (
            call_id, hotline, score, priority, self._store.now(now), owner, max_length or 0, caller_masked,
            "" if started_at is None else started_at, json.dumps(list(path), default=str),
            "1" if require_reachable else "",
        )  # fmt: skip

    async def history(self, call_id: str) -> CallHistory | None:
        """The start, path, agent and connection time kept with a queued call; None when unknown or not kept."""
        raw = await self._store.redis.hmget(self._keys.call(call_id), ["started_at", "path", "agent", "connected_at"])
        started_at, path, agent, connected_at = (v.decode() if isinstance(v, bytes) else v for v in raw)
        start = _float(started_at)
        if start is None:
            return None
        try:
            steps = json.loads(path) if path else []
        except ValueError:
            steps = []
        return CallHistory(
            started_at=start,
            path=tuple(s for s in steps if isinstance(s, dict) and "step" in s and "at" in s),
            agent=agent or None,
            connected_at=_float(connected_at),
        )

    async def leave(self, call_id: str, *, now: float | None = None) -> tuple[str, ...]:
        """The citizen hung up: forget the call at once; returns the agents that were ringing for it (freed)."""
        reply = await self._store.run("leave", call_id, self._store.now(now))
        return tuple(reply.get("freed") or ())

    async def position(self, call_id: str) -> int:
        """1-based position of a waiting call. CallNotFound / CallNotWaiting otherwise."""
        call = await self.get_call(call_id)
        rank = await self._store.redis.zrank(self._keys.waiting(call.hotline), call_id)
        if rank is None:
            raise CallNotWaiting(call_id, call.status.value)
        return int(rank) + 1

    async def requeue(self, call_id: str, *, now: float | None = None) -> int:
        """Back at its original place after a failed attempt (ringing agents freed); returns the position."""
        reply = await self._store.run("requeue", call_id, self._store.now(now))
        return int(reply["position"])

    async def move(self, call_id: str, hotline: str, priority: int, *, now: float | None = None) -> tuple[str, int]:
        """Switchboard: this waiting call to `hotline`, keeping its arrival (and so its waiting time); returns
        (the hotline it left, its position in the new one). CallNotFound / CallNotWaiting otherwise."""
        check_id("hotline", hotline)
        queue_score(priority, 0.0)  # validates the priority
        reply = await self._store.run("move", call_id, hotline, priority, self._store.now(now))
        return str(reply["from"]), int(reply["position"])

    async def adopt(self, call_id: str, owner: str) -> None:
        """Another instance now owns the call (reconcile after the owner died)."""
        await self._store.run("adopt", call_id, check_id("instance", owner))

    async def get_call(self, call_id: str) -> QueuedCall:
        redis = self._store.redis
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._keys.call(call_id))
            pipe.smembers(self._keys.call_agents(call_id))
            raw, agents = await pipe.execute()
        if not raw:
            raise CallNotFound(call_id)
        return QueuedCall.from_hash(decode_map(raw), tuple(sorted(decode_list(agents))))

    async def waiting(self, hotline: str) -> list[QueuedCall]:
        """Waiting calls of a hotline, head first."""
        redis = self._store.redis
        ids = decode_list(await redis.zrange(self._keys.waiting(hotline), 0, -1))
        async with redis.pipeline(transaction=False) as pipe:
            for c in ids:
                pipe.hgetall(self._keys.call(c))
            rows = await pipe.execute()
        return [QueuedCall.from_hash(decode_map(h)) for h in rows if h]

    async def length(self, hotline: str) -> int:
        return int(await self._store.redis.zcard(self._keys.waiting(hotline)))

    # -- claims ------------------------------------------------------------------------------------------------
    @staticmethod
    def _claim(reply: dict[str, Any]) -> Claim | None:
        if "none" in reply:
            return None
        known = {}
        for agent_id, seen in (reply.get("known") or {}).items():  # Lua may encode an empty table as [] or {}
            if isinstance(seen, dict) and isinstance(seen.get("record"), dict) and seen["record"]:
                presence = seen.get("presence") if isinstance(seen.get("presence"), dict) else {}
                known[agent_id] = (record_from_hash(agent_id, seen["record"]), AgentState.from_hash(agent_id, presence))
        return Claim(call_id=reply["call"], hotline=reply["hotline"], owner=reply["owner"],
                     agent_ids=tuple(reply["agents"]), known=known)

    async def claim(
        self, hotline: str, strategy: Strategy | str, *, instance: str, now: float | None = None
    ) -> Claim | None:
        """Hand the head waiting call of `hotline` to free member(s) chosen by `strategy`, atomically.

        Only the owner of the head call gets it: None when no call, no free agent, or the head call belongs to
        another live instance (which receives the same agent_available event and claims it itself).
        """
        reply = await self._store.run(
            "claim", "head", hotline, Strategy(strategy).value, self._store.now(now), instance, CLAIM_SCAN_LIMIT
        )
        return self._claim(reply)

    async def claim_call_for_agent(
        self, call_id: str, agent_id: str, *, instance: str, now: float | None = None
    ) -> Claim:
        """Switchboard redirect: this waiting call to this free agent (member or not).

        Raises CallNotFound, CallNotWaiting, AgentNotFound or AgentBusy (agent not free, state in the message).
        """
        reply = await self._store.run("claim", "call_for_agent", call_id, agent_id, self._store.now(now), instance)
        claim = self._claim(reply)
        if claim is None:  # the script never answers "none" in this mode
            raise StateError(f"claim of call {call_id!r} for agent {agent_id!r} returned nothing: {reply}")
        return claim

    async def claim_agent_for_call(
        self,
        call_id: str,
        hotline: str,
        strategy: Strategy | str,
        exclude: Iterable[str] = (),
        *,
        instance: str,
        now: float | None = None,
    ) -> Claim | None:
        """Next free member of `hotline` (not in `exclude`) for a waiting call; None when nobody is free."""
        reply = await self._store.run(
            "claim", "agent_for_call", call_id, Strategy(strategy).value, self._store.now(now), instance,
            json.dumps(sorted(set(exclude))), hotline,
        )
        return self._claim(reply)

    async def skip_agent(self, call_id: str, agent_id: str) -> bool:
        """Never offer this call to this agent again (every claim mode honours it); False when the call is gone."""
        reply = await self._store.run("skip", call_id, agent_id)
        return bool(reply.get("skipped"))

    async def skipped(self, call_id: str) -> list[str]:
        """The agents this call is never offered to again, sorted."""
        return sorted(decode_list(await self._store.redis.smembers(self._keys.skip(call_id))))

    async def release_ringall(
        self, call_id: str, winner: str | None, *, keep: Iterable[str] = (), now: float | None = None
    ) -> tuple[str, ...]:
        """Free the ring_all losers (all of them, and requeue the call, when `winner` is None); returns them.
        Losers in `keep` (their leg may still be up) stay reserved until `release_dismissed`."""
        reply = await self._store.run(
            "release_ringall", call_id, winner or "", self._store.now(now), json.dumps(sorted(set(keep)))
        )
        return tuple(reply.get("freed") or ())

    async def release_dismissed(self, call_id: str, agent_id: str, *, now: float | None = None) -> bool:
        """A ring_all loser kept by `release_ringall` has no leg left: free again (False: nothing to free)."""
        reply = await self._store.run("release_dismissed", call_id, agent_id, self._store.now(now))
        return bool(reply.get("freed"))

    # -- connection and release --------------------------------------------------------------------------------
    async def connect(self, call_id: str, agent_id: str, *, now: float | None = None) -> AgentState:
        """ringing -> on_call for that call (misses reset; other agents ringing for it freed)."""
        reply = await self._store.run("connect", call_id, agent_id, self._store.now(now))
        return AgentState.from_hash(agent_id, reply["presence"])

    async def release(self, agent_id: str, *, wrap_up_seconds: float = 0, now: float | None = None) -> AgentState:
        """End of the agent's call: -> wrap_up (or available when 0); harmless when already released."""
        reply = await self._store.run("release", agent_id, self._store.now(now), wrap_up_seconds)
        return AgentState.from_hash(agent_id, reply["presence"])

    async def release_no_answer(
        self, call_id: str, agent_id: str, *, max_misses: int = 0, now: float | None = None
    ) -> NoAnswer:
        """The agent did not answer: miss counted (auto-pause at max_misses), call back at its place."""
        reply = await self._store.run("release_no_answer", call_id, agent_id, self._store.now(now), max_misses)
        if uncovered := reply.get("uncovered"):
            log.error("on_call_uncovered", hotlines=list(uncovered), agent=agent_id, op="auto-pause",
                      by="auto-pause", hint="its calls escalate until someone is on duty")
        return NoAnswer(
            agent=AgentState.from_hash(agent_id, reply["presence"]),
            missed=int(reply["missed"]),
            auto_paused=bool(reply["auto_paused"]),
            requeued=bool(reply["requeued"]),
        )
