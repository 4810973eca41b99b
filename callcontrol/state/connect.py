"""The one Redis client factory (app and CLI alike): one Redis (`redis.url`) or a Sentinel-managed master.

Either way the client has a bounded BlockingConnectionPool (a burst waits for a free connection, up to
`pool_timeout`, instead of failing with "Too many connections") and retries each command with jittered
exponential backoff on what a Redis restart or a Sentinel failover raises: ConnectionError, TimeoutError,
MasterNotFoundError (no master elected yet) and READONLY (still connected to the demoted master). With
Sentinel, every new connection asks the sentinels where the master is, so a retry reaches the new master.
Measured facts and what a failover looks like from a call: docs/operations.md ("Redis Sentinel").
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
import structlog
from redis.asyncio.connection import BlockingConnectionPool
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError, ReadOnlyError, RedisError, TimeoutError

if TYPE_CHECKING:  # a plain value from the composition root; nothing of ours is imported at run time
    from callcontrol.config import RedisSettings

log = structlog.get_logger("callcontrol.state.connect")

RETRY_BASE_SECONDS = 0.05
SENTINEL_TIMEOUT_SECONDS = 1.0  # a sentinel that does not answer within this is skipped for the next one
FOLLOW_SECONDS = 0.1  # how often follow_master asks the sentinels where the master is
RETRIED_ERRORS = (ConnectionError, TimeoutError, MasterNotFoundError, ReadOnlyError)


class BlockingSentinelConnectionPool(SentinelConnectionPool, BlockingConnectionPool):
    """The master's address from the sentinels on each new connection, and a bounded pool that waits.

    `promoted` (set by follow_master while a failover runs) is the replica being promoted: new connections go
    there before the sentinels name it (until it is a master it answers READONLY, which is retried)."""

    promoted: tuple[str, int] | None = None

    async def get_master_address(self) -> tuple[str, int]:
        if self.promoted is None:
            return await super().get_master_address()
        if self.master_address != self.promoted:
            self.master_address = self.promoted
            await self.disconnect(inuse_connections=False)
        return self.promoted


class SentinelMasterRedis(aioredis.Redis):
    """The master's client; closing it closes the clients of the sentinels too."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        try:
            await super().aclose(close_connection_pool)
        finally:
            await self.connection_pool.sentinel_manager.aclose()


def retry_policy(settings: RedisSettings) -> Retry:
    return Retry(
        ExponentialWithJitterBackoff(cap=settings.retry_cap, base=RETRY_BASE_SECONDS),
        settings.command_retries,
        supported_errors=RETRIED_ERRORS,
    )


def sentinel_addresses(settings: RedisSettings) -> list[tuple[str, int]]:
    return [(host, int(port)) for host, _, port in (item.rpartition(":") for item in settings.sentinels)]


def describe(settings: RedisSettings) -> str:
    """Where the client goes, for humans (logs, the CLI's "Redis unreachable at ..."): never the password."""
    if settings.sentinels:
        return f"master {settings.master_name!r} of sentinels {','.join(settings.sentinels)}"
    parts = urlsplit(settings.url)
    if parts.password is None:
        return settings.url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def connect_redis(
    settings: RedisSettings,
    *,
    socket_connect_timeout: float = 2.0,
    socket_timeout: float | None = None,
    health_check_interval: int = 0,
) -> aioredis.Redis:
    """A client on `settings` (nothing is connected before the first command); the caller closes it (aclose)."""
    options: dict[str, Any] = {
        "socket_connect_timeout": socket_connect_timeout,
        "socket_timeout": socket_timeout,
        "health_check_interval": health_check_interval,
        "retry": retry_policy(settings),
        "max_connections": settings.max_connections,
        "timeout": settings.pool_timeout,  # how long a command waits for a free connection
    }
    if settings.password:
        options["password"] = settings.password
    if not settings.sentinels:
        pool = BlockingConnectionPool.from_url(settings.url, **options)
        return aioredis.Redis.from_pool(pool)
    sentinel = Sentinel(
        sentinel_addresses(settings),
        # One try per sentinel and per lookup (redis-py's default would retry a dead sentinel ten times, ~4 s,
        # before asking the next one); the command's own retry asks them all again.
        sentinel_kwargs={
            "socket_connect_timeout": min(socket_connect_timeout, SENTINEL_TIMEOUT_SECONDS),
            "socket_timeout": SENTINEL_TIMEOUT_SECONDS,
            "retry": Retry(NoBackoff(), 0),
        },
    )
    return sentinel.master_for(
        settings.master_name,
        redis_class=SentinelMasterRedis,
        connection_pool_class=BlockingSentinelConnectionPool,
        db=settings.db,
        **options,
    )


async def follow_master(client: aioredis.Redis, every: float = FOLLOW_SECONDS) -> None:
    """Move every connection to the new master as soon as a failover promotes one (run it for a long-lived client).

    Measured: after `SENTINEL FAILOVER` the old master stays a master, and keeps every connection, until the
    sentinels convert it to a replica ~10 s later; redis-py does not follow `+switch-master`, so without this a
    client kept writing there, and everything it wrote in those seconds was lost. The sentinels name the new
    master ~0.6 s after its promotion; they flag the replica they promote ~0.1 s before it, so connections move
    when that flag appears. Returns at once for a client without Sentinel.
    """
    pool = client.connection_pool
    if not isinstance(pool, SentinelConnectionPool):
        return
    known: tuple[str, int] | None = None  # where our connections go
    while True:
        try:
            named = _address(await pool.sentinel_manager.discover_master(pool.service_name))
            promoted = await _promoted_replica(pool)
        except (RedisError, OSError):  # no sentinel answers, or no master elected yet: ask again
            named = promoted = None
        target = promoted or named
        if isinstance(pool, BlockingSentinelConnectionPool):
            pool.promoted = promoted
        if target is not None:
            if known is not None and target != known:
                log.warning("redis_master_switched", master=pool.service_name, old=f"{known[0]}:{known[1]}",
                            new=f"{target[0]}:{target[1]}", promoting=promoted is not None)
                pool.master_address = target
                await pool.disconnect(inuse_connections=True)  # commands in flight retry on the new master
            known = target
        await asyncio.sleep(every)


def _address(value: Any) -> tuple[str, int]:
    return str(value[0]), int(value[1])


def _flags(state: dict[str, Any]) -> set[str]:
    flags = state.get("flags") or ""
    return set(flags.split(",")) if isinstance(flags, str) else set(flags)


async def _promoted_replica(pool: SentinelConnectionPool) -> tuple[str, int] | None:
    """The replica a failover in progress is promoting, as the sentinel that named the master sees it."""
    sentinel = pool.sentinel_manager.sentinels[0]  # discover_master put the one that answered first
    if "failover_in_progress" not in _flags(await sentinel.sentinel_master(pool.service_name)):
        return None
    for replica in await sentinel.sentinel_slaves(pool.service_name):
        flags = _flags(replica)
        # Not "disconnected": measured, the sentinel's link to the replica it promotes drops for ~0.1 s then.
        if "promoted" in flags and not flags & {"s_down", "o_down"}:
            return _address((replica["ip"], replica["port"]))
    return None


__all__ = [
    "RETRIED_ERRORS",
    "BlockingSentinelConnectionPool",
    "connect_redis",
    "describe",
    "follow_master",
    "retry_policy",
]
