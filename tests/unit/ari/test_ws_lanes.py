"""Request-only websockets ("<app>-rest-<n>"): more lanes for REST over WebSocket, against the fake ARI."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import aiohttp
import pytest
from fakes import FakeAri

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriUnavailable
from callcontrol.ari.events import Backoff, EventStream
from callcontrol.ari.models import Event
from callcontrol.ari.ws_lanes import RestLanes
from callcontrol.ari.ws_rest import WsRest


async def until(predicate, timeout: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 (the lanes' tasks change it)
            await asyncio.sleep(0.005)


@pytest.fixture
async def pooled(fake_ari: FakeAri, http: aiohttp.ClientSession) -> AsyncIterator[tuple[AriClient, WsRest]]:
    """The events websocket plus two request-only ones, all carrying the client's requests."""
    rest = WsRest(probe_timeout=0.2, retry_every=0.05)
    conn = fake_ari.connection(request_timeout=0.5)
    client = AriClient(http, conn, ws_rest=rest)
    backoff = Backoff(initial=0.01, maximum=0.02)
    stream = EventStream(http, conn, backoff=backoff, rng=random.Random(5), ws_rest=rest)
    lanes = RestLanes(http, conn, rest, 2, backoff=backoff, rng=random.Random(6))

    async def ignore(event: Event) -> None:
        return None

    tasks = [asyncio.create_task(stream.run(ignore)), asyncio.create_task(lanes.run())]
    await until(lambda: len(rest._ready) == 3)
    yield client, rest
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_requests_take_the_websockets_in_turn(fake_ari: FakeAri, pooled: tuple[AriClient, WsRest]):
    """With two request-only websockets, requests are spread over the three sockets in turn; the extra ones are
    registered as "<app>-rest-1" and "<app>-rest-2" and get no events."""
    client, _ = pooled
    fake_ari.add_channel("c1")
    await asyncio.gather(*(client.answer("c1") for _ in range(6)))
    apps = [r.app for r in fake_ari.find("POST", "/channels/c1/answer")]
    assert sorted(apps) == sorted(["callcontrol", "callcontrol-rest-1", "callcontrol-rest-2"] * 2)
    assert {r.transport for r in fake_ari.find("POST", "/channels/c1/answer")} == {"websocket"}
    assert len(fake_ari.websockets) == 1 and len(fake_ari.lane_websockets) == 2  # events go to ours only


async def test_a_lane_that_drops_fails_its_requests_at_once_and_comes_back(
    fake_ari: FakeAri, pooled: tuple[AriClient, WsRest]
):
    """When the request-only websockets drop with requests out, those requests fail at once with AriUnavailable
    (not after the request timeout); the lanes reconnect by themselves and carry requests again."""
    client, rest = pooled
    fake_ari.add_channel("c1")
    fake_ari.answers_ws_requests = False
    out = [asyncio.create_task(client.answer("c1")) for _ in range(3)]
    await until(lambda: len(fake_ari.find("POST", "/channels/c1/answer")) == 3)
    await fake_ari.drop_lanes()
    done, _ = await asyncio.wait(out, timeout=0.3)  # the request timeout is 0.5 s
    assert len(done) == 2
    assert all(isinstance(t.exception(), AriUnavailable) and "closed" in str(t.exception()) for t in done)
    fake_ari.answers_ws_requests = True
    await asyncio.gather(*out, return_exceptions=True)  # the one on the events websocket times out
    await until(lambda: sum(lane.name.startswith("callcontrol-rest-") for lane in rest._ready) == 2)
    before = len(fake_ari.find("POST", "/channels/c1/answer"))
    await asyncio.gather(client.answer("c1"), client.answer("c1"))
    assert {r.app for r in fake_ari.find("POST", "/channels/c1/answer")[before:]} <= {
        "callcontrol-rest-1", "callcontrol-rest-2", "callcontrol"
    }
    assert {r.transport for r in fake_ari.find("POST", "/channels/c1/answer")[before:]} == {"websocket"}
