"""The fake ARI's /ari/events websocket: events pushed to it, RESTRequest messages on it answered one at a time
with a RESTResponse (as Asterisk 22 does), request-only "<app>-rest-<n>" lanes, drops from the server side."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from aiohttp import web

from fakes.ari_records import Failure, RecordedRequest, json_reply


class EventSocket:
    """FakeAri's websocket side (FakeAri holds the sockets, the credentials and the REST routes)."""

    app: str
    user: str
    password: str
    answers_ws_requests: bool
    requests: list[RecordedRequest]
    websockets: list[web.WebSocketResponse]
    lane_websockets: list[web.WebSocketResponse]
    connections: int
    _connected: asyncio.Condition
    _record: Callable[[web.Request, str], Awaitable[RecordedRequest]]
    _take_failure: Callable[[str, str], Failure | None]
    _route: Callable[[RecordedRequest], Awaitable[web.Response]]

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

    def _check_auth(self, request: web.Request) -> bool:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {token}"

    async def _events(self, request: web.Request) -> web.StreamResponse:
        await self._record(request, "/events")
        if not self._check_auth(request):
            return json_reply(401, {"message": "Authentication required"})
        app = request.query.get("app", "")
        lane = app.startswith(f"{self.app}-rest-")  # a request-only websocket (ari/ws_lanes.py): no events
        if app != self.app and not lane:
            return json_reply(400, {"message": "Invalid application provided in param [app]."})
        failure = self._take_failure("GET", "/events")
        if failure is not None:
            return json_reply(failure.status, {"message": failure.message or "error"})
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
