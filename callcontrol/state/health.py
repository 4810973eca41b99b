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
TIMEOUT_SECONDS = 1.0  # an operation under `guard` that takes longer counts as Redis being away

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
        if self._down_since is None:
            return
        down = self._clock() - self._down_since
        log.info("redis_restored", down_seconds=round(down, 3), failed_operations=self._failures)
        self._down_since, self._failures, self._retry_at = None, 0, 0.0

    @contextlib.asynccontextmanager
    async def guard(self, timeout: float | None = None) -> AsyncIterator[None]:
        """Run a Redis operation within `timeout` (default: the health's); a timeout raises redis' TimeoutError.
        Outage errors (RedisError, OSError, timeout) are recorded and re-raised; success closes the breaker."""
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                yield
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
