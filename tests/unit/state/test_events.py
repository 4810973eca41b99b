"""Rule 7: agent_available notifications on cc:events (no polling)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from callcontrol.state import AgentAvailable, Device, StateLayer, parse_event

from .helpers import HOTLINE, Clock, agent, staff


async def _collect(redis: Redis, action) -> list[AgentAvailable]:
    pubsub = redis.pubsub()
    await pubsub.subscribe("cc:events")
    await pubsub.get_message(timeout=1)  # subscribe confirmation
    await action()
    events = []
    while (msg := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)) is not None:
        event = parse_event(msg["data"])
        assert event is not None
        if isinstance(event, AgentAvailable):  # the channel carries every change; these tests follow this one
            events.append(event)
    await pubsub.aclose()
    return events


async def test_login_publishes_agent_available_with_hotlines(state: StateLayer, redis: Redis, clock: Clock) -> None:
    """login publishes agent_available with the agent's hotline ids."""
    await state.agents.sync_agents([agent("1001", {HOTLINE: 0, "urba": 1})])
    events = await _collect(redis, lambda: state.agents.login("1001", Device.SOFTPHONE))
    assert events == [AgentAvailable("1001", ("etat-civil", "urba"), clock.t)]


async def test_unpause_release_and_end_wrap_up_publish(state: StateLayer, redis: Redis, clock: Clock) -> None:
    """unpause, release to available and end_wrap_up each publish one agent_available."""
    await staff(state, clock, "1001")
    await state.agents.pause("1001", "lunch")

    async def scenario() -> None:
        await state.agents.unpause("1001")
        await state.queues.enqueue("c1", HOTLINE, owner="i1")
        await state.queues.claim(HOTLINE, "linear", instance="i1")
        await state.queues.connect("c1", "1001")
        await state.queues.release("1001", wrap_up_seconds=10)  # wrap_up: not available yet
        await state.agents.end_wrap_up("1001")

    events = await _collect(redis, scenario)
    assert [e.agent_id for e in events] == ["1001", "1001"]


async def test_pause_and_logout_publish_nothing(state: StateLayer, redis: Redis, clock: Clock) -> None:
    """Becoming unavailable publishes no agent_available."""
    await staff(state, clock, "1001")

    async def scenario() -> None:
        await state.agents.pause("1001", "x")
        await state.agents.logout("1001")

    assert await _collect(redis, scenario) == []


def test_parse_event_ignores_garbage() -> None:
    """parse_event returns None for non-JSON or unknown messages, and accepts Lua's {} as an empty list."""
    assert parse_event(b"not json") is None
    assert parse_event('{"type": "other"}') is None
    assert parse_event('{"type": "agent_available", "agent": "1", "hotlines": {}, "at": 1}') == AgentAvailable(
        "1", (), 1.0)


async def test_events_reach_another_instance(state: StateLayer, redis2: Redis, clock: Clock) -> None:
    """A subscriber on another client (instance) receives the notification."""
    await state.agents.sync_agents([agent("1001")])
    events = await _collect(redis2, lambda: state.agents.login("1001", Device.SOFTPHONE))
    assert [e.agent_id for e in events] == ["1001"]
    _ = asyncio  # keep the import used by fixtures' loop
