"""Issue 11: callbacks that keep the citizen's place (state/callbacks.py, scripts/callback.lua)."""

from __future__ import annotations

from callcontrol.state import AgentStatus, CallStatus, StateLayer, Strategy
from callcontrol.state.callbacks import CALLBACK_OWNER

from .helpers import HOTLINE, Clock, staff

NUMBER = "+33612345678"


async def _kept(state: StateLayer, clock: Clock, call_id: str = "c1", **kw) -> None:
    await state.queues.enqueue(call_id, HOTLINE, owner="i1", caller_masked="+33 6•• •• •• 78")
    await state.callbacks.keep(
        call_id, NUMBER, deadline=kw.get("deadline", clock.t + 3600), retries=kw.get("retries", 2),
        retry_delay=kw.get("retry_delay", 60),
    )  # fmt: skip


async def test_kept_callback_stays_at_its_place_ahead_of_later_callers(state: StateLayer, clock: Clock) -> None:
    """A callback keeps the entry and its score: a citizen arriving later is still behind it."""
    await _kept(state, clock)
    clock.advance(5)
    await state.queues.enqueue("c2", HOTLINE, owner="i1")
    assert [c.call_id for c in await state.queues.waiting(HOTLINE)] == ["c1", "c2"]
    call = await state.queues.get_call("c1")
    assert call.owner == CALLBACK_OWNER and call.status is CallStatus.WAITING
    record = await state.callbacks.get("c1")
    assert record is not None and (record.number, record.hotline, record.attempts) == (NUMBER, HOTLINE, 0)


async def test_any_live_instance_claims_a_callback_and_reserves_its_agent(state: StateLayer, clock: Clock) -> None:
    """The callback has no channel: another instance than the citizen's claims it, and the agent is reserved for
    that instance (a take-over of it frees her)."""
    await staff(state, clock, "1001")
    await state.instances.heartbeat("i2", 30, app="app-2")
    await _kept(state, clock)
    claim = await state.queues.claim(HOTLINE, Strategy.LONGEST_IDLE, instance="i2")
    assert claim is not None and (claim.call_id, claim.owner) == ("c1", CALLBACK_OWNER)
    presence = await state.agents.get_state("1001")
    assert presence.status is AgentStatus.RINGING and presence.reserved_owner == "i2"


async def test_keeping_an_offered_call_frees_its_ringing_agent(state: StateLayer, clock: Clock) -> None:
    """The citizen chose the callback while an agent was reserved for them: she is free again, the call waits."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    assert await state.queues.claim(HOTLINE, Strategy.LINEAR, instance="i1") is not None
    await state.callbacks.keep("c1", NUMBER, deadline=clock.t + 600, retries=1, retry_delay=10)
    assert (await state.agents.get_state("1001")).status is AgentStatus.AVAILABLE
    assert await state.queues.position("c1") == 1


async def test_not_reached_is_retried_at_its_place_then_fails(state: StateLayer, clock: Clock) -> None:
    """Citizen not reached: out of the queue until retry_delay, then back ahead of later callers; after the last
    retry the callback is over ("failed") and its number is forgotten."""
    await staff(state, clock, "1001")
    await _kept(state, clock, retries=1, retry_delay=60)
    clock.advance(1)
    await state.queues.enqueue("c2", HOTLINE, owner="i1")
    claim = await state.queues.claim(HOTLINE, Strategy.LINEAR, instance="i1")
    assert claim is not None and claim.call_id == "c1"
    await state.queues.connect("c1", "1001")
    attempt = await state.callbacks.failed("c1")
    await state.queues.release("1001")
    assert attempt.result == "retry" and attempt.record.attempts == 1
    assert (await state.queues.get_call("c1")).status is CallStatus.RETRY
    assert await state.callbacks.due() == []
    clock.advance(61)
    assert await state.callbacks.due() == [HOTLINE]
    assert [c.call_id for c in await state.queues.waiting(HOTLINE)][:1] == ["c1"]
    claim = await state.queues.claim(HOTLINE, Strategy.LINEAR, instance="i1")
    assert claim is not None and claim.call_id == "c1"
    await state.queues.connect("c1", "1001")
    attempt = await state.callbacks.failed("c1")
    assert attempt.result == "failed" and attempt.record.number == NUMBER
    assert await state.callbacks.get("c1") is None
    assert [c.call_id for c in await state.queues.waiting(HOTLINE)] == ["c2"]


async def test_a_retry_past_the_deadline_is_late(state: StateLayer, clock: Clock) -> None:
    """An attempt whose retry would come after the deadline ends the callback as late."""
    await staff(state, clock, "1001")
    await _kept(state, clock, deadline=clock.t + 30, retry_delay=60)
    await state.queues.claim(HOTLINE, Strategy.LINEAR, instance="i1")
    await state.queues.connect("c1", "1001")
    assert (await state.callbacks.failed("c1")).result == "late"


async def test_waiting_callbacks_past_their_deadline_expire_once(state: StateLayer, clock: Clock) -> None:
    """Past its deadline a waiting callback leaves the queue and is returned once (one ticket, whichever instance)."""
    await _kept(state, clock, deadline=clock.t + 10)
    assert await state.callbacks.expired() == []
    clock.advance(11)
    late = await state.callbacks.expired()
    assert [r.call_id for r in late] == ["c1"] and late[0].caller_masked == "+33 6•• •• •• 78"
    assert await state.callbacks.expired() == []
    assert await state.queues.length(HOTLINE) == 0


async def test_done_forgets_the_number(state: StateLayer, clock: Clock) -> None:
    """Reached: the number is not kept; the agent's release ends the entry as for any call."""
    await staff(state, clock, "1001")
    await _kept(state, clock)
    await state.queues.claim(HOTLINE, Strategy.LINEAR, instance="i1")
    await state.queues.connect("c1", "1001")
    await state.callbacks.done("c1")
    await state.queues.release("1001")
    assert await state.callbacks.get("c1") is None and await state.callbacks.pending() == 0
    assert await state.queues.length(HOTLINE) == 0


async def test_a_callback_claimed_by_a_dead_instance_goes_back_to_its_place(state: StateLayer, clock: Clock) -> None:
    """The instance ringing the agent for a callback died (no heartbeat): the callback waits again, agent freed."""
    await staff(state, clock, "1001")
    await _kept(state, clock)
    await state.queues.claim(HOTLINE, Strategy.LINEAR, instance="gone")
    requeued, closed = await state.callbacks.recover()
    assert (requeued, closed) == (["c1"], [])
    assert await state.queues.position("c1") == 1
    assert (await state.agents.get_state("1001")).status is AgentStatus.AVAILABLE
