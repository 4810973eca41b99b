"""The routes' documentation, kept with the app: what the OpenAPI document (openapi.py) is generated from.

Every route is added with `documented(app, RouteDoc(...), handler)`, so none can be served undocumented
(tests/unit/supervision/test_openapi.py checks it). h-board's routes (wallboard, events, metrics) use it too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

from callcontrol.supervision.auth import Role

ROUTES: web.AppKey[list[RouteDoc]] = web.AppKey("routes", list)


@dataclass(frozen=True)
class RouteDoc:
    method: str  # GET, POST, DELETE
    path: str  # aiohttp form: /api/calls/{call_id}
    summary: str
    role: Role | None = None  # the lowest role allowed; None: no token needed
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    content_type: str = "application/json"  # of the response (text/html, text/event-stream, text/plain...)
    tag: str = "api"
    errors: tuple[int, ...] = ()  # besides 401/403 (from `role`) and 400/422 (from `body`)
    description: str = ""
    params: dict[str, str] = field(default_factory=dict)  # query parameters: name -> description


def documented(app: web.Application, doc: RouteDoc, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
    """Add the route and its documentation."""
    app.router.add_route(doc.method, doc.path, handler)
    app[ROUTES].append(doc)
