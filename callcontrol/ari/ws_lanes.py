"""Request-only ARI websockets: more lanes for REST over WebSocket (ws_rest.py) besides the events websocket.

Asterisk carries out one websocket's requests one after the other, in that session's one thread. Under a burst,
with Asterisk short of CPU, requests queued behind slow ones (answer, play and moh wait for the channel's own
thread) waited 2-3 times longer than over HTTP's parallel connections (bench/ws-rest.md). Each lane here is one
more websocket, so one more Asterisk thread, registered as the ARI application "<app>-rest-<n>" and subscribed to
nothing (subscribeAll=false, no subscription): Asterisk sends it only the answers to its own requests. Each is
kept open (connect, backoff, frames) by ws_keeper.py.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aiohttp
import structlog

from callcontrol.ari.connection import AriConnection
from callcontrol.ari.ws_keeper import Backoff, WsKeeper
from callcontrol.ari.ws_rest import REST_RESPONSE, Lane, WsRest

log = structlog.get_logger("callcontrol.ari")

LANE_APP_INFIX = "-rest-"  # "<app>-rest-1", ...: not an application that gets calls


def lane_apps(app: str, count: int) -> list[str]:
    return [f"{app}{LANE_APP_INFIX}{n}" for n in range(1, count + 1)]


class RestLanes:
    """Keeps `count` request-only websockets open, reconnecting with backoff; each one a lane of `ws_rest`."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        conn: AriConnection,
        ws_rest: WsRest,
        count: int,
        *,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ):
        self._ws_rest = ws_rest
        self.apps = lane_apps(conn.app, count)
        backoff, rng = backoff or Backoff(), rng or random.Random()
        self._keepers = [WsKeeper(session, conn.for_app(name), backoff=backoff, rng=rng) for name in self.apps]

    async def run(self) -> None:
        """Returns only when cancelled."""
        async with asyncio.TaskGroup() as tg:
            for name, keeper in zip(self.apps, self._keepers, strict=True):
                tg.create_task(keeper.run(_LaneSocket(self._ws_rest, name)))


class _LaneSocket:
    """One lane's side of ws_keeper: attached to `ws_rest` while open, probed until ready, answers resolved."""

    def __init__(self, ws_rest: WsRest, name: str):
        self._ws_rest = ws_rest
        self._name = name
        self._lane: Lane | None = None
        self._probe: asyncio.Task[None] | None = None

    def opened(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._lane = self._ws_rest.attach(ws, self._name)
        self._probe = asyncio.create_task(self._until_ready(self._lane))  # its answer comes through frame()

    def frame(self, data: dict[str, Any]) -> bool:
        if data.get("type") == REST_RESPONSE and self._lane is not None:
            self._ws_rest.resolve(self._lane, data)
        return False

    def closed(self, ws: aiohttp.ClientWebSocketResponse, lost: bool) -> None:
        if lost:
            log.info("ari_rest_lane_closed", app=self._name, close_code=ws.close_code)
        if self._lane is not None:
            self._ws_rest.detach(self._lane)
        if self._probe is not None:
            self._probe.cancel()
        self._lane = self._probe = None

    async def given_up(self) -> None:
        """Never: a lane reads only answers."""

    def connect_failed(self, error: str, attempt: int) -> None:
        if attempt == 0:  # once per outage: the events websocket already says Asterisk is away
            log.info("ari_rest_lane_connect_failed", app=self._name, error=error)

    def retrying(self, attempt: int, delay: float) -> None:
        pass

    async def _until_ready(self, lane: Lane) -> None:
        await self._ws_rest.probe_until_ready(lane)
        if lane.ready:
            log.info("ari_rest_lane_ready", app=lane.name)
