"""What a finished call writes, in one round trip: its journal line, its figures and the repeat-caller check.

One Lua script does, in this order, what Journal.append, Figures.seen_before and Figures.add did in four round
trips: the same stream entry (the city clock's ms, raised to the stream's top when another instance wrote a later
one; trimmed to ~max_entries), the same `cc:figures:seen:{hotline}` zset update, the same increments and maxima of
`cc:figures:{day}:{hotline}` (day and `@HH`), its expiry and the days index. It counts `repeat_callers` itself
when the check says this caller called within the window. Being one script, it is also atomic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .figures import ADD_FIGURES_LUA, figure_args, figures_key, seen_key
from .store import Store

# KEYS: journal stream, days index, seen zset, then the figures hashes.
# ARGV: journal JSON ('' = no line), city ms, max entries, caller hash ('' = no check), at, window start, hour,
# day's epoch, ttl, n counters, n (name, amount) pairs, then (name, value) pairs of maxima.
_SCRIPT = ADD_FIGURES_LUA + """
local id = false
if ARGV[1] ~= '' then
  local ms = tonumber(ARGV[2])
  local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
  if top then
    local top_ms = tonumber(string.match(top[1], '^(%d+)'))
    if top_ms > ms then ms = top_ms end
  end
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], string.format('%.0f', ms) .. '-*', 'json', ARGV[1])
end
local repeated = 0
if ARGV[4] ~= '' then
  local last = redis.call('ZSCORE', KEYS[3], ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4])
  if last and tonumber(last) >= tonumber(ARGV[6]) then repeated = 1 end
end
for k = 4, #KEYS do
  add_figures(KEYS[k], KEYS[2], ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[10]), 11, repeated)
end
return {id, repeated}
"""


@dataclass(frozen=True, slots=True)
class FigureDelta:
    """One call's counts and maxima, added to the day's and the hour's figures of each of `hotlines`."""

    day: str  # ISO date in the city's zone
    hour: int
    day_start: float  # the day's midnight, epoch seconds (the days index's score)
    hotlines: Sequence[str]
    counts: Mapping[str, float]
    maxima: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RepeatCheck:
    """Did this caller (salted hash) call `hotline` in the `window` seconds before `at`? Records this call; when
    yes, `repeat_callers` is counted in the figures of the same write."""

    hotline: str
    caller_hash: str
    at: float
    window: float


class CallEndWriter:
    def __init__(self, store: Store, *, max_entries: int = 100_000) -> None:
        self._store = store
        self._max = max_entries
        self._prefix = f"{store.keys.prefix}figures:"
        self._script = store.redis.register_script(_SCRIPT)

    async def write(
        self,
        entry: Mapping[str, Any] | None,
        figures: FigureDelta | None = None,
        repeat: RepeatCheck | None = None,
        *,
        now: float | None = None,
    ) -> tuple[str | None, bool]:
        """Journal `entry` (None: no line), check `repeat`, add `figures`: one script. Returns the entry id and
        whether the caller counted as a repeat caller."""
        keys = [self._store.keys.journal, f"{self._prefix}days"]
        keys.append(seen_key(self._prefix, repeat.hotline) if repeat else keys[0])
        args: list[str] = [
            "" if entry is None else json.dumps(entry, default=str),
            str(int(self._store.now(now) * 1000)),
            str(self._max),
            repeat.caller_hash if repeat else "",
            repr(repeat.at) if repeat else "0",
            repr(repeat.at - repeat.window) if repeat else "0",
        ]
        if figures is None:
            args += ["00", "0", "0", "0"]
        else:
            keys += [figures_key(self._prefix, figures.day, h) for h in figures.hotlines]
            args += figure_args(figures.hour, figures.day_start, figures.counts, figures.maxima)
        entry_id, repeated = await self._script(keys=keys, args=args)
        if isinstance(entry_id, bytes):
            entry_id = entry_id.decode()
        return (str(entry_id) if entry_id else None), bool(repeated)
