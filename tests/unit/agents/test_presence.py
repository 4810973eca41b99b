"""The presence use cases: what the CLI, flows and API call; typed results and errors, the route in the event."""

from __future__ import annotations

import fakeredis
import pytest

from callcontrol.agents.presence import (
    AgentBusy,
    AgentPresence,
    DeviceNotConfigured,
    Leaving,
    NotLoggedIn,
    Presence,
    PresenceRefused,
    UnknownAgent,
)
from callcontrol.state import AgentRecord, AgentStatus, Device, PresenceChanged, StateLayer, parse_event

T0 = 1_800_000_000.0
HOTLINE = "etat-civil"


class FixedClock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def state():
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    layer = StateLayer.create(redis, clock=lambda: 0.0)  # the layer's own clock must not be the one used
    await layer.agents.sync_agents([
        AgentRecord(id="alice", name="Alice", softphone="1001", hotlines={HOTLINE: 0}),
        AgentRecord(id="bob", name="Bob", softphone="1002", mobile="+33612345678", hotlines={HOTLINE: 0}),
    ])
    yield layer
    await redis.aclose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


async def test_login_pause_unpause_logout_give_the_new_presence(state: StateLayer, clock: FixedClock) -> None:
    """Each use case returns the agent's presence after it, stamped with the given (shared) clock."""
    presence = Presence(state, clock)
    assert await presence.login("bob", "mobile", by="cli") == AgentPresence(
        "bob", AgentStatus.AVAILABLE, Device.MOBILE, None, T0
    )
    clock.t += 60
    paused = await presence.pause("bob", "lunch", by="cli")
    assert (paused.status, paused.reason, paused.since) == (AgentStatus.PAUSED, "lunch", T0 + 60)
    assert (await presence.unpause("bob", by="cli")).status is AgentStatus.AVAILABLE
    assert (await presence.logout("bob", by="cli")).status is AgentStatus.LOGGED_OUT


async def test_status_lists_every_agent_or_one(state: StateLayer, clock: FixedClock) -> None:
    """status() lists every configured agent in id order; status(id) only that one."""
    presence = Presence(state, clock)
    await presence.login("alice", Device.SOFTPHONE, by="cli")
    assert [(p.agent_id, p.status) for p in await presence.status()] == [
        ("alice", AgentStatus.AVAILABLE),
        ("bob", AgentStatus.LOGGED_OUT),
    ]
    assert [p.agent_id for p in await presence.status("bob")] == ["bob"]


async def test_errors_are_typed_and_readable(state: StateLayer, clock: FixedClock) -> None:
    """Unknown agent, device not configured, pause while logged out, busy agent: each its own error."""
    presence = Presence(state, clock)
    with pytest.raises(UnknownAgent, match="'carol' is not in the agent directory"):
        await presence.login("carol", Device.SOFTPHONE, by="cli")
    with pytest.raises(UnknownAgent):
        await presence.status("carol")
    with pytest.raises(DeviceNotConfigured, match="no mobile configured"):
        await presence.login("alice", Device.MOBILE, by="cli")
    with pytest.raises(DeviceNotConfigured):
        await presence.login("alice", "fax", by="cli")
    with pytest.raises(NotLoggedIn, match="cannot pause while logged_out"):
        await presence.pause("alice", "lunch", by="cli")
    await presence.login("alice", Device.SOFTPHONE, by="cli")
    await state.queues.enqueue("c1", HOTLINE, owner="i1", now=T0)
    await state.queues.claim(HOTLINE, "linear", instance="i1", now=T0)
    with pytest.raises(AgentBusy, match="while ringing"):
        await presence.logout("alice", by="cli")
    assert (await presence.status("alice"))[0].status is AgentStatus.RINGING


async def test_the_route_travels_with_the_presence_event(state: StateLayer, clock: FixedClock) -> None:
    """presence_changed says which route asked (here the softphone's feature code)."""
    pubsub = state.store.redis.pubsub()
    await pubsub.subscribe(state.store.keys.events)
    await pubsub.get_message(timeout=1)
    await Presence(state, clock).login("alice", Device.SOFTPHONE, by="softphone")
    events = []
    while (msg := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)) is not None:
        events.append(parse_event(msg["data"]))
    await pubsub.aclose()
    assert PresenceChanged("alice", "available", "softphone", None, T0, "softphone") in events


async def test_a_guard_can_refuse_leaving_and_nothing_changes(state: StateLayer, clock: FixedClock) -> None:
    """Logout and pause go through the one leave guard (the seam of "never nobody on call")."""
    asked: list[tuple[str, Leaving, str]] = []

    class LastOneStays:
        async def check(self, agent_id: str, leaving: Leaving, by: str) -> None:
            asked.append((agent_id, leaving, by))
            raise PresenceRefused(f"{agent_id} is the last agent on call")

    presence = Presence(state, clock, leave_guard=LastOneStays())
    await presence.login("alice", Device.SOFTPHONE, by="cli")
    with pytest.raises(PresenceRefused, match="last agent"):
        await presence.logout("alice", by="api")
    with pytest.raises(PresenceRefused):
        await presence.pause("alice", "lunch", by="cli")
    assert asked == [("alice", Leaving.LOGOUT, "api"), ("alice", Leaving.PAUSE, "cli")]
    assert (await presence.status("alice"))[0].status is AgentStatus.AVAILABLE
