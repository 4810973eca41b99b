"""The API's routes (filled in below by the switchboard endpoints)."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    return None
