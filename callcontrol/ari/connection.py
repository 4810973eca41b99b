"""Where and how to reach ARI: one frozen value, built at the composition root from the settings and shared by the
REST client (client.py), the events websocket (events.py) and the request-only websockets (ws_lanes.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

import aiohttp


class AriPlace(Protocol):
    """What the settings say of ARI (config.AriSettings), without this module importing them."""

    url: str
    user: str
    password: str
    app: str


@dataclass(frozen=True)
class AriConnection:
    base_url: str  # ARI's http(s) base URL, without /ari: "http://127.0.0.1:8088"
    user: str
    password: str = field(repr=False)
    app: str  # the ARI application (Stasis) name this connection registers as
    request_timeout: float = 10.0  # s, one REST request (HTTP or over a websocket)
    heartbeat: float = 5.0  # s between websocket pings

    @classmethod
    def of(cls, settings: AriPlace, *, request_timeout: float = 10.0) -> AriConnection:
        return cls(settings.url, settings.user, settings.password, settings.app, request_timeout=request_timeout)

    def for_app(self, app: str) -> AriConnection:
        """The same Asterisk and credentials, registered as another application."""
        return replace(self, app=app)

    def auth_header(self) -> dict[str, str]:
        return basic_auth_header(self.user, self.password)

    @property
    def rest_url(self) -> str:
        return self.base_url.rstrip("/") + "/ari"

    @property
    def events_url(self) -> str:
        return events_url(self.base_url)


def basic_auth_header(user: str, password: str) -> dict[str, str]:
    """The Authorization header (never api_key in a URL that may reach a log)."""
    return {"Authorization": aiohttp.encode_basic_auth(user, password)}


def events_url(base_url: str) -> str:
    """ws(s)://host:port/ari/events from ARI's http(s) base URL."""
    scheme, rest = base_url.rstrip("/").split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ari/events"
