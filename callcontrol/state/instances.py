"""Instance heartbeats and the stale entries (calls, reservations) of instances that died."""

from __future__ import annotations

from collections.abc import Iterable

from .models import AgentState, CallStatus, QueuedCall, Reservation, StaleEntries, check_id
from .store import Store, decode_list, decode_map


class Instances:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._keys = store.keys

    async def heartbeat(self, instance_id: str, ttl: float, *, now: float | None = None) -> None:
        """Mark `instance_id` alive for `ttl` seconds (call it every ttl/3 or so)."""
        check_id("instance", instance_id)
        redis = self._store.redis
        async with redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.instance(instance_id), self._store.now(now), px=max(1, round(ttl * 1000)))
            pipe.sadd(self._keys.instances, instance_id)
            await pipe.execute()

    async def stop(self, instance_id: str) -> None:
        """Clean shutdown: the instance is no longer alive."""
        await self._store.redis.delete(self._keys.instance(instance_id))

    async def alive(self) -> set[str]:
        """Instances whose heartbeat has not expired."""
        redis = self._store.redis
        known = sorted(decode_list(await redis.smembers(self._keys.instances)))
        if not known:
            return set()
        async with redis.pipeline(transaction=False) as pipe:
            for i in known:
                pipe.exists(self._keys.instance(i))
            rows = await pipe.execute()
        return {i for i, up in zip(known, rows, strict=True) if up}

    async def stale_entries(self, alive_instances: Iterable[str]) -> StaleEntries:
        """Calls and agent reservations owned by instances not in `alive_instances` (a snapshot, not atomic)."""
        alive = set(alive_instances)
        redis = self._store.redis
        call_ids = sorted(decode_list(await redis.smembers(self._keys.calls)))
        agent_ids = sorted(decode_list(await redis.smembers(self._keys.agents)))
        async with redis.pipeline(transaction=False) as pipe:
            for c in call_ids:
                pipe.hgetall(self._keys.call(c))
                pipe.smembers(self._keys.call_agents(c))
            for a in agent_ids:
                pipe.hgetall(self._keys.presence(a))
            rows = await pipe.execute()
        calls = []
        for i in range(len(call_ids)):
            h = decode_map(rows[2 * i])
            if h and h.get("owner") not in alive:
                calls.append(QueuedCall.from_hash(h, tuple(sorted(decode_list(rows[2 * i + 1])))))
        reservations = []
        for a, raw in zip(agent_ids, rows[2 * len(call_ids):], strict=True):
            state = AgentState.from_hash(a, decode_map(raw))
            if state.reserved_by and state.reserved_owner not in alive:
                reservations.append(Reservation(a, state.reserved_by, state.reserved_owner or "", state.status))
        calls.sort(key=lambda q: (q.status != CallStatus.WAITING, q.enqueued_at))
        return StaleEntries(calls=tuple(calls), reservations=tuple(reservations))
