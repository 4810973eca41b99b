"""An in-process fake Asterisk REST Interface: an aiohttp.web server on 127.0.0.1 (free port).

It implements the handful of REST routes callcontrol uses and the /ari/events websocket, records every request,
and lets a test push events, drop the websocket and make a route answer with an error. The routes answer over HTTP
and, as Asterisk 22 does ("ARI REST over WebSocket"), RESTRequest messages on the websocket, one at a time, with a
RESTResponse event (`answers_ws_requests = False`: ignored, as an older Asterisk does).

    async with FakeAri() as ari:                      # or the `fake_ari` fixture in tests/unit/*/conftest.py
        ari.add_channel("c1", caller="0612345678", args=("inbound", "0556000000"))
        client = AriClient(http, ari.base_url, ari.user, ari.password, ari.app)
        await ari.push(ari.stasis_start("c1"))        # to every connected websocket
        ari.fail("POST", "/channels/c1/answer", 404, "Channel not found")
        await ari.drop_websockets()
        req = ari.last("POST", "/channels/c1/play/*")   # RecordedRequest: method, path, query, body, headers
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import json
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from aiohttp import web


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (at the time of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the /ari prefix: "/channels/c1/answer"
    query: dict[str, str]
    body: Any  # decoded JSON body, or None
    headers: dict[str, str]
    url: str  # the full URL as received (to check no secret travels in it); over the websocket, the uri
    transport: str = "http"  # or "websocket" (a RESTRequest message)
    app: str = ""  # over a websocket: the application it is registered as


@dataclass
class _Failure:
    method: str
    pattern: str
    status: int
    message: str | None
    times: int | None  # None: for ever


@dataclass
class FakeAri:
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
        self._failures: list[_Failure] = []
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

    def fail(self, method: str, path: str, status: int, message: str | None = None, *, times: int | None = 1) -> None:
        """Answer `method path` (fnmatch pattern without /ari, e.g. "/channels/*/answer") with an error status and
        Asterisk's JSON body {"message": ...}; `times` requests only (None: until reset_failures())."""
        self._failures.append(_Failure(method.upper(), path, status, message, times))

    def reset_failures(self) -> None:
        self._failures.clear()

    def find(self, method: str, path: str) -> list[RecordedRequest]:
        """Recorded requests matching method and an fnmatch path pattern."""
        return [r for r in self.requests if r.method == method.upper() and fnmatch.fnmatchcase(r.path, path)]

    def last(self, method: str, path: str) -> RecordedRequest:
        found = self.find(method, path)
        assert found, f"no {method} {path} among {[(r.method, r.path) for r in self.requests]}"
        return found[-1]

    async def push(self, *events: dict[str, Any]) -> None:
        """Send events (Asterisk-shaped dicts) to every connected websocket, in order."""
        for event in events:
            event.setdefault("application", self.app)
            event.setdefault("timestamp", "2024-05-06T09:00:00.000+0200")
            await self.send_raw(json.dumps(event))

    async def send_raw(self, text: str) -> None:
        """Send a text frame as is (to test malformed messages)."""
        for ws in list(self.websockets):
            if not ws.closed:
                await ws.send_str(text)

    async def drop_websockets(self) -> None:
        """Close every events websocket from the server side (Asterisk restarting, a network cut)."""
        for ws in list(self.websockets):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)
        self.websockets.clear()

    async def drop_lanes(self) -> None:
        """Close every request-only websocket ("<app>-rest-<n>") from the server side."""
        for ws in list(self.lane_websockets):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)
        self.lane_websockets.clear()

    async def wait_connections(self, count: int, timeout: float = 2.0) -> None:
        """Wait until `count` websockets have been accepted in total."""
        async with asyncio.timeout(timeout), self._connected:
            await self._connected.wait_for(lambda: self.connections >= count and bool(self.websockets))

    # ------------------------------------------------------------------------------------------ event builders

    def _channel_json(self, channel_id: str) -> dict[str, Any]:
        return self.channels.get(channel_id) or {"id": channel_id, "name": f"PJSIP/x-{channel_id}", "state": "Up"}

    def stasis_start(self, channel_id: str, args: tuple[str, ...] | None = None) -> dict[str, Any]:
        channel = self._channel_json(channel_id)
        if args is None:
            app_data = channel.get("dialplan", {}).get("app_data", "")
            args = tuple(app_data.split(",")[1:]) if app_data else ("inbound",)
        return {"type": "StasisStart", "args": list(args), "channel": channel}

    def dtmf(self, channel_id: str, digit: str) -> dict[str, Any]:
        return {
            "type": "ChannelDtmfReceived",
            "digit": digit,
            "duration_ms": 120,
            "channel": self._channel_json(channel_id),
        }

    def hangup_request(self, channel_id: str, cause: int = 16) -> dict[str, Any]:
        return {"type": "ChannelHangupRequest", "cause": cause, "channel": self._channel_json(channel_id)}

    def stasis_end(self, channel_id: str) -> dict[str, Any]:
        return {"type": "StasisEnd", "channel": self._channel_json(channel_id)}

    def channel_destroyed(self, channel_id: str, cause: int = 16) -> dict[str, Any]:
        return {
            "type": "ChannelDestroyed",
            "cause": cause,
            "cause_txt": "Normal Clearing",
            "channel": self._channel_json(channel_id),
        }

    def playback_event(self, kind: str, playback_id: str, channel_id: str, state: str = "done") -> dict[str, Any]:
        playback = self.playbacks.get(playback_id) or {"media_uri": "sound:x", "language": "fr"}
        return {
            "type": kind,
            "playback": {**playback, "id": playback_id, "target_uri": f"channel:{channel_id}", "state": state},
        }

    # ------------------------------------------------------------------------------------------ server side

    def _check_auth(self, request: web.Request) -> bool:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {token}"

    async def _events(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "/events")
        if not self._check_auth(request):
            return _json(401, {"message": "Authentication required"})
        app = request.query.get("app", "")
        lane = app.startswith(f"{self.app}-rest-")  # a request-only websocket (ari/ws_lanes.py): no events
        if app != self.app and not lane:
            return _json(400, {"message": "Invalid application provided in param [app]."})
        failure = self._take_failure("GET", "/events")
        if failure is not None:
            return _json(failure.status, {"message": failure.message or "error"})
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sockets = self.lane_websockets if lane else self.websockets
        sockets.append(ws)
        if not lane:
            self.connections += 1
            async with self._connected:
                self._connected.notify_all()
        async for message in ws:  # only RESTRequest messages mean something; one at a time, as Asterisk does
            if message.type == aiohttp.WSMsgType.TEXT:
                await self._ws_request(ws, request, message.data)
        if ws in sockets:
            sockets.remove(ws)
        return ws

    async def _record(self, request: web.Request, path: str) -> RecordedRequest:
        body = None
        if request.can_read_body:
            text = await request.text()
            body = json.loads(text) if text else None
        recorded = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            body=body,
            headers=dict(request.headers),
            url=str(request.url),
        )
        self.requests.append(recorded)
        return recorded

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method == method and fnmatch.fnmatchcase(path, failure.pattern):
                if failure.times is not None:
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                return failure
        return None

    async def _ws_request(self, ws: web.WebSocketResponse, upgrade: web.Request, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            return
        if not isinstance(data, dict) or data.get("type") != "RESTRequest":
            return
        uri = urlsplit("/" + str(data.get("uri", "")))
        body = json.loads(data["message_body"]) if data.get("message_body") else None
        req = RecordedRequest(
            method=str(data.get("method", "")).upper(), path=uri.path, query=dict(parse_qsl(uri.query)), body=body,
            headers=dict(upgrade.headers), url=str(data.get("uri", "")), transport="websocket",
            app=upgrade.query.get("app", ""),
        )  # fmt: skip
        self.requests.append(req)
        if not self.answers_ws_requests:
            return
        response = await self._route(req)
        answer: dict[str, Any] = {
            "type": "RESTResponse", "request_id": data.get("request_id"), "status_code": response.status,
            "reason_phrase": response.reason, "uri": uri.path.lstrip("/"), "application": self.app,
        }  # fmt: skip
        if response.text:
            answer.update(content_type="application/json", message_body=response.text)
        if not ws.closed:
            await ws.send_str(json.dumps(answer))

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        req = await self._record(request, path)
        if not self._check_auth(request):
            return _json(401, {"message": "Authentication required"})
        return await self._route(req)

    async def _route(self, req: RecordedRequest) -> web.Response:
        path = req.path
        failure = self._take_failure(req.method, path)
        if failure is not None:
            if failure.message is None:
                return web.Response(status=failure.status, text="")
            return _json(failure.status, {"message": failure.message})
        parts = path.strip("/").split("/")
        route = (req.method, *parts)
        match route:
            case ("GET", "asterisk", "info"):
                return _json(200, {"system": {"version": "20.0.0-fake"}})
            case ("GET", "asterisk", "ping"):
                return _json(200, {"ping": "pong", "asterisk_id": "fake"})
            case ("GET", "channels"):
                return _json(200, list(self.channels.values()))
            case ("POST", "channels"):
                return self._originate(req)
            case ("GET", "channels", channel_id):
                return self._with_channel(channel_id, lambda c: _json(200, c))
            case ("DELETE", "channels", channel_id):
                return await self._hangup(channel_id)
            case ("POST", "channels", channel_id, "continue"):
                return self._with_channel(channel_id, lambda c: self._continue(c))
            case ("POST", "channels", channel_id, "answer"):
                return self._with_channel(channel_id, lambda c: _answer(c))
            case ("POST", "channels", channel_id, "play", *rest):
                return await self._play(channel_id, rest[0] if rest else uuid.uuid4().hex, req)
            case ("DELETE", "playbacks", playback_id):
                return await self._stop_playback(playback_id)
            case ("GET", "endpoints", "PJSIP"):
                return _json(200, [self.endpoint_json(r) for r in self.endpoints])
            case ("GET", "endpoints", "PJSIP", resource) if resource in self.endpoints:
                return _json(200, self.endpoint_json(resource))
            case ("GET", "endpoints", "PJSIP", _resource):
                return _json(404, {"message": "Endpoint not found"})
            case ("PUT", "applications", app, "eventFilter") if app == self.app:
                self.event_filter = req.body
                return _json(200, {"name": app, "events_allowed": (req.body or {}).get("allowed", [])})
            case ("POST", "applications", app, "subscription") if app == self.app:
                self.subscriptions.append(req.query.get("eventSource", ""))
                return _json(200, {"name": app, "endpoint_ids": []})
            case _:
                return _json(404, {"message": "Resource not found"})

    def _with_channel(self, channel_id: str, action: Any) -> web.Response:
        channel = self.channels.get(channel_id)
        if channel is None:
            return _json(404, {"message": "Channel not found"})
        if channel["dialplan"]["app_name"] != "Stasis":
            return _json(409, {"message": "Channel not in Stasis application"})
        return action(channel)

    def _continue(self, channel: dict[str, Any]) -> web.Response:
        """Back to the dialplan: the channel leaves the application (StasisEnd), it is not destroyed."""
        self.channels.pop(channel["id"], None)
        self._later(0, self.push(self.stasis_end_of(channel)))
        return web.Response(status=204)

    async def _hangup(self, channel_id: str) -> web.Response:
        channel = self.channels.pop(channel_id, None)
        if channel is None:
            return _json(404, {"message": "Channel not found"})
        if self.events_on_hangup:
            self._later(0, self.push(self.stasis_end_of(channel), self.destroyed_of(channel)))
        return web.Response(status=204)

    def endpoint_json(self, resource: str) -> dict[str, Any]:
        return {"technology": "PJSIP", "resource": resource, "state": self.endpoints[resource], "channel_ids": []}

    def endpoint_state_change(self, resource: str, state: str) -> dict[str, Any]:
        """The event Asterisk sends when a softphone registers ("online") or its registration lapses."""
        self.endpoints[resource] = state
        return {"type": "EndpointStateChange", "application": self.app, "endpoint": self.endpoint_json(resource)}

    def stasis_end_of(self, channel: dict[str, Any]) -> dict[str, Any]:
        return {"type": "StasisEnd", "channel": channel}

    def destroyed_of(self, channel: dict[str, Any]) -> dict[str, Any]:
        return {"type": "ChannelDestroyed", "cause": 16, "cause_txt": "Normal Clearing", "channel": channel}

    async def _play(self, channel_id: str, playback_id: str, req: RecordedRequest) -> web.Response:
        if channel_id not in self.channels:
            return _json(404, {"message": "Channel not found"})
        playback = {
            "id": playback_id,
            "media_uri": req.query.get("media", "").split(",")[0],
            "target_uri": f"channel:{channel_id}",
            "language": req.query.get("lang", "en"),
            "state": "queued",
        }
        self.playbacks[playback_id] = playback
        if self.playback_seconds is not None:
            self._later(0, self.push(self.playback_event("PlaybackStarted", playback_id, channel_id, "playing")))
            self._later(self.playback_seconds, self._finish_playback(playback_id, "done"))
        return _json(201, playback)

    async def _finish_playback(self, playback_id: str, state: str) -> None:
        playback = self.playbacks.pop(playback_id, None)
        if playback is not None:
            channel_id = playback["target_uri"].partition(":")[2]
            await self.push(self.playback_event("PlaybackFinished", playback_id, channel_id, state))

    async def _stop_playback(self, playback_id: str) -> web.Response:
        if playback_id not in self.playbacks:
            return _json(404, {"message": "Playback not found"})
        playback = self.playbacks[playback_id]
        channel_id = playback["target_uri"].partition(":")[2]
        event = self.playback_event("PlaybackFinished", playback_id, channel_id, "stopped")
        del self.playbacks[playback_id]
        self._later(0, self.push(event))
        return web.Response(status=204)

    def _originate(self, req: RecordedRequest) -> web.Response:
        if "endpoint" not in req.query:
            return _json(400, {"message": "Endpoint parameter not provided"})
        channel_id = req.query.get("channelId") or uuid.uuid4().hex
        channel = self.add_channel(
            channel_id,
            caller=req.query.get("callerId", ""),
            args=tuple(req.query.get("appArgs", "").split(",")),
            app=req.query.get("app"),
            state="Down",
        )
        return _json(200, channel)

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


def _answer(channel: dict[str, Any]) -> web.Response:
    channel["state"] = "Up"
    return web.Response(status=204)


def _json(status: int, data: Any) -> web.Response:
    return web.json_response(data, status=status)
