"""One typed channel for every call and agent change: parsing, EventBus publish/listen, what the scripts publish."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import fakeredis
import pytest
import structlog
from redis.asyncio import Redis

from callcontrol.state import (
    AgentAvailable,
    CallChanged,
    CallStage,
    Device,
    EventBus,
    PresenceChanged,
    Resubscribed,
    StateLayer,
    encode_event,
    parse_event,
)
from callcontrol.state import events as events_module

from .helpers import HOTLINE, Clock, agent, staff


async def _collect(state: StateLayer, action: Callable[[], Awaitable[object]]) -> list[object]:
    """Everything `listen` yields while `action` runs (after the first Resubscribed marker)."""
    received: list[object] = []
    subscribed = asyncio.Event()

    async def consume() -> None:
        async for event in state.events.listen():
            if isinstance(event, Resubscribed):
                subscribed.set()
                continue
            received.append(event)

    task = asyncio.create_task(consume())
    await asyncio.wait_for(subscribed.wait(), 2)
    await action()
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return received


def _presence(events: list[object]) -> list[tuple[str, str | None, str]]:
    return [(e.status, e.reason, e.by) for e in events if isinstance(e, PresenceChanged)]


def _stages(events: list[object]) -> list[tuple[str, str | None]]:
    return [(e.stage.value, e.agent_id) for e in events if isinstance(e, CallChanged)]


@pytest.mark.parametrize(
    "event",
    [
        AgentAvailable("1001", ("etat-civil", "urba"), 12.5),
        PresenceChanged("1001", "paused", "softphone", "lunch", 12.5, "cli"),
        PresenceChanged("1001", "logged_out", None, None, 1.0, "system"),
        CallChanged("c1", CallStage.QUEUED, HOTLINE, None, 3.0, {"position": 2}),
        CallChanged("c1", CallStage.RINGING, HOTLINE, "1001", 3.0, {}),
    ],
)
def test_every_event_survives_the_wire(event) -> None:
    """What EventBus publishes parses back to the same typed event."""
    assert parse_event(encode_event(event)) == event


def test_parse_event_rejects_what_it_does_not_know() -> None:
    """Unknown types, unknown call stages, non-objects and non-JSON give None, never an exception."""
    assert parse_event('{"type": "call_changed", "call": "c1", "stage": "teleported"}') is None
    assert parse_event("[1, 2]") is None
    assert parse_event(b"\xff") is None
    assert parse_event('{"type": "presence_changed", "agent": "1", "status": "paused", "at": "x"}') is None
    assert parse_event(
        '{"type": "presence_changed", "agent": "1", "status": "available", "device": "", "reason": "", "at": 2}'
    ) == PresenceChanged("1", "available", None, None, 2.0, "system")


async def test_published_event_reaches_a_listener(state: StateLayer) -> None:
    """A listener gets a Resubscribed marker, then the events another part publishes, typed."""
    event = CallChanged("c9", CallStage.RINGING, HOTLINE, "1001", 5.0, {"device": "softphone"})
    assert await _collect(state, lambda: state.events.publish(event)) == [event]


async def test_presence_changes_are_published_with_their_route(state: StateLayer, clock: Clock) -> None:
    """login, pause, unpause, logout each publish presence_changed with the new status and who asked."""
    await state.agents.sync_agents([agent("1001")])

    async def scenario() -> None:
        await state.agents.login("1001", Device.SOFTPHONE, by="softphone")
        await state.agents.pause("1001", "lunch", by="cli")
        await state.agents.unpause("1001", by="api")
        await state.agents.unpause("1001", by="api")  # already available: nothing changes, nothing published
        await state.agents.logout("1001")

    events = await _collect(state, scenario)
    assert _presence(events) == [
        ("available", None, "softphone"),
        ("paused", "lunch", "cli"),
        ("available", None, "api"),
        ("logged_out", None, "system"),
    ]
    login = next(e for e in events if isinstance(e, PresenceChanged))
    assert (login.device, login.at) == ("softphone", clock.t)
    # agent_available still follows each return to available (routing depends on it)
    assert [type(e).__name__ for e in events].count("AgentAvailable") == 2


async def test_wrap_up_and_auto_pause_are_published(state: StateLayer, clock: Clock) -> None:
    """Wrap-up start and end, and the auto-pause after missed offers, each publish presence_changed."""
    await staff(state, clock, "1001")

    async def scenario() -> None:
        await state.agents.set_wrap_up("1001", clock.t + 30)
        await state.agents.end_wrap_up("1001")
        await state.agents.record_miss("1001", 2)  # one miss: no change of presence
        await state.agents.record_miss("1001", 2)

    assert _presence(await _collect(state, scenario)) == [
        ("wrap_up", None, "system"),
        ("available", None, "system"),
        ("paused", "no_answer", "auto-pause"),
    ]


async def test_a_call_publishes_each_stage(state: StateLayer, clock: Clock) -> None:
    """queued, offered, connected, ended for an answered call; the agent's presence follows it."""
    await staff(state, clock, "1001")

    async def scenario() -> None:
        await state.queues.enqueue("c1", HOTLINE, owner="i1")
        await state.queues.claim(HOTLINE, "linear", instance="i1")
        await state.queues.connect("c1", "1001")
        await state.queues.release("1001", wrap_up_seconds=10)

    events = await _collect(state, scenario)
    assert _stages(events) == [("queued", None), ("offered", "1001"), ("connected", "1001"), ("ended", "1001")]
    assert [s for s, _, _ in _presence(events)] == ["ringing", "on_call", "wrap_up"]
    queued = next(e for e in events if isinstance(e, CallChanged))
    assert (queued.hotline, queued.detail["position"]) == (HOTLINE, 1)


async def test_hang_up_while_waiting_is_left_and_a_missed_offer_requeues(state: StateLayer, clock: Clock) -> None:
    """A citizen hanging up while waiting is `left`; an unanswered offer puts the call back as `queued`."""
    await staff(state, clock, "1001")

    async def scenario() -> None:
        await state.queues.enqueue("c1", HOTLINE, owner="i1")
        await state.queues.claim(HOTLINE, "linear", instance="i1")
        await state.queues.release_no_answer("c1", "1001", max_misses=3)
        await state.queues.leave("c1")

    events = await _collect(state, scenario)
    assert _stages(events) == [("queued", None), ("offered", "1001"), ("queued", None), ("left", None)]
    requeued = [e for e in events if isinstance(e, CallChanged)][2]
    assert requeued.detail == {"requeued": True}


async def test_listen_survives_redis_going_away(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    """Redis away then back: one lost line, one restored line with the down time and failed attempts, a
    Resubscribed marker, and events flow again."""
    monkeypatch.setattr(events_module, "RETRY_SECONDS", (0.01,))
    server = fakeredis.FakeServer()
    server.connected = False
    redis: Redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    state = StateLayer.create(redis, clock=clock)
    markers: list[Resubscribed] = []
    received: list[object] = []
    restored = asyncio.Event()
    with structlog.testing.capture_logs() as logs:
        async def consume() -> None:
            async for event in state.events.listen():
                (markers if isinstance(event, Resubscribed) else received).append(event)
                if isinstance(event, Resubscribed):
                    restored.set()
                if received:
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.2)  # many failed attempts
        server.connected = True
        await asyncio.wait_for(restored.wait(), 2)
        event = AgentAvailable("1001", (HOTLINE,), 1.0)
        await EventBus(state.store).publish(event)
        await asyncio.wait_for(task, 2)
    await redis.aclose()
    assert received == [event]
    assert markers[0].down_seconds >= 0.2
    names = [line["event"] for line in logs]
    assert names.count("state_events_lost") == 1 and names.count("state_events_restored") == 1
    restored = next(line for line in logs if line["event"] == "state_events_restored")
    assert restored["failed_attempts"] >= 5


class _PubSub:
    """A pubsub whose client re-subscribed by itself (as redis-py's retry does after a failover) between events."""

    def __init__(self, messages: list[dict[str, object]]) -> None:
        self.messages = messages

    async def subscribe(self, channel: str) -> None:
        pass

    async def listen(self):
        for message in self.messages:
            yield message
        await asyncio.Event().wait()

    async def aclose(self) -> None:
        pass


async def test_listen_reports_a_resubscription_the_client_made_by_itself(clock: Clock) -> None:
    """A second subscribe confirmation (redis-py reconnected on its own) gives Resubscribed: missed events get swept."""
    state = StateLayer.create(fakeredis.FakeAsyncRedis(decode_responses=True), clock=clock)
    first, second = AgentAvailable("1001", (HOTLINE,), 1.0), AgentAvailable("1002", (HOTLINE,), 2.0)
    channel = state.store.keys.events
    pubsub = _PubSub([
        {"type": "subscribe", "channel": channel, "data": 1},
        {"type": "message", "channel": channel, "data": encode_event(first)},
        {"type": "subscribe", "channel": channel, "data": 1},
        {"type": "message", "channel": channel, "data": encode_event(second)},
    ])  # fmt: skip
    state.store.redis.pubsub = lambda: pubsub
    received: list[object] = []
    with structlog.testing.capture_logs() as logs, contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1):
            async for event in state.events.listen():
                received.append(event)
                if len(received) == 4:
                    break
    assert received == [Resubscribed(), first, Resubscribed(), second]
    assert [line["event"] for line in logs] == ["state_events_resubscribed"]


async def test_the_listeners_of_one_bus_share_one_subscription(state: StateLayer) -> None:
    """Routing, the wallboard and the duty mirror listening get every event each, over one Redis subscription."""
    got: dict[str, list[object]] = {"a": [], "b": []}
    ready = {name: asyncio.Event() for name in got}

    async def follow(name: str) -> None:
        async for event in state.events.listen():
            if isinstance(event, Resubscribed):
                ready[name].set()
            else:
                got[name].append(event)

    tasks = [asyncio.create_task(follow(name)) for name in got]
    for event in ready.values():
        await asyncio.wait_for(event.wait(), 2)
    numsub = await state.store.redis.pubsub_numsub(state.store.keys.events)
    event = AgentAvailable("1001", (HOTLINE,), 1.0)
    await state.events.publish(event)
    await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert got == {"a": [event], "b": [event]}
    assert numsub[0][1] == 1


async def test_a_listener_asking_for_some_kinds_gets_only_those_and_the_resubscribed_marker(state: StateLayer):
    """listen(AgentAvailable) hears agent_available and the subscription marker, never the presence and call
    changes that every call publishes; a listener without kinds still hears everything."""
    some: list[object] = []
    everything: list[object] = []
    ready = asyncio.Event()

    async def consume(into: list[object], *kinds: type) -> None:
        async for event in state.events.listen(*kinds):
            into.append(event)
            if isinstance(event, Resubscribed) and len(into) == 1 and kinds:
                ready.set()

    tasks = [asyncio.create_task(consume(some, AgentAvailable)), asyncio.create_task(consume(everything))]
    await asyncio.wait_for(ready.wait(), 2)
    bus = EventBus(state.store)
    await bus.publish(PresenceChanged("1001", "paused", "softphone", "lunch", 1.0, "cli"))
    await bus.publish(CallChanged("c1", CallStage.QUEUED, HOTLINE, None, 2.0, {}))
    await bus.publish(AgentAvailable("1001", (HOTLINE,), 3.0))
    await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(e).__name__ for e in some] == ["Resubscribed", "AgentAvailable"]
    assert [type(e).__name__ for e in everything if not isinstance(e, Resubscribed)] == [
        "PresenceChanged", "CallChanged", "AgentAvailable"]
