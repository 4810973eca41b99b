"""Whether Redis answers, as this instance's last operations saw it: a short circuit breaker and the one pair of
log lines for an outage.

After a failure Redis is treated as down for `hold` seconds: callers that can do without it (routing's degraded
route, the "closed now" switch) go on at once instead of trying again for every citizen. `guard` bounds an
operation in time (a Redis that stopped answering without closing its sockets costs `timeout`, not the client's
retries) and records how it went. The outage is logged once (`redis_unreachable`, warning) and its end once
(`redis_restored`: how long, how many operations failed meanwhile), whoever noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

import structlog
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = structlog.get_logger("callcontrol.state")

HOLD_SECONDS = 3.0  # after a failure, Redis counts as down this long without being asked again
TIMEOUT_SECONDS = 1.0  # an operation under `guard` that takes longer counts as Redis being away...
BUSY_SECONDS = 5.0  # ... unless Redis answered meanwhile: then it is our own queue (a burst), waited up to this long

OUTAGE_ERRORS = (RedisError, OSError, TimeoutError)  # what "Redis is away" looks like to a caller


def describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class RedisHealth:
    def __init__(
        self,
        *,
        hold: float = HOLD_SECONDS,
        timeout: float = TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_failure: Callable[[BaseException], None] | None = None,  # each failed operation (a metric)
    ) -> None:
        self._on_failure = on_failure
        self.hold = hold
        self.timeout = timeout
        self._clock = clock
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._failures = 0
        self._answered_at = -1e18  # clock time of the last guarded operation Redis answered
        self.busy = BUSY_SECONDS

    @property
    def down(self) -> bool:
        """Redis failed less than `hold` seconds ago: do without it now rather than wait for it."""
        return self._down_since is not None and self._clock() < self._retry_at

    @property
    def lost(self) -> bool:
        """Redis failed and has not answered since (for as long as the outage lasts, not just `hold`)."""
        return self._down_since is not None

    def failed(self, exc: BaseException) -> None:
        now = self._clock()
        if self._down_since is None:
            self._down_since, self._failures = now, 0
            log.warning("redis_unreachable", error=describe(exc))
        self._failures += 1
        self._retry_at = now + self.hold
        if self._on_failure is not None:
            self._on_failure(exc)

    def succeeded(self) -> None:
        self._answered_at = self._clock()
        if self._down_since is None:
            return
        down = self._clock() - self._down_since
        log.info("redis_restored", down_seconds=round(down, 3), failed_operations=self._failures)
        self._down_since, self._failures, self._retry_at = None, 0, 0.0

    @contextlib.asynccontextmanager
    async def guard(self, timeout: float | None = None) -> AsyncIterator[None]:
        """Run a Redis operation within `timeout` (default: the health's); a timeout raises redis' TimeoutError.
        Outage errors (RedisError, OSError, timeout) are recorded and re-raised; success closes the breaker.
        Under a burst (Redis answered other operations meanwhile, or our own loop ran late) the operation waits
        longer, up to `busy` seconds more: our own queue is not Redis being away (routing/router.py)."""
        limit = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(loop.time() + limit) as scope:
                watch = _Watch(self, scope, limit)
                try:
                    yield
                finally:
                    watch.stop()
        except TimeoutError:  # asyncio's (redis' own TimeoutError is a RedisError, below)
            error = RedisTimeoutError(f"Redis did not answer within {limit} s")
            self.failed(error)
            raise error from None
        except OUTAGE_ERRORS as exc:
            self.failed(exc)
            raise
        except Exception:  # Redis answered (a refusal such as QueueFull, or a bug of ours): it is up
            self.succeeded()
            raise
        self.succeeded()

    def answered_since(self, since: float) -> bool:
        return self._answered_at > since


class _Watch:
    """Just before a guarded operation's deadline: if Redis answered another operation since this one started (it
    waits for a pooled connection, or behind our own work) or the loop itself ran late, the deadline moves on by
    the limit, up to `busy` seconds in all; no answer at all, and the timeout stands."""

    LATE_SECONDS = 0.25  # the loop ran the check this late (at least): our process was stalled, not Redis

    def __init__(self, health: RedisHealth, scope: asyncio.Timeout, limit: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._health, self._scope, self._limit = health, scope, limit
        self._started = health._clock()
        self._began = self._loop.time()
        self._handle = self._plan(self._began + limit)

    def _plan(self, due: float) -> asyncio.TimerHandle:
        # a little before the deadline: the loop wakes on a millisecond grid and runs both in the same turn
        return self._loop.call_at(due - min(self._limit / 20, 0.05), self._check, due)

    def _check(self, due: float) -> None:
        now = self._loop.time()
        last = self._began + self._limit + self._health.busy
        late = now - due > max(self._limit / 2, self.LATE_SECONDS)
        if self._scope.expired() or now >= last - 1e-3:
            return
        if not (self._health.answered_since(self._started) or late):
            return
        step = min(now + self._limit, last)
        self._scope.reschedule(step)
        self._handle = self._plan(step)

    def stop(self) -> None:
        self._handle.cancel()
