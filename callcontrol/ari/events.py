"""The ARI events websocket: typed events in, reconnecting by itself with backoff and jitter.

Asterisk allows one websocket per application name (a second client replaces the first), so each callcontrol
instance registers its own name.

The frame reader never waits for a handler: it hands events, in order, to one dispatch task (a queue), and the
answers to REST requests sent over this websocket (ws_rest.py) straight to the requests. A handler awaiting a REST
call whose answer must come in on this very socket would otherwise wait for itself.
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
from callcontrol.ari.ws_rest import REST_RESPONSE, Lane, WsRest

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
        ws_rest: WsRest | None = None,
    ):
        self._url = events_url(base_url)
        self._params = {"app": app, "subscribeAll": "false"}
        self._headers = basic_auth_header(user, password)
        self._session = session
        self._backoff = backoff
        self._heartbeat = heartbeat
        self._rng = rng or random.Random()
        self._on_lag = on_lag
        self._ws_rest = ws_rest  # set: this websocket also carries REST requests, once probed after on_connect
        self.app = app
        self.connected = asyncio.Event()
        self.connections = 0  # how many times a websocket was established (1 + reconnections)

    async def run(self, handler: EventHandler, on_connect: ConnectHook | None = None) -> None:
        """Connect, dispatch events, reconnect on any drop. Returns only when cancelled."""
        work: asyncio.Queue[Event | Callable[[], Awaitable[None]]] = asyncio.Queue()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._dispatch(work, handler))
            await self._connect_forever(work, on_connect)

    async def _connect_forever(
        self, work: asyncio.Queue[Event | Callable[[], Awaitable[None]]], on_connect: ConnectHook | None
    ) -> None:
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
                    lane = self._ws_rest.attach(ws, self.app) if self._ws_rest is not None else None
                    try:
                        # on_connect runs before this connection's events, in the dispatch task; then the probe
                        # (after on_connect: it sets the eventFilter that must let RESTResponse through)
                        work.put_nowait(self._connected_step(on_connect, lane))
                        replaced = await self._pump(ws, work, lane)
                    finally:
                        if lane is not None:
                            self._ws_rest.detach(lane)  # type: ignore[union-attr]
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

    def _connected_step(self, on_connect: ConnectHook | None, lane: Lane | None) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            if on_connect is not None:
                await _guarded(on_connect(), "ari_on_connect_failed")
            if lane is not None and not lane.closed:
                await self._ws_rest.probe(lane)  # type: ignore[union-attr]  # answered by the reader: ~1 ms

        return step

    @staticmethod
    async def _dispatch(work: asyncio.Queue[Event | Callable[[], Awaitable[None]]], handler: EventHandler) -> None:
        """The one consumer: events (and connect steps) one after the other, in the order they were read."""
        while True:
            item = await work.get()
            if isinstance(item, Event):
                await _guarded(handler(item), "ari_event_handler_failed", event_type=item.type)
            else:
                await item()

    async def _pump(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        work: asyncio.Queue[Event | Callable[[], Awaitable[None]]],
        lane: Lane | None,
    ) -> bool:
        """Read messages until the socket closes. True when Asterisk said another client replaced us."""
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                try:
                    data = orjson.loads(message.data)
                except ValueError:
                    log.warning("ari_bad_event", size=len(message.data))
                    continue
                if not isinstance(data, dict):
                    continue
                if data.get("type") == REST_RESPONSE:
                    if lane is not None:
                        self._ws_rest.resolve(lane, data)  # type: ignore[union-attr]
                    continue
                event = parse_event(data)
                if self._on_lag is not None:
                    _observe_lag(self._on_lag, event.timestamp)
                if isinstance(event, ApplicationReplaced):
                    return True
                work.put_nowait(event)
            elif message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                break
        log.warning("ari_disconnected", app=self.app, close_code=ws.close_code)
        return False


def events_url(base_url: str) -> str:
    """ws(s)://host:port/ari/events from ARI's http(s) base URL."""
    scheme, rest = base_url.rstrip("/").split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ari/events"


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
