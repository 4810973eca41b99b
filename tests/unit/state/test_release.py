"""Rule 5: connect, release, release_no_answer (idempotent where it makes sense)."""

from __future__ import annotations

import pytest

from callcontrol.state import AgentStatus, CallNotFound, InvalidTransition, StateLayer

from .helpers import HOTLINE, Clock, staff


async def _ringing(state: StateLayer, clock: Clock, *agents: str, call: str = "c1") -> None:
    await staff(state, clock, *agents)
    await state.queues.enqueue(call, HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, "linear", instance="i1")
    assert claim is not None and claim.call_id == call


async def test_connect_moves_ringing_to_on_call_and_resets_misses(state: StateLayer, clock: Clock) -> None:
    """connect: ringing -> on_call, connected_at set, consecutive misses reset; twice is harmless."""
    await _ringing(state, clock, "1001")
    await state.agents.record_miss("1001", 0)
    s = await state.queues.connect("c1", "1001")
    assert s.status is AgentStatus.ON_CALL and s.connected_at == clock.t and s.missed == 0
    assert (await state.queues.connect("c1", "1001")).status is AgentStatus.ON_CALL


async def test_connect_requires_the_reservation(state: StateLayer, clock: Clock) -> None:
    """Only the agent ringing for that call can be connected to it."""
    await _ringing(state, clock, "1001", "1002")
    with pytest.raises(InvalidTransition, match="connect to call c1"):
        await state.queues.connect("c1", "1002")
    with pytest.raises(InvalidTransition):
        await state.queues.connect("other", "1001")


async def test_release_with_wrap_up(state: StateLayer, clock: Clock) -> None:
    """release: on_call -> wrap_up until now+N, reservation cleared, last_call_end stored, call entry gone."""
    await _ringing(state, clock, "1001")
    await state.queues.connect("c1", "1001")
    end = clock.advance(120)
    s = await state.queues.release("1001", wrap_up_seconds=30)
    assert s.status is AgentStatus.WRAP_UP and s.wrap_up_until == end + 30
    assert s.reserved_by is None and s.last_call_end == end and s.idle_since == end
    with pytest.raises(CallNotFound):
        await state.queues.get_call("c1")
    assert await state.journal.handling_times(HOTLINE) == [120.0]


async def test_release_without_wrap_up_is_available_and_idempotent(state: StateLayer, clock: Clock) -> None:
    """release with 0 wrap-up -> available; a second release changes nothing."""
    await _ringing(state, clock, "1001")
    await state.queues.connect("c1", "1001")
    first = await state.queues.release("1001")
    assert first.status is AgentStatus.AVAILABLE
    clock.advance(10)
    assert await state.queues.release("1001") == first


async def test_release_after_citizen_left(state: StateLayer, clock: Clock) -> None:
    """The citizen hanging up first (leave) does not disturb the on-call agent's later release."""
    await _ringing(state, clock, "1001")
    await state.queues.connect("c1", "1001")
    await state.queues.leave("c1")
    assert (await state.agents.get_state("1001")).status is AgentStatus.ON_CALL
    assert (await state.queues.release("1001")).status is AgentStatus.AVAILABLE


async def test_release_of_ringing_agent_requeues_call(state: StateLayer, clock: Clock) -> None:
    """Cancelling a ringing agent leg frees the agent and puts the call back at its place."""
    await _ringing(state, clock, "1001")
    s = await state.queues.release("1001")
    assert s.status is AgentStatus.AVAILABLE and s.missed == 0
    assert await state.queues.position("c1") == 1


async def test_release_no_answer_records_miss_and_requeues(state: StateLayer, clock: Clock) -> None:
    """No answer: agent available at the back of the idle order, miss counted, call back at its place."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    clock.advance(1)
    await state.queues.enqueue("c2", HOTLINE, owner="i1")
    await state.queues.claim(HOTLINE, "linear", instance="i1")
    clock.advance(20)
    result = await state.queues.release_no_answer("c1", "1001", max_misses=3)
    assert result.missed == 1 and not result.auto_paused and result.requeued
    assert result.agent.status is AgentStatus.AVAILABLE and result.agent.idle_since == clock.t
    assert await state.queues.position("c1") == 1
    again = await state.queues.release_no_answer("c1", "1001", max_misses=3)
    assert again.missed == 1 and not again.requeued  # second call: harmless


async def test_release_no_answer_auto_pauses_at_threshold(state: StateLayer, clock: Clock) -> None:
    """The N-th consecutive no-answer auto-pauses the agent with reason no_answer."""
    await _ringing(state, clock, "1001")
    result = await state.queues.release_no_answer("c1", "1001", max_misses=1)
    assert result.auto_paused and result.agent.status is AgentStatus.PAUSED
    assert result.agent.pause_reason == "no_answer"


async def test_ring_all_no_answer_keeps_call_offered_while_others_ring(state: StateLayer, clock: Clock) -> None:
    """With ring_all, one agent's no-answer does not requeue the call while others still ring."""
    await staff(state, clock, "1001", "1002")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.claim(HOTLINE, "ring_all", instance="i1")
    assert not (await state.queues.release_no_answer("c1", "1001")).requeued
    assert (await state.queues.get_call("c1")).agents == ("1002",)
    assert (await state.queues.release_no_answer("c1", "1002")).requeued
