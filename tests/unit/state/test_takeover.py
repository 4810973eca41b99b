"""Several instances on one Redis: one order of arrival, ring-all losers kept until their leg is gone, and the
takeover of a dead instance decided in one step."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from callcontrol.state import AgentStatus, CallStatus, StateLayer, Strategy

from .helpers import HOTLINE, Clock, staff


async def test_arrival_order_comes_from_redis_not_from_each_instance_clock(
    state: StateLayer, redis2: Redis, clock: Clock
) -> None:
    """Two instances whose clocks differ by a minute still queue citizens in the order they arrived."""
    ahead = StateLayer.create(redis2, clock=lambda: clock() + 60)
    await ahead.queues.enqueue("first", HOTLINE, owner="i-ahead")
    await asyncio.sleep(0.01)
    await state.queues.enqueue("second", HOTLINE, owner="i-behind")
    assert [c.call_id for c in await state.queues.waiting(HOTLINE)] == ["first", "second"]


async def test_priority_still_comes_before_arrival_with_redis_time(state: StateLayer) -> None:
    """A higher-priority citizen arriving later is still served first."""
    await state.queues.enqueue("early", HOTLINE, owner="i1", priority=0)
    await asyncio.sleep(0.01)
    await state.queues.enqueue("urgent", HOTLINE, owner="i1", priority=5)
    assert [c.call_id for c in await state.queues.waiting(HOTLINE)] == ["urgent", "early"]


async def test_ring_all_loser_whose_leg_is_up_stays_reserved_until_released(state: StateLayer, clock: Clock) -> None:
    """Ring-all: a loser whose leg may still be up is offered no other call until release_dismissed; the
    others are free at once."""
    await staff(state, clock, "a", "b", "c")
    await state.queues.enqueue("call1", HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, Strategy.RING_ALL, instance="i1")
    assert claim is not None and sorted(claim.agent_ids) == ["a", "b", "c"]
    freed = await state.queues.release_ringall("call1", "a", keep=["b"])
    assert freed == ("c",)
    await state.queues.connect("call1", "a")
    assert (await state.agents.get_state("b")).status is AgentStatus.RINGING
    await state.queues.enqueue("call2", HOTLINE, owner="i1")
    second = await state.queues.claim(HOTLINE, Strategy.RING_ALL, instance="i1")
    assert second is not None and second.agent_ids == ("c",)
    assert await state.queues.release_dismissed("call1", "b") is True
    assert (await state.agents.get_state("b")).status is AgentStatus.AVAILABLE
    assert await state.queues.release_dismissed("call1", "b") is False  # twice: harmless
    assert (await state.agents.get_state("a")).status is AgentStatus.ON_CALL


async def test_dead_instance_is_taken_over_once_with_its_calls_at_their_place(state: StateLayer, clock: Clock) -> None:
    """A dead instance's waiting and offered calls become the taker's at their place, the agents it rang stay
    reserved (dismissing) until freed, an expired wrap-up ends at once and a running one is handed over."""
    await staff(state, clock, "ringer", "talker", "done", "busy", "idle")
    await state.instances.heartbeat("dead", 0.05, app="callcontrol-dead")
    await state.instances.heartbeat("live", 30, app="callcontrol-live")
    await state.queues.enqueue("talking", HOTLINE, owner="dead")
    await state.queues.claim_call_for_agent("talking", "talker", instance="dead")
    await state.queues.connect("talking", "talker")
    await state.queues.enqueue("offered", HOTLINE, owner="dead")
    await state.queues.claim_call_for_agent("offered", "ringer", instance="dead")
    await state.queues.enqueue("waiting", HOTLINE, owner="dead")
    await asyncio.sleep(0.002)  # arrivals are ranked by the millisecond: in the same one, by call id ("theirs" first)
    await state.queues.enqueue("theirs", HOTLINE, owner="live")
    await state.agents.set_wrap_up("done", clock() - 1)
    await state.agents.set_wrap_up("busy", clock() + 30)
    await asyncio.sleep(0.1)
    assert await state.instances.dead() == {"dead"}
    result = await state.instances.take_over("dead", "live")
    assert result.taken and result.app == "callcontrol-dead"
    assert result.adopted == ("offered", "waiting") and result.connected == ("talking",)
    assert [(d.agent_id, d.call_id) for d in result.dismissing] == [("ringer", "offered")]
    assert result.freed == ("done",) and [a for a, _ in result.wrap_ups] == ["busy"]
    waiting = await state.queues.waiting(HOTLINE)
    assert [(c.call_id, c.owner) for c in waiting] == [("offered", "live"), ("waiting", "live"), ("theirs", "live")]
    ringer = await state.agents.get_state("ringer")
    assert ringer.status is AgentStatus.RINGING and ringer.reserved_owner == "live"
    assert (await state.agents.get_state("done")).status is AgentStatus.AVAILABLE
    assert (await state.queues.get_call("talking")).status is CallStatus.CONNECTED
    assert await state.queues.release_dismissed("offered", "ringer") is True
    again = await state.instances.take_over("dead", "live")
    assert not again.taken and await state.instances.dead() == set()


async def test_two_live_instances_racing_take_over_the_dead_one_exactly_once(
    state: StateLayer, redis2: Redis, clock: Clock
) -> None:
    """Both live instances see the dead heartbeat at once: Redis lets exactly one of them take it over."""
    other = StateLayer.create(redis2, clock=clock)
    await state.instances.heartbeat("dead", 0.05)
    await state.queues.enqueue("c1", HOTLINE, owner="dead")
    await asyncio.sleep(0.1)
    results = await asyncio.gather(
        state.instances.take_over("dead", "i1"), other.instances.take_over("dead", "i2")
    )
    assert sorted(r.taken for r in results) == [False, True]
    winner = "i1" if results[0].taken else "i2"
    assert (await state.queues.get_call("c1")).owner == winner


async def test_an_instance_heartbeating_again_is_not_taken_over(state: StateLayer) -> None:
    """An instance that restarted before anyone took it over keeps its calls."""
    await state.instances.heartbeat("back", 30)
    await state.queues.enqueue("c1", HOTLINE, owner="back")
    result = await state.instances.take_over("back", "i1")
    assert not result.taken and (await state.queues.get_call("c1")).owner == "back"
