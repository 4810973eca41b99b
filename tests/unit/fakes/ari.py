"""An in-process fake Asterisk REST Interface: an aiohttp.web server on 127.0.0.1 (free port).

It implements the handful of REST routes callcontrol uses and the /ari/events websocket, records every request,
and lets a test push events, drop the websocket and make a route answer with an error. The routes answer over HTTP
and, as Asterisk 22 does ("ARI REST over WebSocket"), RESTRequest messages on the websocket, one at a time, with a
RESTResponse event (`answers_ws_requests = False`: ignored, as an older Asterisk does).

    async with FakeAri() as ari:                      # or the `fake_ari` fixture in tests/unit/*/conftest.py
        ari.add_channel("c1", caller="0612345678", args=("inbound", "0556000000"))
        client = AriClient(http, ari.connection())  # AriConnection(ari.base_url, ari.user, ...)
        await ari.push(ari.stasis_start("c1"))        # to every connected websocket
        ari.fail("POST", "/channels/c1/answer", 404, "Channel not found")
        await ari.drop_websockets()
        req = ari.last("POST", "/channels/c1/play/*")   # RecordedRequest: method, path, query, body, headers

The parts live by role: ari_records.py (recorded requests, planned failures), ari_events.py (event builders),
ari_routes.py (the REST resources), ari_socket.py (the websocket: events out, RESTRequest answered).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from callcontrol.ari.connection import AriConnection
from fakes.ari_records import Failure, RecordedRequest, RequestRecords, free_port, json_reply
from fakes.ari_routes import RestRoutes
from fakes.ari_socket import EventSocket

__all__ = ["FakeAri", "RecordedRequest", "free_port"]


@dataclass
class FakeAri(EventSocket, RestRoutes, RequestRecords):
    """The fake ARI server. Channel JSON is Asterisk-shaped; events are plain dicts (Asterisk's JSON)."""

    app: str = "callcontrol"
    user: str = "callcontrol"
    password: str = "s3cret"
    # When set, each play starts (PlaybackStarted) and finishes (PlaybackFinished) by itself after this many seconds.
    playback_seconds: float | None = None
    # DELETE /channels/{id} makes Asterisk send StasisEnd + ChannelDestroyed; set False to keep quiet.
    events_on_hangup: bool = True
    # RESTRequest messages on the websocket are answered (RESTResponse); False: recorded, never answered.
    answers_ws_requests: bool = True

    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    playbacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    endpoints: dict[str, str] = field(default_factory=dict)  # PJSIP resource -> state ("online", "offline")
    subscriptions: list[str] = field(default_factory=list)  # event sources our app subscribed to
    event_filter: Any = None  # the last PUT /applications/{app}/eventFilter body
    websockets: list[web.WebSocketResponse] = field(default_factory=list)
    lane_websockets: list[web.WebSocketResponse] = field(default_factory=list)  # "<app>-rest-<n>": requests only
    connections: int = 0  # websockets accepted so far
    port: int = 0

    def __post_init__(self) -> None:
        self._failures: list[Failure] = []
        self._holds: list[tuple[str, str, asyncio.Event]] = []
        self._runner: web.AppRunner | None = None
        self._connected = asyncio.Condition()
        self._timers: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeAri:
        app = web.Application()
        app.router.add_get("/ari/events", self._events)
        app.router.add_route("*", "/ari/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for timer in list(self._timers):
            timer.cancel()
        await self.drop_websockets()
        await self.drop_lanes()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeAri:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def connection(self, **options: Any) -> AriConnection:
        """The AriConnection to this fake as its application (options: request_timeout, heartbeat, app)."""
        return AriConnection(**{"base_url": self.base_url, "user": self.user, "password": self.password,
                                "app": self.app, **options})  # fmt: skip

    # ------------------------------------------------------------------------------------------ test controls

    def add_channel(
        self,
        channel_id: str,
        *,
        caller: str = "0612345678",
        args: tuple[str, ...] = ("inbound", "0556000000"),
        app: str | None = None,
        in_stasis: bool = True,
        state: str = "Ring",
    ) -> dict[str, Any]:
        """A channel as GET /channels lists it; in our Stasis application (app_data "app,args...") by default."""
        data = {
            "id": channel_id,
            "name": f"PJSIP/trunk-{channel_id}",
            "state": state,
            "caller": {"name": "", "number": caller},
            "connected": {"name": "", "number": ""},
            "dialplan": {
                "context": "from-trunk",
                "exten": args[1] if len(args) > 1 else "s",
                "priority": 3,
                "app_name": "Stasis" if in_stasis else "Wait",
                "app_data": ",".join((app or self.app, *args)) if in_stasis else "10",
            },
            "language": "fr",
            "creationtime": "2024-05-06T09:00:00.000+0200",
        }
        self.channels[channel_id] = data
        return data

    # ------------------------------------------------------------------------------------------ server side

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        req = await self._record(request, path)
        if not self._check_auth(request):
            return json_reply(401, {"message": "Authentication required"})
        return await self._route(req)

    def _later(self, delay: float, coro: Any) -> None:
        async def run() -> None:
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                coro.close()
                raise
            await coro

        task = asyncio.get_running_loop().create_task(run())
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)
