"""The ARI events websocket: typed events in, reconnecting by itself with backoff and jitter.

Asterisk allows one websocket per application name (a second client replaces the first), so each callcontrol
instance registers its own name. The socket is kept open (connect, backoff, frames) by ws_keeper.py.

The frame reader never waits for a handler: it hands events, in order, to one dispatch task (a queue), and the
answers to REST requests sent over this websocket (ws_rest.py) straight to the requests. A handler awaiting a REST
call whose answer must come in on this very socket would otherwise wait for itself.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
import structlog

from callcontrol.ari.connection import AriConnection
from callcontrol.ari.models import ApplicationReplaced, Event, parse_event
from callcontrol.ari.ws_keeper import Backoff, WsKeeper
from callcontrol.ari.ws_rest import REST_RESPONSE, Lane, WsRest

log = structlog.get_logger("callcontrol.ari")

EventHandler = Callable[[Event], Awaitable[None]]
ConnectHook = Callable[[], Awaitable[None]]
LagObserver = Callable[[float], None]  # seconds from Asterisk stamping an event to the app having it parsed
_Work = asyncio.Queue[Event | Callable[[], Awaitable[None]]]

__all__ = ["Backoff", "ConnectHook", "EventHandler", "EventStream", "LagObserver"]


class EventStream:
    """Holds the websocket to /ari/events for one application and feeds each event to a handler, forever."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        conn: AriConnection,
        *,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        on_lag: LagObserver | None = None,
        ws_rest: WsRest | None = None,
    ):
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()
        self._keeper = WsKeeper(session, conn, backoff=self._backoff, rng=self._rng, log_bad_frames=True)
        self._on_lag = on_lag
        self._ws_rest = ws_rest  # set: this websocket also carries REST requests, once probed after on_connect
        self.app = conn.app
        self.connected = asyncio.Event()
        self.connections = 0  # how many times a websocket was established (1 + reconnections)

    async def run(self, handler: EventHandler, on_connect: ConnectHook | None = None) -> None:
        """Connect, dispatch events, reconnect on any drop. Returns only when cancelled."""
        work: _Work = asyncio.Queue()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._dispatch(work, handler))
            await self._keeper.run(_EventsSocket(self, work, on_connect))

    @staticmethod
    async def _dispatch(work: _Work, handler: EventHandler) -> None:
        """The one consumer: events (and connect steps) one after the other, in the order they were read."""
        while True:
            item = await work.get()
            if isinstance(item, Event):
                await _guarded(handler(item), "ari_event_handler_failed", event_type=item.type)
            else:
                await item()


class _EventsSocket:
    """The events websocket's side of ws_keeper: events to the dispatch queue, REST answers to their requests."""

    def __init__(self, stream: EventStream, work: _Work, on_connect: ConnectHook | None):
        self._stream = stream
        self._work = work
        self._on_connect = on_connect
        self._lane: Lane | None = None

    def opened(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        stream = self._stream
        stream.connections += 1
        stream.connected.set()
        log.info("ari_connected", app=stream.app, connections=stream.connections)
        self._lane = stream._ws_rest.attach(ws, stream.app) if stream._ws_rest is not None else None
        # on_connect runs before this connection's events, in the dispatch task; then the probe
        # (after on_connect: it sets the eventFilter that must let RESTResponse through)
        self._work.put_nowait(self._connected_step(self._lane))

    def _connected_step(self, lane: Lane | None) -> Callable[[], Awaitable[None]]:
        on_connect, ws_rest = self._on_connect, self._stream._ws_rest

        async def step() -> None:
            if on_connect is not None:
                await _guarded(on_connect(), "ari_on_connect_failed")
            if lane is not None and not lane.closed:
                await ws_rest.probe(lane)  # type: ignore[union-attr]  # answered by the reader: ~1 ms

        return step

    def frame(self, data: dict[str, Any]) -> bool:
        """True when Asterisk said another client replaced us."""
        if data.get("type") == REST_RESPONSE:
            if self._lane is not None:
                self._stream._ws_rest.resolve(self._lane, data)  # type: ignore[union-attr]
            return False
        event = parse_event(data)
        if self._stream._on_lag is not None:
            _observe_lag(self._stream._on_lag, event.timestamp)
        if isinstance(event, ApplicationReplaced):
            return True
        self._work.put_nowait(event)
        return False

    def closed(self, ws: aiohttp.ClientWebSocketResponse, lost: bool) -> None:
        if lost:
            log.warning("ari_disconnected", app=self._stream.app, close_code=ws.close_code)
        if self._lane is not None:
            self._stream._ws_rest.detach(self._lane)  # type: ignore[union-attr]
            self._lane = None

    async def given_up(self) -> None:
        # Another client took our application name: reconnecting at once would take it back and the two would
        # steal calls' events from each other. Wait long, say why, try again.
        stream = self._stream
        delay = stream._backoff.replaced * (1 + stream._backoff.jitter * stream._rng.random())
        log.error(
            "ari_application_replaced",
            app=stream.app,
            retry_in=round(delay, 1),
            hint="each instance needs its own application name (CALLCONTROL_ARI_APP)",
        )
        stream.connected.clear()
        await asyncio.sleep(delay)

    def connect_failed(self, error: str, attempt: int) -> None:
        log.warning("ari_connect_failed", app=self._stream.app, error=error)

    def retrying(self, attempt: int, delay: float) -> None:
        self._stream.connected.clear()
        log.info("ari_reconnecting", app=self._stream.app, attempt=attempt, delay=round(delay, 2))


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
