"""The shared city-clock offset (`cc:clock`): one time source for every process that touches state.

`run` with a demo clock stores the offset (city time - real time); without one it removes the key. Every
process (instances, CLI, API) reads it at start (`adopt`), so a closure written by the CLI, an idle time written
by one instance and a schedule checked by another are all on the same clock. Rule: docs/architecture.md.
"""

from __future__ import annotations

from callcontrol.clock import Clock

from .store import Store, decode_map


class ClockShare:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._key = store.keys.clock

    async def publish(self, clock: Clock) -> None:
        """Make `clock`'s offset the one every process uses (remove the key when it is real time)."""
        redis = self._store.redis
        if clock.offset == 0.0 and clock.start_at is None:
            await redis.delete(self._key)
            return
        start = clock.start_at.isoformat() if clock.start_at else ""
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key)
            pipe.hset(self._key, mapping={"offset": repr(clock.offset), "start_at": start})
            await pipe.execute()

    async def offset(self) -> float:
        """The shared offset in seconds (0.0 when no demo clock is set: real time)."""
        raw = decode_map(await self._store.redis.hgetall(self._key))
        try:
            return float(raw.get("offset") or 0.0)
        except ValueError:
            return 0.0

    async def adopt(self, clock: Clock) -> Clock:
        """Set `clock` to the shared offset (in place, so every holder of `clock.time` follows) and return it."""
        clock.offset = await self.offset()
        return clock
