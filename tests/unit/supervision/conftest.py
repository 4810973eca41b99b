"""Fixtures: the supervision app over fakeredis, with tokens per role, a hotline or two, and an "owner" that
plays the call's instance (it answers a redirect by publishing the agent's `ringing`, as the offer does)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import fakeredis
import pytest
from aiohttp.test_utils import TestClient, TestServer

from callcontrol.agents.presence import Presence
from callcontrol.clock import Clock
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.routing.switchboard import Switchboard
from callcontrol.state import AgentRecord, StateLayer
from callcontrol.state.events import CallChanged, CallStage, SwitchboardAsked
from callcontrol.supervision.auth import FailureLimiter, Role, Tokens
from callcontrol.supervision.deps import SupervisionDeps
from callcontrol.supervision.server import build_web_app

ZONE = ZoneInfo("Europe/Paris")
TOKENS = {Role.VIEWER: "viewer-token-0123456789", Role.SWITCHBOARD: "switchboard-token-012345",
          Role.SUPERVISOR: "supervisor-token-0123456"}
HOTLINES = {"etat-civil": HotlineRouting(id="etat-civil", name="État civil"),
            "urbanisme": HotlineRouting(id="urbanisme", name="Urbanisme", priority=0)}
OWNER = "cc-a"


def auth(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


@pytest.fixture
def clock() -> Clock:
    return Clock(zone=ZONE, start_at=datetime(2026, 3, 2, 10, 0, tzinfo=ZONE))


@pytest.fixture
async def state(clock: Clock) -> AsyncIterator[StateLayer]:
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    layer = StateLayer.create(redis, clock=clock.time)
    await layer.agents.sync_agents([
        AgentRecord(id="alice", name="Alice", softphone="1001", hotlines={"etat-civil": 0}),
        AgentRecord(id="bob", name="Bob", softphone="1002", hotlines={"urbanisme": 0}),
        AgentRecord(id="standard", name="Standard", softphone="1009", hotlines={}),
    ])
    await layer.instances.heartbeat(OWNER, 30, app=OWNER)
    yield layer
    await redis.aclose()


@pytest.fixture
def switchboard(state: StateLayer, clock: Clock) -> Switchboard:
    return Switchboard(state, HOTLINES, clock, names={"alice": "Alice", "bob": "Bob"}, switchboard_phone="1009",
                       ring_confirm=1.0)


@pytest.fixture
async def client(state: StateLayer, clock: Clock, switchboard: Switchboard) -> AsyncIterator[TestClient]:
    deps = SupervisionDeps(switchboard=switchboard, presence=Presence(state, clock.time), state=state, clock=clock,
                           tokens=Tokens.of({r: [t] for r, t in TOKENS.items()}),
                           limiter=FailureLimiter(clock.monotonic))
    async with TestClient(TestServer(build_web_app(deps))) as test_client:
        yield test_client


@pytest.fixture
async def owner(state: StateLayer) -> AsyncIterator[list[SwitchboardAsked]]:
    """The owning instance: records the requests and rings the redirected agent (publishes `ringing`)."""
    asked: list[SwitchboardAsked] = []
    subscribed = asyncio.Event()

    async def follow() -> None:
        async for event in state.events.listen():
            subscribed.set()
            if isinstance(event, SwitchboardAsked):
                asked.append(event)
                if event.action == "redirect":
                    await state.events.publish(CallChanged(event.call_id, CallStage.RINGING, event.hotline,
                                                           event.agent_id, 0.0))

    task = asyncio.create_task(follow())
    await subscribed.wait()
    yield asked
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def queue(state: StateLayer, call_id: str, hotline: str = "etat-civil", caller: str = "+33 6•• •• •• 78",
                *, at: float) -> None:
    await state.queues.enqueue(call_id, hotline, owner=OWNER, caller_masked=caller, now=at, started_at=at - 30,
                               path=[{"at": at - 30, "step": "menu"}, {"at": at - 2, "step": "enqueue:" + hotline}])
