"""Unreachable softphones are never offered a call; a call's skipped agents are never offered it again."""

from __future__ import annotations

import json

import pytest

from callcontrol.state import AgentBusy, AgentStatus, Device, StateLayer

from .helpers import HOTLINE, Clock, staff


async def test_unreachable_softphone_is_not_claimed_and_counts_again_once_registered(
    state: StateLayer, clock: Clock
) -> None:
    """A softphone marked unreachable is skipped by claims; reachable again, she gets the waiting citizen."""
    await staff(state, clock, "1001", "1002")
    assert await state.agents.set_reachable("1001", Device.SOFTPHONE, False)
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, "longest_idle", instance="i1")
    assert claim is not None and claim.agent_id == "1002"  # 1001 is idle longest but cannot be reached
    await state.queues.enqueue("c2", HOTLINE, owner="i1")
    assert await state.queues.claim(HOTLINE, "longest_idle", instance="i1") is None
    assert not (await state.agents.get_state("1001")).reachable
    await state.agents.set_reachable("1001", Device.SOFTPHONE, True)
    claim = await state.queues.claim(HOTLINE, "longest_idle", instance="i1")
    assert claim is not None and (claim.call_id, claim.agent_id) == ("c2", "1001")


async def test_softphone_registering_again_publishes_agent_available(state: StateLayer, clock: Clock) -> None:
    """Becoming reachable while free announces the agent (so the longest waiting citizen is offered at once)."""
    await staff(state, clock, "1001")
    await state.agents.set_reachable("1001", "softphone", False)
    pubsub = state.store.redis.pubsub()
    await pubsub.subscribe(state.store.keys.events)
    await pubsub.get_message(timeout=1)  # subscribe confirmation
    assert await state.agents.set_reachable("1001", "softphone", True)
    assert not await state.agents.set_reachable("1001", "softphone", True)  # no change: nothing published
    messages = []
    while (m := await pubsub.get_message(timeout=0.2)) is not None:
        messages.append(json.loads(m["data"]))
    await pubsub.aclose()
    assert [m["type"] for m in messages] == ["agent_available"]
    assert messages[0]["agent"] == "1001"


async def test_reachability_of_the_other_device_does_not_matter(state: StateLayer, clock: Clock) -> None:
    """An agent logged in on her mobile is offered calls even though her softphone is not registered."""
    await staff(state, clock, "1001")
    await state.agents.set_reachable("1001", "softphone", False)
    await state.store.redis.hset(state.store.keys.agent("1001"), "mobile", "+33612345678")
    await state.agents.login("1001", Device.MOBILE)
    assert (await state.agents.get_state("1001")).reachable
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    assert await state.queues.claim(HOTLINE, "linear", instance="i1") is not None


async def test_skipped_agent_is_not_claimed_again_for_that_call_but_serves_the_next(
    state: StateLayer, clock: Clock
) -> None:
    """After a voicemail answered for her, the same citizen is not offered to her again; the next citizen is."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    first = await state.queues.claim(HOTLINE, "linear", instance="i1")
    assert first is not None and first.agent_id == "1001"
    assert await state.queues.skip_agent("c1", "1001")
    await state.queues.release_no_answer("c1", "1001")
    assert await state.queues.claim(HOTLINE, "linear", instance="i1") is None  # c1 keeps waiting, no loop
    assert await state.queues.position("c1") == 1
    clock.advance(1)
    await state.queues.enqueue("c2", HOTLINE, owner="i1")
    nxt = await state.queues.claim(HOTLINE, "linear", instance="i1")
    assert nxt is not None and (nxt.call_id, nxt.agent_id) == ("c2", "1001")


async def test_skip_is_honoured_by_every_claim_mode_and_leaves_with_the_call(state: StateLayer, clock: Clock) -> None:
    """agent_for_call and call_for_agent never give a call to a skipped agent; the skip set goes with the call."""
    await staff(state, clock, "1001", "1002")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.skip_agent("c1", "1001")
    nxt = await state.queues.claim_agent_for_call("c1", HOTLINE, "linear", [], instance="i1")
    assert nxt is not None and nxt.agent_id == "1002"
    await state.queues.release_no_answer("c1", "1002")
    with pytest.raises(AgentBusy, match="skipped"):
        await state.queues.claim_call_for_agent("c1", "1001", instance="i1")
    assert await state.queues.skipped("c1") == ["1001"]
    await state.queues.leave("c1")
    assert not await state.store.redis.exists(state.store.keys.skip("c1"))
    assert not await state.queues.skip_agent("c1", "1001")  # gone: no orphan key
    assert not await state.store.redis.exists(state.store.keys.skip("c1"))


async def test_head_claim_passes_a_call_nobody_may_take_to_serve_the_one_behind(
    state: StateLayer, clock: Clock
) -> None:
    """Other instances' calls behind a head call whose members are all skipped are not blocked by it."""
    await staff(state, clock, "1001")
    await state.instances.heartbeat("i1", 30)
    await state.instances.heartbeat("i2", 30)
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.skip_agent("c1", "1001")
    clock.advance(1)
    await state.queues.enqueue("c2", HOTLINE, owner="i2")
    claim = await state.queues.claim(HOTLINE, "linear", instance="i2")
    assert claim is not None and claim.call_id == "c2"
    assert (await state.agents.get_state("1001")).status is AgentStatus.RINGING
