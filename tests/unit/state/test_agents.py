"""Rules 1-2: agent directory sync and presence transitions."""

from __future__ import annotations

import pytest

from callcontrol.state import (
    AgentBusy,
    AgentNotFound,
    AgentRecord,
    AgentStatus,
    Device,
    DeviceNotConfigured,
    InvalidTransition,
    StateLayer,
)

from .helpers import HOTLINE, T0, Clock, agent, staff


async def test_sync_writes_static_data_and_memberships(state: StateLayer) -> None:
    """sync_agents stores each agent's record and a per-hotline member zset scored by penalty."""
    result = await state.agents.sync_agents([
        AgentRecord("1001", "Marie", softphone="1001", mobile="+33612345678", hotlines={"etat-civil": 0, "urba": 2},
                    pin_hash="h1"),
        AgentRecord("1002", "Paul", softphone="1002", hotlines={"etat-civil": 1}),
    ])
    assert result.added == ("1001", "1002") and result.removed == ()
    record = await state.agents.get_record("1001")
    assert record == AgentRecord("1001", "Marie", "1001", "+33612345678", {"etat-civil": 0, "urba": 2}, "h1")
    assert await state.agents.members("etat-civil") == [("1001", 0), ("1002", 1)]
    assert await state.agents.members("urba") == [("1001", 2)]
    assert (await state.agents.get_state("1002")).status is AgentStatus.LOGGED_OUT


async def test_sync_removes_unconfigured_agents_and_keeps_presence(state: StateLayer, clock: Clock) -> None:
    """A re-sync drops agents no longer configured and keeps the live presence of the others."""
    await staff(state, clock, "1001", "1002")
    await state.agents.pause("1001", "lunch")
    result = await state.agents.sync_agents([agent("1001", {"urba": 3})])
    assert result.removed == ("1002",) and result.added == ()
    with pytest.raises(AgentNotFound):
        await state.agents.get_state("1002")
    kept = await state.agents.get_state("1001")
    assert kept.status is AgentStatus.PAUSED and kept.pause_reason == "lunch"
    assert await state.agents.members(HOTLINE) == []
    assert await state.agents.members("urba") == [("1001", 3)]
    assert await state.agents.agent_ids() == ["1001"]


async def test_sync_logs_out_agent_whose_device_was_removed(state: StateLayer) -> None:
    """An agent logged in on a mobile that is no longer configured is logged out by the sync."""
    await state.agents.sync_agents([agent("1001", mobile=True)])
    await state.agents.login("1001", Device.MOBILE)
    await state.agents.sync_agents([agent("1001", mobile=False)])
    assert (await state.agents.get_state("1001")).status is AgentStatus.LOGGED_OUT


async def test_record_validates_ids_and_penalties() -> None:
    """Agent and hotline ids become key parts: whitespace, ':' and negative penalties are refused."""
    with pytest.raises(ValueError):
        AgentRecord("10 01", "x")
    with pytest.raises(ValueError):
        AgentRecord("1001", "x", hotlines={"a:b": 0})
    with pytest.raises(ValueError):
        AgentRecord("1001", "x", hotlines={"ab": -1})


async def test_login_makes_available_on_device(state: StateLayer) -> None:
    """login: logged_out -> available on the device, idle since now, misses reset."""
    await state.agents.sync_agents([agent("1001")])
    s = await state.agents.login("1001", Device.SOFTPHONE)
    assert s.status is AgentStatus.AVAILABLE and s.device is Device.SOFTPHONE
    assert s.idle_since == T0 and s.changed_at == T0 and s.missed == 0


async def test_login_refuses_unconfigured_device_and_unknown_agent(state: StateLayer) -> None:
    """login fails clearly on a device the agent does not have, or an agent not in the directory."""
    await state.agents.sync_agents([agent("1001")])
    with pytest.raises(DeviceNotConfigured, match="mobile"):
        await state.agents.login("1001", Device.MOBILE)
    with pytest.raises(AgentNotFound, match="9999"):
        await state.agents.login("9999", Device.SOFTPHONE)


async def test_pause_unpause_and_logout(state: StateLayer, clock: Clock) -> None:
    """pause keeps the reason; unpause -> available with a fresh idle time; logout -> logged_out."""
    await staff(state, clock, "1001")
    paused = await state.agents.pause("1001", "meeting")
    assert paused.status is AgentStatus.PAUSED and paused.pause_reason == "meeting"
    unpaused = await state.agents.unpause("1001")
    assert unpaused.status is AgentStatus.AVAILABLE and unpaused.pause_reason is None
    assert unpaused.idle_since == clock.t
    out = await state.agents.logout("1001")
    assert out.status is AgentStatus.LOGGED_OUT and out.device is None
    assert (await state.agents.logout("1001")).status is AgentStatus.LOGGED_OUT


async def test_pause_logged_out_agent_is_invalid(state: StateLayer) -> None:
    """Pausing a logged-out agent is an InvalidTransition that names the state."""
    await state.agents.sync_agents([agent("1001")])
    with pytest.raises(InvalidTransition, match="logged_out"):
        await state.agents.pause("1001", "lunch")


async def test_busy_agent_cannot_logout_or_pause(state: StateLayer, clock: Clock) -> None:
    """A ringing or on-call agent cannot log out, pause or change device (AgentBusy)."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.claim(HOTLINE, "longest_idle", instance="i1")
    with pytest.raises(AgentBusy, match="ringing"):
        await state.agents.logout("1001")
    await state.queues.connect("c1", "1001")
    with pytest.raises(AgentBusy, match="on_call"):
        await state.agents.pause("1001", "lunch")
    with pytest.raises(AgentBusy):
        await state.agents.login("1001", Device.SOFTPHONE)


async def test_wrap_up_then_end(state: StateLayer, clock: Clock) -> None:
    """set_wrap_up records the until-time; end_wrap_up -> available and is harmless when repeated."""
    await staff(state, clock, "1001")
    s = await state.agents.set_wrap_up("1001", clock.t + 30)
    assert s.status is AgentStatus.WRAP_UP and s.wrap_up_until == clock.t + 30
    assert not s.is_free(clock.t) and s.is_free(clock.t + 30)
    assert (await state.agents.end_wrap_up("1001")).status is AgentStatus.AVAILABLE
    assert (await state.agents.end_wrap_up("1001")).status is AgentStatus.AVAILABLE


async def test_record_miss_counts_and_auto_pauses(state: StateLayer, clock: Clock) -> None:
    """record_miss returns the new count and auto-pauses with reason no_answer at N; reset clears it."""
    await staff(state, clock, "1001")
    assert await state.agents.record_miss("1001", 3) == 1
    assert await state.agents.record_miss("1001", 3) == 2
    assert (await state.agents.get_state("1001")).status is AgentStatus.AVAILABLE
    assert await state.agents.record_miss("1001", 3) == 3
    s = await state.agents.get_state("1001")
    assert s.status is AgentStatus.PAUSED and s.pause_reason == "no_answer"
    assert (await state.agents.reset_misses("1001")).missed == 0


async def test_unpause_resets_misses(state: StateLayer, clock: Clock) -> None:
    """An agent auto-paused for no-answers comes back from unpause with a clean miss count."""
    await staff(state, clock, "1001")
    await state.agents.record_miss("1001", 1)
    assert (await state.agents.unpause("1001")).missed == 0


async def test_states_lists_all_agents(state: StateLayer, clock: Clock) -> None:
    """states() returns the presence of every configured agent in id order."""
    await staff(state, clock, "1002", "1001")
    assert [s.agent_id for s in await state.agents.states()] == ["1001", "1002"]


async def test_sync_removing_ringing_agent_requeues_call(state: StateLayer, clock: Clock) -> None:
    """Removing an agent who was ringing for a call puts that call back at its place in the queue."""
    await staff(state, clock, "1001", "1002")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.claim_call_for_agent("c1", "1001", instance="i1")
    await state.agents.sync_agents([agent("1002")])
    assert await state.queues.position("c1") == 1
