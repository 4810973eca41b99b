"""The whole supervision app as app.py builds it (API + wallboard + metrics): one valid OpenAPI document."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from callcontrol.agents.presence import Presence
from callcontrol.clock import Clock
from callcontrol.metrics import Metrics
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.routing.switchboard import Switchboard
from callcontrol.state import StateLayer
from callcontrol.supervision.auth import FailureLimiter, Role, Tokens
from callcontrol.supervision.board import BoardReader
from callcontrol.supervision.deps import SupervisionDeps
from callcontrol.supervision.figures import board_today
from callcontrol.supervision.hub import BoardHub
from callcontrol.supervision.server import build_web_app
from callcontrol.supervision.wallboard import wallboard_routes

from .conftest import AGENTS, HOTLINES


async def test_wallboard_routes_are_in_the_api_document_and_served_beside_the_api(state: StateLayer):
    """/, /static/{name}, /events and /metrics are documented in /openapi.json, which stays valid OpenAPI 3.1."""
    clock = Clock(zone=ZoneInfo("Europe/Paris"))
    routing = {h.id: HotlineRouting(id=h.id, name=h.name) for h in HOTLINES}
    switchboard = Switchboard(state, routing, clock, names={a.id: a.name for a in AGENTS})
    deps = SupervisionDeps(switchboard=switchboard, presence=Presence(state, clock.time), state=state, clock=clock,
                           tokens=Tokens.of({Role.VIEWER: ["viewer-token-0123456789"]}),
                           limiter=FailureLimiter(clock.monotonic))
    metrics = Metrics()
    today = board_today(deps.figure_reading(), [h.id for h in HOTLINES])
    hub = BoardHub(BoardReader(state, HOTLINES, AGENTS, clock=clock.time, today=today), state.events)
    app = build_web_app(deps, extra=[wallboard_routes(hub, metrics)])
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        spec = await (await client.get("/openapi.json")).json()
        validate(spec)
        assert {"/", "/static/{name}", "/events", "/metrics"} <= set(spec["paths"])
        assert (await client.get("/static/nope.js")).status == 404
        page = await client.get("/metrics")
        assert page.status == 200 and "callcontrol_hotline_waiting" in await page.text()
