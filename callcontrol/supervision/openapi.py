"""OpenAPI 3.1 document of the API (generated from the pydantic models) and its docs page."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    return None
