"""Request-only ARI websockets: more lanes for REST over WebSocket (ws_rest.py) besides the events websocket.

Asterisk carries out one websocket's requests one after the other, in that session's one thread. Under a burst,
with Asterisk short of CPU, requests queued behind slow ones (answer, play and moh wait for the channel's own
thread) waited 2-3 times longer than over HTTP's parallel connections (bench/ws-rest.md). Each lane here is one
more websocket, so one more Asterisk thread, registered as the ARI application "<app>-rest-<n>" and subscribed to
nothing (subscribeAll=false, no subscription): Asterisk sends it only the answers to its own requests.
"""

from __future__ import annotations

import asyncio
import random

import aiohttp
import orjson
import structlog

from callcontrol.ari.client import basic_auth_header
from callcontrol.ari.events import Backoff, events_url
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
        base_url: str,
        user: str,
        password: str,
        app: str,
        ws_rest: WsRest,
        count: int,
        *,
        backoff: Backoff | None = None,
        heartbeat: float = 5.0,
        rng: random.Random | None = None,
    ):
        self._session = session
        self._url = events_url(base_url)
        self._headers = basic_auth_header(user, password)
        self._ws_rest = ws_rest
        self._backoff = backoff or Backoff()
        self._heartbeat = heartbeat
        self._rng = rng or random.Random()
        self.apps = lane_apps(app, count)

    async def run(self) -> None:
        """Returns only when cancelled."""
        async with asyncio.TaskGroup() as tg:
            for name in self.apps:
                tg.create_task(self._keep(name))

    async def _keep(self, name: str) -> None:
        attempt = 0
        while True:
            try:
                async with self._session.ws_connect(
                    self._url, params={"app": name, "subscribeAll": "false"}, headers=self._headers,
                    heartbeat=self._heartbeat,
                ) as ws:  # fmt: skip
                    attempt = 0
                    lane = self._ws_rest.attach(ws, name)
                    probe = asyncio.create_task(self._until_ready(lane))  # its answer comes through _read
                    try:
                        await self._read(ws, lane)
                    finally:
                        self._ws_rest.detach(lane)
                        probe.cancel()
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                if attempt == 0:  # once per outage: the events websocket already says Asterisk is away
                    log.info("ari_rest_lane_connect_failed", app=name, error=str(exc) or type(exc).__name__)
            attempt += 1
            await asyncio.sleep(self._backoff.delay(attempt, self._rng))

    async def _until_ready(self, lane: Lane) -> None:
        await self._ws_rest.probe_until_ready(lane)
        if lane.ready:
            log.info("ari_rest_lane_ready", app=lane.name)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, lane: Lane) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                try:
                    data = orjson.loads(message.data)
                except ValueError:
                    continue
                if isinstance(data, dict) and data.get("type") == REST_RESPONSE:
                    self._ws_rest.resolve(lane, data)
            elif message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                break
        log.info("ari_rest_lane_closed", app=lane.name, close_code=ws.close_code)
