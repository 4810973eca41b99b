"""Audit journal (a capped Redis stream) and per-hotline handling times used to estimate waits."""

from __future__ import annotations

import json
from typing import Any

from .models import AgentStatus, JournalEntry
from .store import Store, decode_list, decode_map

HANDLING_SAMPLES = 50  # same cap as HANDLING_SAMPLES in scripts/_lib.lua
_NOT_STAFFED = {AgentStatus.LOGGED_OUT.value, AgentStatus.PAUSED.value, ""}


class Journal:
    def __init__(self, store: Store, *, max_entries: int = 100_000) -> None:
        self._store = store
        self._keys = store.keys
        self._max = max_entries

    async def append(self, entry: dict[str, Any]) -> str:
        """Add an entry (JSON-serialisable dict); the stream is trimmed to ~max_entries. Returns the entry id."""
        entry_id = await self._store.redis.xadd(
            self._keys.journal, {"json": json.dumps(entry, default=str)}, maxlen=self._max, approximate=True
        )
        return entry_id.decode() if isinstance(entry_id, bytes) else entry_id

    async def recent(self, n: int) -> list[JournalEntry]:
        """The `n` latest entries, newest first."""
        rows = await self._store.redis.xrevrange(self._keys.journal, count=n)
        entries = []
        for raw_id, fields in rows:
            entry_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
            data = json.loads(decode_map(fields).get("json", "{}"))
            entries.append(JournalEntry(id=entry_id, at=int(entry_id.split("-")[0]) / 1000, data=data))
        return entries

    async def record_handling_time(self, hotline: str, seconds: float) -> None:
        """Add a handling-time sample (release() already does it for every connected call)."""
        redis = self._store.redis
        async with redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self._keys.handling(hotline), repr(float(seconds)))
            pipe.ltrim(self._keys.handling(hotline), 0, HANDLING_SAMPLES - 1)
            await pipe.execute()

    async def handling_times(self, hotline: str) -> list[float]:
        """Recent handling times of a hotline, newest first (at most HANDLING_SAMPLES)."""
        return [float(v) for v in decode_list(await self._store.redis.lrange(self._keys.handling(hotline), 0, -1))]

    async def estimated_wait(self, hotline: str, position: int) -> float | None:
        """Seconds a call at `position` should still wait: mean handling time × position / staffed members.

        Staffed = members logged in and not paused. None when unknown (no sample yet, or nobody staffed).
        """
        samples = await self.handling_times(hotline)
        if not samples or position < 1:
            return None
        redis = self._store.redis
        members = decode_list(await redis.zrange(self._keys.members(hotline), 0, -1))
        async with redis.pipeline(transaction=False) as pipe:
            for a in members:
                pipe.hget(self._keys.presence(a), "state")
            states = decode_list(await pipe.execute())
        staffed = sum(1 for s in states if (s or "") not in _NOT_STAFFED)
        if staffed == 0:
            return None
        return sum(samples) / len(samples) * position / staffed
