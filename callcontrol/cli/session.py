"""What every command of the command line that talks to Redis (or asks Asterisk) shares: the state layer on the
shared city clock, Redis away as one clear line, the softphone check of a login.

Light to import, like every module of cli/: Redis, aiohttp and the state layer are imported when a command runs
(each CLI process pays only for what its command needs; tests/unit/test_cli_imports.py keeps it so).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp

    from callcontrol.clock import Clock
    from callcontrol.config import AriSettings
    from callcontrol.configset import ConfigSet
    from callcontrol.routing.endpoints import AriReachability
    from callcontrol.state.layer import StateLayer

EXIT_REDIS = 3  # Redis unreachable (agent, closed, switchboard and follow-up commands)


@contextlib.asynccontextmanager
async def open_state(config: ConfigSet) -> AsyncIterator[tuple[StateLayer, Clock]]:
    """The state layer on the shared city clock (cc:clock, set by a `run` with a demo clock): one time source."""
    from zoneinfo import ZoneInfo

    from callcontrol.clock import Clock
    from callcontrol.state import connect
    from callcontrol.state.layer import StateLayer

    redis = connect.connect_redis(config.settings.redis, socket_timeout=5)
    clock = Clock(zone=ZoneInfo(config.settings.city.timezone))
    state = StateLayer.create(redis, clock=clock.time)
    try:
        await state.shared_clock.adopt(clock)
        yield state, clock
    finally:
        await redis.aclose()


def with_redis(config: ConfigSet, command: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a command that needs Redis; Redis away is one clear line and EXIT_REDIS, never a traceback."""
    import asyncio

    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    try:
        return asyncio.run(command())
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        from callcontrol.state.connect import describe

        where = describe(config.settings.redis)
        print(f"callcontrol: Redis unreachable at {where}: {str(exc) or type(exc).__name__}", file=sys.stderr)
        return EXIT_REDIS


def local_time(clock: Clock, at: float | None) -> str:
    """An epoch time on the city's clock, as a terminal shows it ("-" when there is none)."""
    return datetime.fromtimestamp(at, clock.zone).strftime("%Y-%m-%d %H:%M:%S") if at else "-"


class AskAsterisk:
    """Whether a softphone is registered (ARI endpoint state), for `agent login` and `handover`; aiohttp and the
    ARI client are set up at the first question, so the actions that never ask (status, logout, pause, a mobile
    login...) do not import them. Use as `async with AskAsterisk(settings) as reachability`."""

    def __init__(self, ari: AriSettings) -> None:
        self._ari = ari
        self._http: aiohttp.ClientSession | None = None
        self._reach: AriReachability | None = None

    async def softphone_registered(self, endpoint: str) -> bool | None:
        if self._reach is None:
            import aiohttp

            from callcontrol.ari.client import AriClient
            from callcontrol.ari.connection import AriConnection
            from callcontrol.routing.endpoints import AriReachability

            ari = self._ari
            self._http = aiohttp.ClientSession()
            client = AriClient(self._http, AriConnection.of(ari, request_timeout=3.0))
            self._reach = AriReachability(client)
        return await self._reach.softphone_registered(endpoint)

    async def __aenter__(self) -> AskAsterisk:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._http is not None:
            await self._http.close()
