"""The ARI events websocket: typed events in, reconnecting by itself with backoff and jitter.

Asterisk allows one websocket per application name (a second client replaces the first), so each callcontrol
instance registers its own name.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import aiohttp
import orjson
import structlog

from callcontrol.ari.client import basic_auth_header
from callcontrol.ari.models import ApplicationReplaced, Event, parse_event

log = structlog.get_logger("callcontrol.ari")

EventHandler = Callable[[Event], Awaitable[None]]
ConnectHook = Callable[[], Awaitable[None]]
LagObserver = Callable[[float], None]  # seconds from Asterisk stamping an event to the app having it parsed


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter between reconnection attempts."""

    initial: float = 0.2
    factor: float = 2.0
    maximum: float = 5.0
    jitter: float = 0.5  # fraction of the delay that is randomised
    replaced: float = 60.0  # after ApplicationReplaced: another instance holds our name; do not fight it

    def delay(self, attempt: int, rng: random.Random) -> float:
        # The exponent is capped: after a long outage the delay stays at `maximum` instead of overflowing.
        base = min(self.maximum, self.initial * self.factor ** min(max(attempt - 1, 0), 64))
        return base * (1 - self.jitter) + base * self.jitter * rng.random()


class EventStream:
    """Holds the websocket to /ari/events for one application and feeds each event to a handler, forever."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        user: str,
        password: str,
        app: str,
        *,
        backoff: Backoff = Backoff(),
        heartbeat: float = 5.0,
        rng: random.Random | None = None,
        on_lag: LagObserver | None = None,
    ):
        scheme, rest = base_url.rstrip("/").split("://", 1)
        ws_scheme = "wss" if scheme == "https" else "ws"
        self._url = f"{ws_scheme}://{rest}/ari/events"
        self._params = {"app": app, "subscribeAll": "false"}
        self._headers = basic_auth_header(user, password)
        self._session = session
        self._backoff = backoff
        self._heartbeat = heartbeat
        self._rng = rng or random.Random()
        self._on_lag = on_lag
        self.app = app
        self.connected = asyncio.Event()
        self.connections = 0  # how many times a websocket was established (1 + reconnections)

    async def run(self, handler: EventHandler, on_connect: ConnectHook | None = None) -> None:
        """Connect, dispatch events, reconnect on any drop. Returns only when cancelled."""
        attempt = 0
        while True:
            try:
                async with self._session.ws_connect(
                    self._url, params=self._params, headers=self._headers, heartbeat=self._heartbeat
                ) as ws:
                    attempt = 0
                    self.connections += 1
                    self.connected.set()
                    log.info("ari_connected", app=self.app, connections=self.connections)
                    if on_connect is not None:
                        await _guarded(on_connect(), "ari_on_connect_failed")
                    replaced = await self._pump(ws, handler)
                    if replaced:
                        # Another client took our application name: reconnecting at once would take it back and
                        # the two would steal calls' events from each other. Wait long, say why, try again.
                        delay = self._backoff.replaced * (1 + self._backoff.jitter * self._rng.random())
                        log.error(
                            "ari_application_replaced",
                            app=self.app,
                            retry_in=round(delay, 1),
                            hint="each instance needs its own application name (CALLCONTROL_ARI_APP)",
                        )
                        self.connected.clear()
                        await asyncio.sleep(delay)
                        continue
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                log.warning("ari_connect_failed", app=self.app, error=str(exc) or type(exc).__name__)
            self.connected.clear()
            attempt += 1
            delay = self._backoff.delay(attempt, self._rng)
            log.info("ari_reconnecting", app=self.app, attempt=attempt, delay=round(delay, 2))
            await asyncio.sleep(delay)

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse, handler: EventHandler) -> bool:
        """Dispatch messages until the socket closes. True when Asterisk said another client replaced us."""
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                try:
                    data = orjson.loads(message.data)
                except ValueError:
                    log.warning("ari_bad_event", size=len(message.data))
                    continue
                if not isinstance(data, dict):
                    continue
                event = parse_event(data)
                if self._on_lag is not None:
                    _observe_lag(self._on_lag, event.timestamp)
                if isinstance(event, ApplicationReplaced):
                    return True
                await _guarded(handler(event), "ari_event_handler_failed", event_type=event.type)
            elif message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                break
        log.warning("ari_disconnected", app=self.app, close_code=ws.close_code)
        return False


def _observe_lag(observe: LagObserver, stamp: str) -> None:
    """Asterisk's `timestamp` ("2026-12-02T04:41:00.123+0000", its wall clock: same host) to now."""
    if not stamp:
        return
    try:
        sent = datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return
    observe(max(time.time() - sent, 0.0))


async def _guarded(awaitable: Awaitable[None], event: str, **fields: object) -> None:
    """A bug in one handler must not take the event stream down."""
    try:
        await awaitable
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception(event, **fields)
