"""Ring-all losers: told the call is taken, and offered nothing while their leg is still up."""

from __future__ import annotations

import asyncio

import pytest

from callcontrol.ari.models import Channel, ChannelDestroyed
from callcontrol.routing.dialer import LegResult
from callcontrol.state.models import AgentStatus

from .kit import HOTLINE, StubAri, StubDialer, citizen, eventually, make_router, staff

pytestmark = pytest.mark.looptime


async def test_given_ring_all_when_loser_answered_then_she_is_dismissed_and_offered_nothing_until_her_leg_is_gone(
    state,
):
    """An agent who answered but lost the race is dismissed ("appel déjà pris", then hung up) and stays reserved
    meanwhile: the next citizen is not offered to her until her leg is gone; a loser still ringing is dismissed
    too, without the prompt."""
    layer, redis = state
    await staff(layer, "alice", "bruno", "chloe")
    ari = StubAri()
    dialer = StubDialer({"alice": LegResult.NO_ANSWER, "chloe": LegResult.NO_ANSWER}, delay=0.5)
    dialer.delays = {"bruno": 0.1}  # bruno's whisper ends first
    dialer.answered = {"alice"}  # alice answered too, and hears her whisper when bruno wins
    dialer.dismiss_delay = 1.5  # the prompt, then the hangup
    router, distributor = make_router(layer, redis, dialer, ari, strategy="ring_all", wrap_up=0)
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: ari.named("add_channel"))
    assert (await layer.agents.get_state("alice")).status is AgentStatus.RINGING  # hearing "appel déjà pris"
    second = citizen(ari, "c2")
    other = asyncio.create_task(router.enqueue(second, HOTLINE))
    await asyncio.sleep(0.5)
    assert [a for a, _ in dialer.rung].count("alice") == 1  # not rung again while her leg is up
    await eventually(lambda: len(dialer.dismissed) == 2, timeout=3)
    assert sorted(answered for _leg, answered in dialer.dismissed) == [False, True]  # alice heard it, chloe not
    await asyncio.sleep(0.01)
    assert (await layer.agents.get_state("alice")).status is AgentStatus.AVAILABLE
    await distributor.offer_now(HOTLINE)  # what her agent_available triggers
    await eventually(lambda: [a for a, _ in dialer.rung].count("alice") == 2, timeout=3)  # free again: offered
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="leg-bruno")))
    assert await asyncio.wait_for(task, 2) == "answered"
    other.cancel()


async def test_given_two_agents_accept_in_the_same_instant_then_the_second_hears_call_taken(state):
    """Two legs accepted at once: one gets the citizen, the other agent is told the call is taken, dismissed
    and freed; nobody stays reserved for a call she does not have."""
    layer, redis = state
    await staff(layer, "alice", "bruno")
    ari = StubAri()
    dialer = StubDialer({}, delay=0.2)  # both accept at the same instant
    router, _ = make_router(layer, redis, dialer, ari, strategy="ring_all", wrap_up=0)
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: ari.named("add_channel"))
    winner = call.facts.agent
    loser = "bruno" if winner == "alice" else "alice"
    assert dialer.told_taken == [f"leg-{loser}"]
    await eventually(lambda: dialer.dismissed)
    await asyncio.sleep(0.01)
    assert (await layer.agents.get_state(loser)).status is AgentStatus.AVAILABLE
    assert (await layer.agents.get_state(winner)).status is AgentStatus.ON_CALL
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id=f"leg-{winner}")))
    assert await asyncio.wait_for(task, 2) == "answered"
