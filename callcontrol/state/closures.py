"""Manual closure switch ("all" or a hotline / flow id), e.g. the mayor closes the service for an event."""

from __future__ import annotations

from .models import Closure
from .store import Store, decode_list, decode_map

ALL = "all"


class Closures:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._keys = store.keys

    async def set_closed(
        self, scope: str, message_sound: str | None = None, until: float | None = None, *, now: float | None = None
    ) -> Closure:
        """Close `scope` until `until` (epoch seconds; None = until cleared), optionally with a message to play.

        The key has no Redis TTL: `until` is compared with the layer's clock, so every instance and the tests'
        virtual time agree; an expired closure stays inert until the next set/clear of that scope.
        """
        now = self._store.now(now)
        if until is not None and until <= now:
            raise ValueError(f"closure of {scope!r}: until={until} is not in the future")
        key = self._keys.closed(scope)
        redis = self._store.redis
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={
                "message_sound": message_sound or "", "until": "" if until is None else repr(until), "set_at": repr(now)
            })
            pipe.sadd(self._keys.closures, scope)
            await pipe.execute()
        return Closure(scope=scope, message_sound=message_sound, until=until, set_at=now)

    async def get_closed(self, scope: str, *, now: float | None = None) -> Closure | None:
        """The closure of exactly `scope` if one is in force."""
        return self._in_force(scope, decode_map(await self._store.redis.hgetall(self._keys.closed(scope))), now)

    def _in_force(self, scope: str, h: dict[str, str], now: float | None) -> Closure | None:
        if not h:
            return None
        until = float(h["until"]) if h.get("until") else None
        if until is not None and until <= self._store.now(now):
            return None
        return Closure(scope=scope, message_sound=h.get("message_sound") or None, until=until,
                       set_at=float(h.get("set_at") or 0))

    async def closed_for(self, scope: str, *, now: float | None = None) -> Closure | None:
        """The closure that applies to `scope`: "all" first, then the scope itself (both read in one round trip:
        every call's schedule check asks this)."""
        async with self._store.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._keys.closed(ALL))
            pipe.hgetall(self._keys.closed(scope))
            city, own = await pipe.execute()
        return self._in_force(ALL, decode_map(city), now) or self._in_force(scope, decode_map(own), now)

    async def clear_closed(self, scope: str) -> bool:
        """Reopen `scope`; returns whether a closure was set."""
        redis = self._store.redis
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.closed(scope))
            pipe.srem(self._keys.closures, scope)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def list_closed(self, *, now: float | None = None) -> list[Closure]:
        """Every closure in force (for the wallboard)."""
        scopes = sorted(decode_list(await self._store.redis.smembers(self._keys.closures)))
        found = [await self.get_closed(s, now=now) for s in scopes]
        return [c for c in found if c is not None]
