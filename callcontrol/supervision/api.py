"""The API's routes under /api: reading (reading.py) and actions (actions.py). Reference: /openapi.json."""

from __future__ import annotations

from aiohttp import web

from callcontrol.supervision import actions, reading


def add_routes(app: web.Application) -> None:
    reading.add_routes(app)
    actions.add_routes(app)
