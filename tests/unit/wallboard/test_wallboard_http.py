"""The wallboard's routes: the page, its live feed (server-sent events) by role, and /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from callcontrol.metrics import Metrics
from callcontrol.state import StateLayer
from callcontrol.supervision.auth import FailureLimiter, Role, Tokens, auth_middleware
from callcontrol.supervision.board import BoardReader
from callcontrol.supervision.hub import BoardHub
from callcontrol.supervision.routes import ROUTES
from callcontrol.supervision.wallboard import wallboard_routes

VIEWER = "viewer-token-0123456789"
SWITCHBOARD = "switchboard-token-0123456"


@pytest.fixture
async def client(staffed: StateLayer, reader: BoardReader) -> AsyncIterator[tuple[TestClient, Metrics]]:
    metrics = Metrics()
    hub = BoardHub(reader, staffed.events, metrics)
    tokens = Tokens.of({Role.VIEWER: [VIEWER], Role.SWITCHBOARD: [SWITCHBOARD]})
    app = web.Application(middlewares=[auth_middleware(tokens, FailureLimiter(time.monotonic))])
    app[ROUTES] = []
    wallboard_routes(hub, metrics)(app)
    task = asyncio.create_task(hub.run())
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        test_client.hub = hub  # type: ignore[attr-defined]
        yield test_client, metrics
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def next_board(response) -> dict:
    """The next `board` event of a server-sent event stream."""
    block = ""
    while not block.startswith("event: board"):
        block = ""
        while not block.endswith("\n\n"):
            block += (await response.content.readline()).decode()
        block = block.lstrip("\n")
    return json.loads(block.split("data: ", 1)[1])


async def test_page_is_served_without_token_and_in_french(client):
    """`/` is the wallboard page (French first), its module script served from /static."""
    test_client, _ = client
    page = await test_client.get("/")
    assert page.status == 200 and 'lang="fr"' in await page.text()
    script = await test_client.get("/static/wallboard.js")
    assert script.status == 200 and "EventSource" not in await script.text()  # fetch: the token stays out of URLs


async def test_events_need_a_token(client):
    """No token: 401 JSON, no board."""
    test_client, _ = client
    response = await test_client.get("/events")
    assert response.status == 401 and (await response.json())["error"] == "no_token"


async def test_viewer_stream_pushes_a_change_within_one_second_without_private_details(client, staffed):
    """A viewer's stream gets the board at once and again within 1 s of a change, never a pause reason."""
    test_client, _ = client
    response = await test_client.get("/events", headers={"Authorization": f"Bearer {VIEWER}"})
    assert response.headers["Content-Type"].startswith("text/event-stream")
    first = await next_board(response)
    assert first["role"] == "viewer" and "médical" not in json.dumps(first, ensure_ascii=False)
    started = time.monotonic()
    await staffed.agents.login("carole", "softphone")
    async with asyncio.timeout(1.0):
        while True:
            board = await next_board(response)
            if next(a for a in board["agents"] if a["id"] == "carole")["state"] == "available":
                break
    assert time.monotonic() - started < 1.0
    response.close()


async def test_switchboard_stream_carries_call_ids_for_its_actions(client):
    """The switchboard role's board names the waiting call (the actions need its id)."""
    test_client, _ = client
    response = await test_client.get("/events", headers={"Authorization": f"Bearer {SWITCHBOARD}"})
    board = await next_board(response)
    assert board["hotlines"][0]["calls"][0]["id"] == "c1"
    response.close()


async def test_metrics_on_loopback_need_no_token_and_show_the_queue(client):
    """`curl /metrics` from the machine itself: waiting per hotline, on-call hotline with nobody reachable."""
    test_client, metrics = client
    metrics.call_ended("answered", "etat-civil", 4.0)
    response = await test_client.get("/metrics")
    text = await response.text()
    assert response.status == 200
    assert 'callcontrol_hotline_waiting{hotline="etat-civil"} 1.0' in text
    assert 'callcontrol_oncall_nobody_reachable{hotline="astreinte"} 1.0' in text
    assert 'callcontrol_hotline_calls_ended_total{hotline="etat-civil",result="answered_in_time"} 1.0' in text


async def test_streams_end_when_the_server_stops_so_that_shutdown_does_not_wait_for_them(client):
    """Stopping callcontrol ends every open stream at once (the page then reconnects to the restarted one)."""
    test_client, _ = client
    response = await test_client.get("/events", headers={"Authorization": f"Bearer {VIEWER}"})
    await next_board(response)
    test_client.hub.close()
    async with asyncio.timeout(1.0):
        rest = await response.content.read()
    assert b"event: board" not in rest and response.content.at_eof()
