"""HotlineRouter and Distributor on fakeredis (real Lua scripts) with a stub ARI and a stub dialer: the races
and timings that the integration tests found, reproduced deterministically."""

from __future__ import annotations

import asyncio

import pytest

from callcontrol.ari.models import ChannelDestroyed
from callcontrol.ari.resources import Channel
from callcontrol.routing.dialer import LegResult
from callcontrol.routing.distributor import NOT_YET_WAITING_SECONDS, Offer
from callcontrol.state import Device
from callcontrol.state.errors import CallNotFound
from callcontrol.state.models import AgentStatus

from .kit import HOTLINE, INSTANCE, StubAri, StubDialer, citizen, eventually, make_router, staff

pytestmark = pytest.mark.looptime  # virtual time: the latencies asserted below are deterministic


async def test_given_no_answer_when_distributor_claims_first_then_router_takes_its_offer_instead_of_crashing(state):
    """The no-answer publishes agent_available: a distributor may claim the requeued call before the router does."""
    layer, redis = state
    await staff(layer, "alice", "bruno")
    ari, dialer = StubAri(), StubDialer({"alice": LegResult.NO_ANSWER})
    router, distributor = make_router(layer, redis, dialer, ari, announce_interval=0, wrap_up=0)

    async def distributor_wins() -> None:  # the pub/sub notification is handled while the router restarts MOH
        await distributor.offer_now(HOTLINE)

    ari.on_moh = distributor_wins
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: ari.named("add_channel"))
    assert [agent for agent, _ in dialer.rung] == ["alice", "bruno"]
    assert (await layer.agents.get_state("bruno")).status is AgentStatus.ON_CALL
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="leg-bruno")))
    assert await asyncio.wait_for(task, 2) == "answered"
    assert (await layer.agents.get_state("alice")).missed == 1


async def test_given_announcement_playing_when_agent_frees_up_then_announcement_stops_and_agent_rings_at_once(state):
    """An offer arriving during a position announcement cuts it short: the reserved agent is rung at once."""
    layer, redis = state
    await staff(layer, "alice", logged_in=False)
    ari, dialer = StubAri(), StubDialer({})
    router, distributor = make_router(
        layer, redis, dialer, ari, overflow_when_nobody=False, announce_first=0.01, announce_interval=30, wrap_up=0
    )
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: ari.named("play"))  # the announcement plays; its PlaybackFinished never comes
    playback_id = ari.named("play")[0][2]
    await layer.agents.login("alice", Device.SOFTPHONE)
    freed_at = asyncio.get_running_loop().time()
    await distributor.offer_now(HOTLINE, freed_at)
    await eventually(lambda: dialer.rung, timeout=1.0)
    assert dialer.rung[0][1] - freed_at < 0.5
    assert ("stop_playback", playback_id) in ari.calls
    await eventually(lambda: ari.named("add_channel"))
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="leg-alice")))
    assert await asyncio.wait_for(task, 2) == "answered"


async def test_given_trigger_time_when_distributor_claims_then_offer_carries_it_for_routing_latency(state):
    """routing_latency counts from what triggered the claim (enqueue, agent freed), not from the citizen's arrival."""
    layer, redis = state
    await staff(layer, "alice")
    _router, distributor = make_router(layer, redis, StubDialer({}), StubAri())
    await layer.queues.enqueue("c9", HOTLINE, owner=INSTANCE)
    inbox = distributor.register("c9", HOTLINE)
    await distributor.offer_now(HOTLINE, triggered_at=42.0)
    offer = inbox.get_nowait()
    assert isinstance(offer, Offer) and offer.triggered_at == 42.0 and offer.claim.agent_ids == ("alice",)


async def test_given_waiting_call_when_an_agent_logs_in_elsewhere_then_the_distributor_offers_it_at_once(state):
    """An agent becoming free anywhere (here: a login published on the state events channel) is offered the
    longest-waiting citizen of our instance without polling."""
    layer, redis = state
    await staff(layer, "alice", logged_in=False)
    _router, distributor = make_router(layer, redis, StubDialer({}), StubAri())
    await layer.queues.enqueue("c7", HOTLINE, owner=INSTANCE)
    inbox = distributor.register("c7", HOTLINE)
    listening = asyncio.create_task(distributor.run())
    try:
        await asyncio.sleep(0.05)  # subscribed (the first Resubscribed sweep found no free agent)
        assert inbox.empty()
        await layer.agents.login("alice", Device.SOFTPHONE)
        offer = await asyncio.wait_for(inbox.get(), 2)
        assert offer.claim.call_id == "c7" and offer.claim.agent_ids == ("alice",)
    finally:
        listening.cancel()


async def test_given_a_call_of_ours_not_yet_followed_when_claimed_then_it_keeps_its_place_and_is_offered_once_followed(
    state,
):
    """A call just taken over (or just enqueued) heads the queue before its task waits: it is not thrown out."""
    layer, redis = state
    await staff(layer, "alice")
    _router, distributor = make_router(layer, redis, StubDialer({}), StubAri())
    await layer.queues.enqueue("adopted", HOTLINE, owner=INSTANCE)
    await layer.queues.enqueue("mine", HOTLINE, owner=INSTANCE)
    distributor.register("mine", HOTLINE)
    await distributor.offer_now(HOTLINE)
    assert [c.call_id for c in await layer.queues.waiting(HOTLINE)] == ["adopted", "mine"]
    assert (await layer.agents.get_state("alice")).status is AgentStatus.AVAILABLE
    inbox = distributor.register("adopted", HOTLINE)
    await distributor.offer_now(HOTLINE)
    offer = inbox.get_nowait()
    assert offer.claim.call_id == "adopted" and offer.claim.agent_ids == ("alice",)


async def test_given_a_call_nobody_follows_when_the_grace_is_over_then_it_leaves_the_queue_and_the_next_is_offered(
    state,
):
    """A queue entry no task follows (its citizen hung up, the leave failed) does not block the hotline for long."""
    layer, redis = state
    await staff(layer, "alice")
    _router, distributor = make_router(layer, redis, StubDialer({}), StubAri())
    await layer.queues.enqueue("ghost", HOTLINE, owner=INSTANCE)
    await layer.queues.enqueue("mine", HOTLINE, owner=INSTANCE)
    inbox = distributor.register("mine", HOTLINE)
    await distributor.offer_now(HOTLINE)
    assert inbox.empty()
    await asyncio.sleep(NOT_YET_WAITING_SECONDS + 0.1)
    await distributor.offer_now(HOTLINE)
    assert inbox.get_nowait().claim.call_id == "mine"
    with pytest.raises(CallNotFound):
        await layer.queues.get_call("ghost")


async def test_a_citizen_who_hangs_up_while_her_enqueue_and_claim_are_on_the_way_leaves_no_agent_reserved(state):
    """The agent the enqueue's own claim reserved is free again, and the call is gone, when the citizen hung up
    before the answer came back."""
    layer, redis = state
    await staff(layer, "alice")
    ari, dialer = StubAri(), StubDialer({})
    router, _distributor = make_router(layer, redis, dialer, ari, announce_interval=0)
    real = layer.queues.enqueue_and_claim
    claimed = asyncio.Event()

    async def answer_late(*args, **kwargs):
        result = await real(*args, **kwargs)  # done in Redis: alice reserved for c1
        claimed.set()
        await asyncio.sleep(1)  # the answer still on its way
        return result

    layer.queues.enqueue_and_claim = answer_late  # type: ignore[method-assign]
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await claimed.wait()
    assert (await layer.agents.get_state("alice")).status is AgentStatus.RINGING
    call.hung_up = True  # as the dispatcher marks it on StasisEnd, then cancels the call's task
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await layer.agents.get_state("alice")).status is AgentStatus.AVAILABLE and not dialer.rung
    with pytest.raises(CallNotFound):
        await layer.queues.get_call("c1")
