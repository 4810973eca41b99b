"""Fixtures: a StateLayer over fakeredis with two hotlines and three agents, and the wallboard's reader on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import fakeredis
import pytest

from callcontrol.routing.switchboard_views import Figures, HotlineFigures
from callcontrol.state import AgentRecord, StateLayer
from callcontrol.supervision.board import AgentInfo, BoardReader, HotlineInfo

T0 = 1_700_000_000.0
CALLER_MASKED = "+33 6•• •• •• 78"
HOTLINES = [HotlineInfo("etat-civil", "État civil"), HotlineInfo("astreinte", "Astreinte", on_call=True)]
AGENTS = [
    AgentInfo("alice", "Alice", ("etat-civil",)),
    AgentInfo("bob", "Bob", ("etat-civil",)),
    AgentInfo("carole", "Carole", ("astreinte",)),
]


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


async def no_calls_today() -> Figures:
    return Figures(since=T0 - 3600, calls=4, by_outcome={"answered": 3, "abandoned": 1}, hotlines=(
        HotlineFigures("etat-civil", calls=4, answered=3, answered_within=2, not_answered=1, mean_wait=12.0),
        HotlineFigures("astreinte", calls=0, answered=0, answered_within=0, not_answered=0, mean_wait=None),
    ))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def state(clock: Clock) -> AsyncIterator[StateLayer]:
    redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
    layer = StateLayer.create(redis, clock=clock)
    records = [AgentRecord(id=a.id, name=a.name, softphone=f"10{n}", hotlines={h: 0 for h in a.hotlines})
               for n, a in enumerate(AGENTS)]
    await layer.agents.sync_agents(records)
    yield layer
    await redis.aclose()


@pytest.fixture
async def staffed(state: StateLayer, clock: Clock) -> StateLayer:
    """Alice available, Bob paused ("rendez-vous médical"), Carole logged out; one citizen waiting 30 s."""
    await state.agents.login("alice", "softphone")
    await state.agents.login("bob", "softphone")
    await state.agents.pause("bob", "rendez-vous médical")
    await state.queues.enqueue("c1", "etat-civil", owner="i1", caller_masked=CALLER_MASKED, now=clock.t - 30)
    return state


@pytest.fixture
def reader(state: StateLayer, clock: Clock) -> BoardReader:
    return BoardReader(state, HOTLINES, AGENTS, clock=clock, today=no_calls_today)
