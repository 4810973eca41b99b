"""The distributor claims only for calls that wait for an agent: a call of ours whose agent rings cannot be served
by a claim (the claim script took it out of the waiting zset), and a call whose agent did not answer waits again
and is claimed for at once when an agent becomes free."""

from __future__ import annotations

import asyncio

import pytest

from callcontrol.routing.dialer import LegResult
from callcontrol.state import Device

from .kit import HOTLINE, StubAri, StubDialer, citizen, eventually, make_router, staff

pytestmark = pytest.mark.looptime


def count_claims(layer) -> list[str]:
    """The hotlines the distributor's claims (head mode) were made for, in order."""
    made: list[str] = []
    claim = layer.queues.claim

    async def counted(hotline, strategy, **kwargs):
        made.append(hotline)
        return await claim(hotline, strategy, **kwargs)

    layer.queues.claim = counted
    return made


async def test_given_a_citizen_whose_agent_rings_when_another_agent_becomes_free_then_no_claim_is_made(state):
    """Alice's phone rings for the only waiting citizen; Bruno logging in publishes agent_available, and no claim is
    made for it (none could find a citizen: before, one Lua script per released agent at 10 calls/s)."""
    layer, redis = state
    await staff(layer, "alice", "bruno")
    await layer.agents.logout("bruno")
    ari, dialer = StubAri(), StubDialer({}, delay=3.0)
    router, distributor = make_router(layer, redis, dialer, ari, announce_interval=0, wrap_up=0)
    listening = asyncio.create_task(distributor.run())
    try:
        await asyncio.sleep(0.05)  # subscribed
        claims = count_claims(layer)
        task = asyncio.create_task(router.enqueue(citizen(ari), HOTLINE))
        await eventually(lambda: dialer.rung)
        await layer.agents.login("bruno", Device.SOFTPHONE)
        await asyncio.sleep(1.0)
        assert claims == []
        assert [agent for agent, _ in dialer.rung] == ["alice"]
        task.cancel()
    finally:
        listening.cancel()


async def test_given_a_citizen_back_in_the_queue_after_a_no_answer_when_an_agent_frees_up_then_she_is_rung_at_once(
    state,
):
    """Alice did not answer (paused after one miss) and nobody else is free: the citizen waits again, so Bruno
    logging in is claimed for her at once (not at the next 5 s safety sweep)."""
    layer, redis = state
    await staff(layer, "alice", "bruno")
    await layer.agents.logout("bruno")
    ari, dialer = StubAri(), StubDialer({"alice": LegResult.NO_ANSWER}, delay=1.0)
    router, distributor = make_router(layer, redis, dialer, ari, announce_interval=0, wrap_up=0, max_misses=1)
    listening = asyncio.create_task(distributor.run())
    try:
        await asyncio.sleep(0.05)
        task = asyncio.create_task(router.enqueue(citizen(ari), HOTLINE))
        await eventually(lambda: dialer.rung)
        await asyncio.sleep(1.5)  # alice rang out; the citizen waits again
        await layer.agents.login("bruno", Device.SOFTPHONE)
        freed_at = asyncio.get_running_loop().time()
        await eventually(lambda: len(dialer.rung) == 2, timeout=1.0)
        assert dialer.rung[1][0] == "bruno" and dialer.rung[1][1] - freed_at < 0.5
        task.cancel()
    finally:
        listening.cancel()
