"""Call journal (a Redis stream whose ids are the city clock's milliseconds at the end of each call, kept for the
retention period) and per-hotline handling times used to estimate waits."""

from __future__ import annotations

import json
from typing import Any

from redis.exceptions import ResponseError

from .models import AgentStatus, JournalEntry
from .store import Store, decode_list, decode_map

HANDLING_SAMPLES = 50  # same cap as HANDLING_SAMPLES in scripts/_lib.lua
_NOT_STAFFED = {AgentStatus.LOGGED_OUT.value, AgentStatus.PAUSED.value, ""}


class Journal:
    def __init__(self, store: Store, *, max_entries: int = 100_000) -> None:
        self._store = store
        self._keys = store.keys
        self._max = max_entries

    async def append(self, entry: dict[str, Any], *, now: float | None = None) -> str:
        """Add an entry (JSON-serialisable dict) stamped with the layer's clock; the stream is trimmed to
        ~max_entries. Returns the entry id ("<city ms>-<seq>").

        The id is the city clock's time, not Redis' (a demo clock may run days ahead): several instances append
        in any order, so an id below the stream's last one is raised to it (same millisecond, next sequence).
        """
        redis, key = self._store.redis, self._keys.journal
        fields = {"json": json.dumps(entry, default=str)}
        ms = int(self._store.now(now) * 1000)
        for _ in range(5):
            try:
                entry_id = await redis.xadd(key, fields, id=f"{ms}-*", maxlen=self._max, approximate=True)
                return _text(entry_id)
            except ResponseError:  # another instance wrote a later id meanwhile
                last = await redis.xrevrange(key, count=1)
                ms = max(ms, int(_text(last[0][0]).split("-")[0])) if last else ms
        return _text(await redis.xadd(key, fields, maxlen=self._max, approximate=True))

    async def between(self, start: float, end: float, *, batch: int = 1000) -> list[JournalEntry]:
        """Entries written from `start` to `end` (epoch seconds, both included), oldest first."""
        redis, key = self._store.redis, self._keys.journal
        low, high, out = str(int(start * 1000)), str(int(end * 1000)), []
        while True:
            rows = await redis.xrange(key, min=low, max=high, count=batch)
            out.extend(_entry(raw_id, fields) for raw_id, fields in rows)
            if len(rows) < batch:
                return out
            low = "(" + _text(rows[-1][0])

    async def purge(self, before: float) -> int:
        """Delete every entry written before `before` (the retention limit): the citizens' masked numbers and
        hashes of older calls go with them. Returns how many entries went."""
        return int(await self._store.redis.xtrim(self._keys.journal, minid=str(int(before * 1000)), approximate=False))

    async def recent(self, n: int) -> list[JournalEntry]:
        """The `n` latest entries, newest first."""
        rows = await self._store.redis.xrevrange(self._keys.journal, count=n)
        return [_entry(raw_id, fields) for raw_id, fields in rows]

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


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entry(raw_id: Any, fields: Any) -> JournalEntry:
    entry_id = _text(raw_id)
    data = json.loads(decode_map(fields).get("json", "{}"))
    return JournalEntry(id=entry_id, at=int(entry_id.split("-")[0]) / 1000, data=data)
