"""The wallboard's routes on the supervision server: the page (`/`, `/static/...`), its live feed (`/events`,
server-sent events of the board as the token's role may see it) and `/metrics` (Prometheus).

`/events` needs a token (Authorization: Bearer; the page reads the stream with fetch, so the token never sits in
a URL); `/metrics` answers loopback clients without one and others with any valid token.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from callcontrol.metrics import Metrics
from callcontrol.supervision.auth import Role, require, role_of
from callcontrol.supervision.board import Board, board_view
from callcontrol.supervision.hub import BoardHub
from callcontrol.supervision.routes import RouteDoc, documented

STATIC = Path(__file__).parent / "static"
KEEPALIVE_SECONDS = 15.0  # a comment line so that proxies and the browser see the stream alive
RETRY_MS = 1000  # the page reconnects after this long (it also does so by itself)
_NO_CACHE = {"Cache-Control": "no-store"}


def wallboard_routes(hub: BoardHub, metrics: Metrics) -> Callable[[web.Application], None]:
    """An `extra` for supervision.server.build_web_app."""

    async def index(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers=_NO_CACHE)

    async def events(request: web.Request) -> web.StreamResponse:
        require(request, Role.VIEWER)
        role = str(role_of(request))
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no",
        })
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # the browser went away (aiohttp's reset is one too)
            await response.write(f"retry: {RETRY_MS}\n\n".encode())
            await _stream(response, role)
        return response

    async def _stream(response: web.StreamResponse, role: str) -> None:
        async with hub.subscribe() as queue:
            board: Board | None = await hub.read()  # fresh for a new browser (the hub reads while someone listens)
            while board is not None:
                payload = json.dumps(board_view(board, role), ensure_ascii=False)
                await response.write(f"event: board\ndata: {payload}\n\n".encode())
                while True:
                    try:
                        async with asyncio.timeout(KEEPALIVE_SECONDS):
                            board = await queue.get()
                        break
                    except TimeoutError:
                        await response.write(b": keepalive\n\n")

    async def metrics_page(request: web.Request) -> web.StreamResponse:
        if not _loopback(request.remote):
            require(request, Role.VIEWER)
        with contextlib.suppress(Exception):  # Redis away: the process' own figures still render
            metrics.set_board((await hub.read()).figures())
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = STATIC / name
        if name not in _static_files():
            raise web.HTTPNotFound(text=json.dumps({"error": "not_found", "reason": f"no file {name!r}"}),
                                   content_type="application/json")
        return web.FileResponse(path, headers=_NO_CACHE)

    async def close_streams(app: web.Application) -> None:
        hub.close()

    def add(app: web.Application) -> None:
        app.on_shutdown.append(close_streams)
        page = "wallboard"
        documented(app, RouteDoc("GET", "/", "The live wallboard (French, English switch)", content_type="text/html",
                                 tag=page), index)
        documented(app, RouteDoc("GET", "/static/{name}", "The wallboard's script, words, style and licence files",
                                 content_type="text/plain", tag=page, errors=(404,)), static)
        documented(app, RouteDoc("GET", "/events", "The board as this token's role may see it, pushed on every "
                                 "change (server-sent events `board`, JSON)", Role.VIEWER,
                                 content_type="text/event-stream", tag=page), events)
        documented(app, RouteDoc("GET", "/metrics", "Prometheus metrics (no token from loopback; any valid token "
                                 "otherwise)", content_type="text/plain", tag="metrics",
                                 description="Names and alerts: docs/operations.md"), metrics_page)

    return add


def _static_files() -> set[str]:
    return {p.name for p in STATIC.iterdir() if p.is_file()}


def _loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False
