"""The state epoch (state/epoch.py): a Redis that lost its data is told apart from one that kept it, and agents
whose presence it lost are marked `presence_lost` until they log in again."""

from __future__ import annotations

from callcontrol.state import Device
from callcontrol.state.epoch import StateEpoch

from .helpers import agent, staff


async def test_given_an_epoch_when_redis_is_flushed_then_it_is_gone_and_a_new_one_is_claimed(state, redis):
    """The token written at sync stays while Redis keeps its data; a flushed Redis has none, then a new one."""
    epoch = StateEpoch(state.store)
    first = await epoch.claim()
    assert await epoch.claim() == first == await epoch.current()  # a second instance gets the same token
    await redis.flushall()
    assert await epoch.current() is None
    assert await epoch.claim() != first


async def test_given_agents_logged_in_when_presence_is_lost_then_status_says_so_until_they_log_in(state, clock):
    """Agents that were logged in show `presence_lost` as their reason once Redis forgot them; logging in again
    clears it; an agent who logged in again before the mark is left alone."""
    await staff(state, clock, "alice", "bruno")
    epoch = StateEpoch(state.store)
    await state.store.redis.flushall()
    await state.agents.sync_agents([agent("alice"), agent("bruno")])  # the instance syncs again
    await state.agents.login("bruno", Device.SOFTPHONE)  # bruno was quicker than the check
    marked = await epoch.mark_presence_lost(["alice", "bruno", "nobody"])
    assert marked == ["alice"]
    alice = await state.agents.get_state("alice")
    assert alice.status.value == "logged_out" and alice.pause_reason == "presence_lost"
    assert (await state.agents.get_state("bruno")).pause_reason is None
    await state.agents.login("alice", Device.SOFTPHONE)
    assert (await state.agents.get_state("alice")).pause_reason is None

