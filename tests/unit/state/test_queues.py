"""Rule 3: waiting calls per hotline (order, capacity, leave, position, requeue)."""

from __future__ import annotations

import pytest

from callcontrol.state import (
    PRIORITY_MAX,
    CallAlreadyQueued,
    CallNotFound,
    CallNotWaiting,
    CallStatus,
    QueueFull,
    StateLayer,
    queue_score,
)

from .helpers import HOTLINE, T0, Clock, staff


async def test_enqueue_returns_position_in_arrival_order(state: StateLayer, clock: Clock) -> None:
    """Calls of equal priority are served in arrival order; enqueue returns the 1-based position."""
    assert await state.queues.enqueue("c1", HOTLINE, owner="i1", caller_masked="+33 6•• •• •• 78") == 1
    clock.advance(1)
    assert await state.queues.enqueue("c2", HOTLINE, owner="i1") == 2
    assert [c.call_id for c in await state.queues.waiting(HOTLINE)] == ["c1", "c2"]
    call = await state.queues.get_call("c1")
    assert call.status is CallStatus.WAITING and call.enqueued_at == T0 and call.owner == "i1"
    assert call.caller_masked == "+33 6•• •• •• 78"


async def test_higher_priority_goes_first(state: StateLayer, clock: Clock) -> None:
    """A higher priority is served before earlier arrivals of a lower priority."""
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    clock.advance(60)
    assert await state.queues.enqueue("vip", HOTLINE, owner="i1", priority=5) == 1
    assert await state.queues.position("c1") == 2


def test_score_encoding_orders_priority_then_arrival_and_stays_exact() -> None:
    """Scores: priority dominates, arrival in ms breaks ties, and the largest score is exact in a double."""
    assert queue_score(1, T0 + 1000) < queue_score(0, T0)
    assert queue_score(0, T0) < queue_score(0, T0 + 0.001)
    biggest = queue_score(0, 9_999_999_999.999)
    assert biggest < 2**53 and float(biggest) == biggest
    with pytest.raises(ValueError):
        queue_score(PRIORITY_MAX + 1, T0)


async def test_enqueue_refuses_when_full(state: StateLayer) -> None:
    """enqueue raises QueueFull once max_length calls wait; a departure frees a place."""
    await state.queues.enqueue("c1", HOTLINE, owner="i1", max_length=2)
    await state.queues.enqueue("c2", HOTLINE, owner="i1", max_length=2)
    with pytest.raises(QueueFull):
        await state.queues.enqueue("c3", HOTLINE, owner="i1", max_length=2)
    await state.queues.leave("c1")
    assert await state.queues.enqueue("c3", HOTLINE, owner="i1", max_length=2) == 2


async def test_enqueue_twice_is_idempotent_but_not_across_hotlines(state: StateLayer) -> None:
    """Re-enqueueing a waiting call returns its position; enqueueing it on another hotline is refused."""
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.enqueue("c2", HOTLINE, owner="i1")
    assert await state.queues.enqueue("c1", HOTLINE, owner="i1") == 1
    with pytest.raises(CallAlreadyQueued):
        await state.queues.enqueue("c1", "urba", owner="i1")


async def test_leave_removes_at_once(state: StateLayer) -> None:
    """A citizen who hangs up leaves the queue at once; the others move up; leaving twice is harmless."""
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.enqueue("c2", HOTLINE, owner="i1")
    await state.queues.leave("c1")
    assert await state.queues.position("c2") == 1
    with pytest.raises(CallNotFound):
        await state.queues.position("c1")
    assert await state.queues.leave("c1") == ()
    assert await state.queues.length(HOTLINE) == 1


async def test_leave_while_offered_frees_ringing_agent(state: StateLayer, clock: Clock) -> None:
    """A citizen hanging up while an agent rings frees that agent (available, no miss)."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.claim(HOTLINE, "linear", instance="i1")
    assert await state.queues.leave("c1") == ("1001",)
    s = await state.agents.get_state("1001")
    assert s.status.value == "available" and s.reserved_by is None and s.missed == 0


async def test_requeue_restores_original_place(state: StateLayer, clock: Clock) -> None:
    """After a failed attempt a call goes back before later arrivals (its original arrival score)."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    clock.advance(1)
    await state.queues.enqueue("c2", HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, "linear", instance="i1")
    assert claim is not None and claim.call_id == "c1"
    assert await state.queues.position("c2") == 1
    clock.advance(30)
    assert await state.queues.requeue("c1") == 1
    assert (await state.queues.get_call("c1")).status is CallStatus.WAITING
    assert (await state.agents.get_state("1001")).reserved_by is None


async def test_position_of_offered_call_is_not_waiting(state: StateLayer, clock: Clock) -> None:
    """position() of a call being offered raises CallNotWaiting."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.claim(HOTLINE, "linear", instance="i1")
    with pytest.raises(CallNotWaiting, match="offered"):
        await state.queues.position("c1")


async def test_requeue_connected_call_is_refused(state: StateLayer, clock: Clock) -> None:
    """A connected call cannot be requeued; an unknown one is CallNotFound."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.claim(HOTLINE, "linear", instance="i1")
    await state.queues.connect("c1", "1001")
    with pytest.raises(CallNotWaiting):
        await state.queues.requeue("c1")
    with pytest.raises(CallNotFound):
        await state.queues.requeue("nope")


async def test_ids_with_separators_are_refused(state: StateLayer) -> None:
    """Call and hotline ids that could collide in key names are refused before touching Redis."""
    with pytest.raises(ValueError):
        await state.queues.enqueue("c:1", HOTLINE, owner="i1")
    with pytest.raises(ValueError):
        await state.queues.enqueue("c1", "etat civil", owner="i1")
