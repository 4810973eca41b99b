"""Instance heartbeats, the stale entries (calls, reservations) of instances that died, and their takeover."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .callbacks import CALLBACK_OWNER
from .models import AgentState, CallStatus, QueuedCall, Reservation, StaleEntries, check_id
from .store import Store, decode_list, decode_map


@dataclass(frozen=True)
class Dismissal:
    """An agent a dead instance was ringing: reserved until her leg is gone, then `release_dismissed`."""

    agent_id: str
    call_id: str


@dataclass(frozen=True)
class TakeOver:
    """What `take_over` did in its one step (taken False: another instance did it, or the instance is alive)."""

    dead: str
    taken: bool
    app: str = ""  # the dead instance's ARI application (its channels are still in Stasis under that name)
    adopted: tuple[str, ...] = ()  # waiting calls (offered ones requeued) now owned by the taker, to move
    connected: tuple[str, ...] = ()  # conversations left up in Asterisk (their agents stay on call)
    dismissing: tuple[Dismissal, ...] = ()
    freed: tuple[str, ...] = ()  # agents whose expired wrap-up ended now
    wrap_ups: tuple[tuple[str, float], ...] = ()  # (agent, wrap_up_until) still running: the taker ends them


# KEYS: the instances set. ARGV: the heartbeat keys' prefix. Returns the instances whose heartbeat key is gone.
_DEAD = """
local dead = {}
for _, i in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. i) == 0 then dead[#dead + 1] = i end
end
return dead
"""


class Instances:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._keys = store.keys
        self._dead = store.redis.register_script(_DEAD)

    async def heartbeat(self, instance_id: str, ttl: float, *, app: str = "", now: float | None = None) -> None:
        """Mark `instance_id` alive for `ttl` seconds (call it every ttl/3 or so); `app` is its ARI application
        name, which a taker needs to find the channels it left in Stasis."""
        check_id("instance", instance_id)
        redis = self._store.redis
        async with redis.pipeline(transaction=True) as pipe:
            pipe.set(self._keys.instance(instance_id), self._store.now(now), px=max(1, round(ttl * 1000)))
            pipe.sadd(self._keys.instances, instance_id)
            if app:
                pipe.hset(self._apps_key, instance_id, app)
            await pipe.execute()

    @property
    def _apps_key(self) -> str:
        return f"{self._keys.instances}:apps"

    async def dead(self) -> set[str]:
        """Instances seen heartbeating whose heartbeat expired and that nobody has taken over yet: one script
        (what every instance asks each second; it was three round trips)."""
        return set(decode_list(await self._dead(keys=[self._keys.instances], args=[self._keys.instance("")])))

    async def take_over(self, dead: str, taker: str, *, now: float | None = None) -> TakeOver:
        """Take over `dead` for `taker` in one step (state/scripts/take_over.lua): exactly one caller gets
        taken=True, the others (and any later call) get taken=False."""
        check_id("instance", dead)
        check_id("instance", taker)
        app = await self._store.redis.hget(self._apps_key, dead)
        reply = await self._store.run("take_over", dead, taker, self._store.now(now))
        if not reply.get("taken"):
            return TakeOver(dead=dead, taken=False)
        return TakeOver(
            dead=dead,
            taken=True,
            app=(app.decode() if isinstance(app, bytes) else app) or "",
            adopted=tuple(reply.get("adopted") or ()),
            connected=tuple(reply.get("connected") or ()),
            dismissing=tuple(Dismissal(d["agent"], d["call"]) for d in reply.get("dismissing") or ()),
            freed=tuple(reply.get("freed") or ()),
            wrap_ups=tuple((w["agent"], float(w["until"])) for w in reply.get("wrap_ups") or ()),
        )

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
            if h and h.get("owner") not in alive and h.get("owner") != CALLBACK_OWNER:  # a callback is everyone's
                calls.append(QueuedCall.from_hash(h, tuple(sorted(decode_list(rows[2 * i + 1])))))
        reservations = []
        for a, raw in zip(agent_ids, rows[2 * len(call_ids):], strict=True):
            state = AgentState.from_hash(a, decode_map(raw))
            if state.reserved_by and state.reserved_owner not in alive:
                reservations.append(Reservation(a, state.reserved_by, state.reserved_owner or "", state.status))
        calls.sort(key=lambda q: (q.status != CallStatus.WAITING, q.enqueued_at))
        return StaleEntries(calls=tuple(calls), reservations=tuple(reservations))
