"""Rule 4: claims and the agent-selection strategies."""

from __future__ import annotations

import pytest

from callcontrol.state import (
    AgentBusy,
    AgentStatus,
    CallNotWaiting,
    CallStatus,
    Device,
    QueueFull,
    StateLayer,
    Strategy,
)

from .helpers import HOTLINE, Clock, agent, staff


async def test_claim_reserves_head_call_and_agent(state: StateLayer, clock: Clock) -> None:
    """claim takes the head call out of the queue and makes the agent ringing, reserved by that call."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, Strategy.LONGEST_IDLE, instance="i1")
    assert claim is not None and (claim.call_id, claim.agent_id, claim.owner) == ("c1", "1001", "i1")
    s = await state.agents.get_state("1001")
    assert s.status is AgentStatus.RINGING and s.reserved_by == "c1" and s.reserved_owner == "i1"
    call = await state.queues.get_call("c1")
    assert call.status is CallStatus.OFFERED and call.agents == ("1001",)
    assert await state.queues.length(HOTLINE) == 0


async def test_claim_returns_none_without_call_or_agent(state: StateLayer, clock: Clock) -> None:
    """No waiting call, or no free member: claim returns None and changes nothing."""
    await staff(state, clock, "1001")
    assert await state.queues.claim(HOTLINE, "linear", instance="i1") is None
    await state.agents.pause("1001", "lunch")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    assert await state.queues.claim(HOTLINE, "linear", instance="i1") is None
    assert await state.queues.position("c1") == 1


async def test_claim_ignores_non_members_and_logged_out(state: StateLayer, clock: Clock) -> None:
    """Only logged-in members of the hotline are offered its calls."""
    await state.agents.sync_agents([agent("1001", {"urba": 0}), agent("1002")])
    await state.agents.login("1001", Device.SOFTPHONE)
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    assert await state.queues.claim(HOTLINE, "linear", instance="i1") is None


async def test_longest_idle_picks_agent_idle_longest(state: StateLayer, clock: Clock) -> None:
    """longest_idle picks the agent whose last call ended (or who became available) the longest ago."""
    await staff(state, clock, "1001", "1002", "1003")
    await state.queues.enqueue("c0", HOTLINE, owner="i1")
    first = await state.queues.claim(HOTLINE, "longest_idle", instance="i1")
    assert first is not None and first.agent_id == "1001"  # logged in first
    await state.queues.connect("c0", "1001")
    clock.advance(10)
    await state.queues.release("1001")  # 1001 now the most recently idle
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    second = await state.queues.claim(HOTLINE, "longest_idle", instance="i1")
    assert second is not None and second.agent_id == "1002"


async def test_longest_idle_prefers_lower_penalty(state: StateLayer, clock: Clock) -> None:
    """longest_idle only looks at the lowest-penalty tier that has a free agent."""
    await staff(state, clock, "1001", "1002", penalties={"1001": 5, "1002": 1})
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, "longest_idle", instance="i1")
    assert claim is not None and claim.agent_id == "1002"


async def test_linear_respects_penalty_then_id(state: StateLayer, clock: Clock) -> None:
    """linear offers members by penalty, then id, skipping the busy ones."""
    await staff(state, clock, "1003", "1001", "1002", penalties={"1003": 0, "1001": 1, "1002": 1})
    for i in range(3):
        await state.queues.enqueue(f"c{i}", HOTLINE, owner="i1")
    picks = [await state.queues.claim(HOTLINE, "linear", instance="i1") for _ in range(3)]
    assert [p.agent_id for p in picks if p] == ["1003", "1001", "1002"]


async def test_round_robin_rotates(state: StateLayer, clock: Clock) -> None:
    """round_robin starts after the last agent chosen (pointer in Redis) and wraps around."""
    await staff(state, clock, "1001", "1002", "1003")
    chosen = []
    for i in range(4):
        await state.queues.enqueue(f"c{i}", HOTLINE, owner="i1")
        claim = await state.queues.claim(HOTLINE, "round_robin", instance="i1")
        assert claim is not None
        chosen.append(claim.agent_id)
        await state.queues.connect(claim.call_id, claim.agent_id)
        await state.queues.release(claim.agent_id)
    assert chosen == ["1001", "1002", "1003", "1001"]


async def test_ring_all_reserves_all_and_release_frees_losers(state: StateLayer, clock: Clock) -> None:
    """ring_all reserves every free member for the call; release_ringall frees all but the winner."""
    await staff(state, clock, "1001", "1002", "1003")
    await state.agents.pause("1003", "lunch")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, "ring_all", instance="i1")
    assert claim is not None and claim.agent_ids == ("1001", "1002")
    assert all(s.reserved_by == "c1" for s in await state.agents.states(["1001", "1002"]))
    assert await state.queues.release_ringall("c1", "1002") == ("1001",)
    assert (await state.agents.get_state("1001")).status is AgentStatus.AVAILABLE
    assert (await state.agents.get_state("1002")).status is AgentStatus.RINGING
    await state.queues.connect("c1", "1002")
    assert (await state.queues.get_call("c1")).status is CallStatus.CONNECTED


async def test_connect_frees_ring_all_losers(state: StateLayer, clock: Clock) -> None:
    """When one ring_all agent answers, the others are freed in the same step."""
    await staff(state, clock, "1001", "1002")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.claim(HOTLINE, "ring_all", instance="i1")
    await state.queues.connect("c1", "1001")
    assert (await state.agents.get_state("1002")).status is AgentStatus.AVAILABLE


async def test_ring_all_without_winner_requeues(state: StateLayer, clock: Clock) -> None:
    """release_ringall with no winner frees everyone and puts the call back at its place."""
    await staff(state, clock, "1001", "1002")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.claim(HOTLINE, "ring_all", instance="i1")
    assert await state.queues.release_ringall("c1", None) == ("1001", "1002")
    assert await state.queues.position("c1") == 1


async def test_claim_call_for_agent(state: StateLayer, clock: Clock) -> None:
    """Switchboard redirect: a given waiting call goes to a given free agent, even out of turn."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.enqueue("c2", HOTLINE, owner="i1")
    claim = await state.queues.claim_call_for_agent("c2", "1001", instance="i1")
    assert (claim.call_id, claim.agent_id) == ("c2", "1001")
    assert await state.queues.position("c1") == 1


async def test_claim_call_for_agent_fails_clearly(state: StateLayer, clock: Clock) -> None:
    """claim_call_for_agent raises AgentBusy for a busy agent and CallNotWaiting for an offered call."""
    await staff(state, clock, "1001", "1002")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.enqueue("c2", HOTLINE, owner="i1")
    await state.queues.claim_call_for_agent("c1", "1001", instance="i1")
    with pytest.raises(AgentBusy, match="ringing"):
        await state.queues.claim_call_for_agent("c2", "1001", instance="i1")
    with pytest.raises(CallNotWaiting, match="offered"):
        await state.queues.claim_call_for_agent("c1", "1002", instance="i1")
    await state.agents.pause("1002", "lunch")
    with pytest.raises(AgentBusy, match="paused"):
        await state.queues.claim_call_for_agent("c2", "1002", instance="i1")


async def test_claim_agent_for_call_excludes_tried_agents(state: StateLayer, clock: Clock) -> None:
    """After a no-answer the dialer gets the next agent, never one in `exclude`."""
    await staff(state, clock, "1001", "1002", "1003")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    first = await state.queues.claim(HOTLINE, "linear", instance="i1")
    assert first is not None and first.agent_id == "1001"
    await state.queues.release_no_answer("c1", "1001")
    nxt = await state.queues.claim_agent_for_call("c1", HOTLINE, "linear", ["1001"], instance="i1")
    assert nxt is not None and nxt.agent_id == "1002"
    await state.queues.release_no_answer("c1", "1002")
    none = await state.queues.claim_agent_for_call("c1", HOTLINE, "linear", ["1001", "1002", "1003"], instance="i1")
    assert none is None and await state.queues.position("c1") == 1


async def test_expired_wrap_up_counts_as_free(state: StateLayer, clock: Clock) -> None:
    """An agent whose wrap-up has expired can be claimed even if nobody called end_wrap_up."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.claim(HOTLINE, "linear", instance="i1")
    await state.queues.connect("c1", "1001")
    await state.queues.release("1001", wrap_up_seconds=30)
    await state.queues.enqueue("c2", HOTLINE, owner="i1")
    assert await state.queues.claim(HOTLINE, "linear", instance="i1") is None
    clock.advance(31)
    claim = await state.queues.claim(HOTLINE, "linear", instance="i1")
    assert claim is not None and claim.agent_id == "1001"
    assert (await state.agents.end_wrap_up("1001")).status is AgentStatus.RINGING  # late timer: harmless


async def test_claim_only_by_owner_of_head_call(state: StateLayer, clock: Clock) -> None:
    """Only the instance owning the head call claims it; others get None, so no instance takes a foreign call."""
    await staff(state, clock, "1001")
    await state.instances.heartbeat("i1", 30)
    await state.instances.heartbeat("i2", 30)
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    clock.advance(1)
    await state.queues.enqueue("c2", HOTLINE, owner="i2")
    assert await state.queues.claim(HOTLINE, "linear", instance="i2") is None
    claim = await state.queues.claim(HOTLINE, "linear", instance="i1")
    assert claim is not None and claim.call_id == "c1"


async def test_claim_skips_calls_of_dead_instances(state: StateLayer, clock: Clock) -> None:
    """A head call whose owner has no heartbeat does not block the queue for the live instances."""
    await staff(state, clock, "1001")
    await state.instances.heartbeat("i2", 30)
    await state.queues.enqueue("c1", HOTLINE, owner="dead")
    clock.advance(1)
    await state.queues.enqueue("c2", HOTLINE, owner="i2")
    claim = await state.queues.claim(HOTLINE, "linear", instance="i2")
    assert claim is not None and claim.call_id == "c2"
    assert await state.queues.position("c1") == 1


async def test_round_robin_pointer_is_shared_between_instances(state: StateLayer, clock: Clock) -> None:
    """The round-robin pointer lives in Redis: a second layer object continues the rotation."""
    await staff(state, clock, "1001", "1002")
    other = StateLayer.create(state.store.redis, clock=clock)
    picks = []
    for i, layer in enumerate([state, other, state]):
        await layer.queues.enqueue(f"c{i}", HOTLINE, owner="i1")
        claim = await layer.queues.claim(HOTLINE, "round_robin", instance="i1")
        assert claim is not None
        picks.append(claim.agent_id)
        await layer.queues.release(claim.agent_id)
    assert picks == ["1001", "1002", "1001"]


async def test_a_claim_carries_what_ringing_its_agent_needs(state: StateLayer, clock: Clock) -> None:
    """The claim hands back each reserved agent's directory record and presence (softphone, device, ringing for
    that call), the same as reading them afterwards: ringing her costs no read of its own."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, Strategy.LONGEST_IDLE, instance="i1")
    assert claim is not None
    record, presence = claim.known["1001"]
    assert (record, presence) == await state.agents.record_and_state("1001")
    assert presence.status is AgentStatus.RINGING and presence.reserved_by == "c1"
    assert presence.device is Device.SOFTPHONE and record.softphone == "1001"


async def test_a_call_queued_while_an_agent_is_free_is_claimed_in_the_same_round_trip(
    state: StateLayer, clock: Clock
) -> None:
    """enqueue_and_claim: queued, and the free agent reserved for this very call (one round trip, no second claim)."""
    await staff(state, clock, "1001")
    position, claim = await state.queues.enqueue_and_claim("c1", HOTLINE, Strategy.LONGEST_IDLE, owner="i1")
    assert position == 1 and claim is not None and (claim.call_id, claim.agent_ids) == ("c1", ("1001",))
    assert claim.known["1001"][0].softphone  # her record comes with it, as with a claim of its own
    assert (await state.queues.get_call("c1")).status is CallStatus.OFFERED
    assert (await state.agents.get_state("1001")).status is AgentStatus.RINGING


async def test_the_claim_with_an_enqueue_takes_only_that_call(state: StateLayer, clock: Clock) -> None:
    """Nobody free: the call just waits (None). A call of ours ahead and an agent free: that other call is left to
    the distributor, the agent stays free. A full queue: QueueFull, and nobody is reserved."""
    _, claim = await state.queues.enqueue_and_claim("c1", HOTLINE, Strategy.LONGEST_IDLE, owner="i1")
    assert claim is None and (await state.queues.get_call("c1")).status is CallStatus.WAITING
    await staff(state, clock, "1001")
    position, claim = await state.queues.enqueue_and_claim("c2", HOTLINE, Strategy.LONGEST_IDLE, owner="i1")
    assert (position, claim) == (2, None)
    assert (await state.agents.get_state("1001")).status is AgentStatus.AVAILABLE
    with pytest.raises(QueueFull):
        await state.queues.enqueue_and_claim("c3", HOTLINE, Strategy.LONGEST_IDLE, owner="i1", max_length=2)
    assert (await state.agents.get_state("1001")).status is AgentStatus.AVAILABLE
