"""The API's routes under /api: reading (reading.py), actions (actions.py), figures
(figures.py) and follow-up tickets (tickets.py). Reference: /openapi.json."""

from __future__ import annotations

from aiohttp import web

from callcontrol.supervision import actions, figures, reading, tickets


def add_routes(app: web.Application) -> None:
    reading.add_routes(app)
    actions.add_routes(app)
    figures.add_routes(app)
    tickets.add_routes(app)
