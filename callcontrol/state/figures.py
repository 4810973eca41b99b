"""Service figures per hotline, per day and per hour: Redis hashes incremented as each call ends (no batch).

`cc:figures:{day}:{hotline}` holds counters and maxima, each twice: `name` for the day and `name@HH` for the hour.
One Lua script applies a call's increments and maxima at once, so several instances count into the same hashes.
`cc:figures:seen:{hotline}` (zset: caller hash -> last call time) spots repeat callers over a window of days.
"""

from __future__ import annotations

from collections.abc import Mapping

from .models import check_id
from .store import Store, decode_list, decode_map

KEEP_DAYS = 800  # figures hold no personal data: two years and more, for year-on-year comparisons

# One call's counters and maxima added to one figures hash, a Lua function shared with state/call_end.py's script.
# ARGV from `first`: n (name, amount) pairs of counters, then (name, value) pairs of maxima; `repeated` = 1 adds one
# repeat caller. Then the hash's expiry (`ttl`) and its entry in the days index (score: the day's epoch).
ADD_FIGURES_LUA = """
local function add_figures(key, days_key, hour, day_epoch, ttl, n, first, repeated)
  local i = first
  for _ = 1, n do
    redis.call('HINCRBYFLOAT', key, ARGV[i], ARGV[i + 1])
    redis.call('HINCRBYFLOAT', key, ARGV[i] .. '@' .. hour, ARGV[i + 1])
    i = i + 2
  end
  if repeated == 1 then
    redis.call('HINCRBYFLOAT', key, 'repeat_callers', 1)
    redis.call('HINCRBYFLOAT', key, 'repeat_callers@' .. hour, 1)
  end
  while i <= #ARGV do
    for _, field in ipairs({ARGV[i], ARGV[i] .. '@' .. hour}) do
      local old = tonumber(redis.call('HGET', key, field) or '-1')
      if tonumber(ARGV[i + 1]) > old then redis.call('HSET', key, field, ARGV[i + 1]) end
    end
    i = i + 2
  end
  redis.call('EXPIRE', key, ttl)
  redis.call('ZADD', days_key, day_epoch, key)
end
"""

# KEYS: figures hash, days index. ARGV: hour, day's epoch, ttl seconds, n counters, then n (name, amount) pairs,
# then (name, value) pairs of maxima.
_ADD = ADD_FIGURES_LUA + """
add_figures(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), 5, 0)
return 1
"""

# KEYS: seen zset. ARGV: caller hash, now, window start. Returns 1 when that caller called since the window start.
_SEEN = """
local last = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if last and tonumber(last) >= tonumber(ARGV[3]) then return 1 end
return 0
"""


def figure_args(
    hour: int, day_start: float, counts: Mapping[str, float], maxima: Mapping[str, float] | None
) -> list[str]:
    """ARGV of ADD_FIGURES_LUA's callers: hour, day's epoch, ttl, n counters, the counters' pairs, the maxima's."""
    args: list[str] = [f"{hour:02d}", repr(day_start), str(KEEP_DAYS * 86400), str(len(counts))]
    for name, amount in counts.items():
        args += [name, repr(float(amount))]
    for name, value in (maxima or {}).items():
        args += [name, repr(float(value))]
    return args


def figures_key(prefix: str, day: str, hotline: str) -> str:
    """`prefix` is the store's prefix followed by `figures:`."""
    return f"{prefix}{check_id('day', day)}:{check_id('hotline', hotline)}"


def seen_key(prefix: str, hotline: str) -> str:
    return f"{prefix}seen:{check_id('hotline', hotline)}"


class Figures:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._prefix = f"{store.keys.prefix}figures:"
        self._add = store.redis.register_script(_ADD)
        self._seen = store.redis.register_script(_SEEN)

    def _key(self, day: str, hotline: str) -> str:
        return figures_key(self._prefix, day, hotline)

    async def add(
        self, day: str, hour: int, hotline: str, counts: Mapping[str, float],
        maxima: Mapping[str, float] | None = None, *, day_start: float = 0.0,
    ) -> None:
        """Add one call's counts (and raise its maxima) to the day's and the hour's figures of a hotline."""
        args = figure_args(hour, day_start, counts, maxima)
        await self._add(keys=[self._key(day, hotline), f"{self._prefix}days"], args=args)

    async def read(self, day: str, hotline: str) -> dict[str, float]:
        """Every counter of that day and hotline (`name` and `name@HH`), 0 when absent."""
        raw = decode_map(await self._store.redis.hgetall(self._key(day, hotline)))
        return {k: float(v) for k, v in raw.items()}

    async def hotlines(self, day: str) -> list[str]:
        """The hotlines with figures on `day`, sorted."""
        found = decode_list(await self._store.redis.zrange(f"{self._prefix}days", 0, -1))
        head = f"{self._prefix}{day}:"
        return sorted(k.removeprefix(head) for k in found if k.startswith(head))

    async def seen_before(self, hotline: str, caller_hash: str, at: float, window: float) -> bool:
        """Did this caller (salted hash) call the hotline in the `window` seconds before `at`? Records this call."""
        args = [caller_hash, repr(at), repr(at - window)]
        return bool(await self._seen(keys=[seen_key(self._prefix, hotline)], args=args))

    async def purge_seen(self, before: float) -> int:
        """Forget the callers' hashes last seen before `before`; returns how many went."""
        redis = self._store.redis
        total = 0
        async for key in redis.scan_iter(match=f"{self._prefix}seen:*"):
            total += int(await redis.zremrangebyscore(key, "-inf", f"({before!r}"))
        return total
