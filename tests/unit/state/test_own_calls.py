"""An agent's own call in presence (presence.lua own_call_begin / own_call_end): busy to the queues meanwhile,
her previous state back afterwards."""

from __future__ import annotations

import pytest

from callcontrol.state import AgentBusy, AgentStatus, Device, StateLayer, Strategy

from .helpers import HOTLINE, Clock, staff


async def test_agent_on_her_own_call_is_offered_no_hotline_call_and_is_available_after(
    state: StateLayer, clock: Clock
) -> None:
    """While on her own call she is on_call and a waiting citizen is not claimed for her; at its end she is
    available again and agent_available lets the queue offer her that citizen."""
    await staff(state, clock, "1001")
    marked = await state.agents.begin_own_call("1001", "own-1")
    assert marked.status is AgentStatus.ON_CALL
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    assert await state.queues.claim(HOTLINE, Strategy.LONGEST_IDLE, instance="i1") is None
    with pytest.raises(AgentBusy):
        await state.agents.pause("1001", "lunch")  # on a call: like any call
    clock.advance(30)
    back = await state.agents.end_own_call("1001", "own-1")
    assert back.status is AgentStatus.AVAILABLE and back.idle_since == clock.t
    claim = await state.queues.claim(HOTLINE, Strategy.LONGEST_IDLE, instance="i1")
    assert claim is not None and claim.agent_id == "1001"


async def test_previous_state_comes_back_and_other_calls_end_nothing(state: StateLayer, clock: Clock) -> None:
    """A paused agent is paused again (same reason), a logged-out one logged out; ending another call id is a
    no-op, and so is a second end."""
    await staff(state, clock, "1001", "1002")
    await state.agents.pause("1001", "lunch")
    await state.agents.begin_own_call("1001", "own-1")
    assert (await state.agents.end_own_call("1001", "own-2")).status is AgentStatus.ON_CALL
    back = await state.agents.end_own_call("1001", "own-1")
    assert (back.status, back.pause_reason) == (AgentStatus.PAUSED, "lunch")
    assert (await state.agents.end_own_call("1001", "own-1")).status is AgentStatus.PAUSED

    await state.agents.logout("1002")
    await state.agents.begin_own_call("1002", "own-3")
    assert (await state.agents.end_own_call("1002", "own-3")).status is AgentStatus.LOGGED_OUT


async def test_ringing_or_busy_agent_cannot_be_marked_and_an_expired_wrap_up_ends_available(
    state: StateLayer, clock: Clock
) -> None:
    """Ringing for a citizen or already on a call: AgentBusy; a wrap-up that expired during the call ends in
    available (its timer found her on_call and did nothing)."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.claim(HOTLINE, Strategy.LONGEST_IDLE, instance="i1")
    with pytest.raises(AgentBusy):
        await state.agents.begin_own_call("1001", "own-1")
    await state.queues.connect("c1", "1001")
    await state.queues.release("1001", wrap_up_seconds=10)
    await state.agents.begin_own_call("1001", "own-1")
    with pytest.raises(AgentBusy):
        await state.agents.begin_own_call("1001", "own-2")
    clock.advance(60)
    back = await state.agents.end_own_call("1001", "own-1")
    assert back.status is AgentStatus.AVAILABLE and back.device is Device.SOFTPHONE
