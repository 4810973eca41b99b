"""After a no-answer: a mobile whose voicemail answered is never offered that citizen again; a softphone found
unregistered is not counted a miss and is not rung until it registers again (virtual clock, real Lua scripts)."""

from __future__ import annotations

import asyncio

import pytest

from callcontrol.ari.models import ChannelDestroyed
from callcontrol.ari.resources import Channel
from callcontrol.routing.dialer import LegResult
from callcontrol.state import AgentRecord, Device
from callcontrol.state.models import AgentStatus

from .kit import HOTLINE, StubAri, StubDialer, citizen, eventually, make_router

pytestmark = pytest.mark.looptime


class Registered:
    """The Reachability port, as told by the test."""

    def __init__(self, **registered: bool) -> None:
        self.registered = registered

    async def softphone_registered(self, endpoint: str) -> bool | None:
        return self.registered.get(endpoint)


async def test_given_voicemail_answers_for_a_mobile_when_the_citizen_waits_then_rung_once_and_next_agent_takes_it(
    state,
):
    """The voicemail mobile rings once for this citizen (no loop to auto-pause); the next agent gets the call."""
    layer, redis = state
    await layer.agents.sync_agents(
        [
            AgentRecord(id="damien", name="Damien", mobile="+33612000001", hotlines={HOTLINE: 0}),
            AgentRecord(id="alice", name="Alice", softphone="1001", hotlines={HOTLINE: 0}),
        ]
    )
    await layer.agents.login("damien", Device.MOBILE)
    ari = StubAri()
    dialer = StubDialer({"damien": LegResult.NO_ANSWER}, delay=2.0)
    dialer.answered = {"damien"}
    router, distributor = make_router(layer, redis, dialer, ari, max_wait=300, max_misses=3, wrap_up=0)
    listening = asyncio.create_task(distributor.run())
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: dialer.rung, timeout=5)
    await asyncio.sleep(30)  # plenty of time to loop, had damien stayed eligible for this citizen
    assert [agent for agent, _ in dialer.rung] == ["damien"]
    damien = await layer.agents.get_state("damien")
    assert (damien.status, damien.missed) == (AgentStatus.AVAILABLE, 1)
    assert await layer.queues.skipped("c1") == ["damien"]

    await layer.agents.login("alice", Device.SOFTPHONE)
    await eventually(lambda: ari.named("add_channel"), timeout=10)
    assert [agent for agent, _ in dialer.rung] == ["damien", "alice"]
    assert call.facts.agent == "alice"
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="leg-alice")))
    assert await asyncio.wait_for(task, 5) == "answered"
    await call.cleanup()
    listening.cancel()


async def test_given_softphone_not_registered_when_its_offer_fails_then_no_miss_and_not_rung_until_registered(
    state,
):
    """A failed ring to an unregistered softphone marks it unreachable without a miss; back, it is rung again."""
    layer, redis = state
    await layer.agents.sync_agents([AgentRecord(id="alice", name="Alice", softphone="1001", hotlines={HOTLINE: 0})])
    await layer.agents.login("alice", Device.SOFTPHONE)
    ari = StubAri()
    dialer = StubDialer({"alice": LegResult.FAILED})
    reach = Registered(**{"1001": False})
    router, distributor = make_router(layer, redis, dialer, ari, reach=reach, max_wait=300, max_misses=1)
    listening = asyncio.create_task(distributor.run())
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: dialer.rung, timeout=5)
    await asyncio.sleep(20)
    assert [agent for agent, _ in dialer.rung] == ["alice"]
    alice = await layer.agents.get_state("alice")
    assert (alice.status, alice.missed, alice.reachable) == (AgentStatus.AVAILABLE, 0, False)
    assert any(s.step == "agent:unreachable" for s in call.path)

    dialer.results["alice"] = LegResult.ACCEPTED
    await layer.agents.set_reachable("alice", Device.SOFTPHONE, True)  # what the endpoint watcher does
    await eventually(lambda: ari.named("add_channel"), timeout=10)
    assert [agent for agent, _ in dialer.rung] == ["alice", "alice"]
    task.cancel()
    listening.cancel()
    await asyncio.gather(task, listening, return_exceptions=True)


async def test_given_a_claim_when_the_agent_is_rung_then_no_separate_read_of_her_record(state):
    """The claim script's own read of the agent (record, presence) is what the ring uses: the citizen is connected
    without any record_and_state round trip."""
    layer, redis = state
    await layer.agents.sync_agents([AgentRecord(id="alice", name="Alice", softphone="1001", hotlines={HOTLINE: 0})])
    await layer.agents.login("alice", Device.SOFTPHONE)
    ari, dialer = StubAri(), StubDialer({})
    router, _ = make_router(layer, redis, dialer, ari, max_wait=30, wrap_up=0)

    async def no_read(agent_id: str):
        raise AssertionError(f"read {agent_id} again")

    layer.agents.record_and_state = no_read  # type: ignore[method-assign]
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: ari.named("add_channel"), timeout=5)
    assert [agent for agent, _ in dialer.rung] == ["alice"] and call.facts.agent == "alice"
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_given_asterisk_does_not_answer_the_originate_when_offered_then_no_miss_and_the_next_ring_takes_it(
    state,
):
    """An originate Asterisk never answered (a storm, a restart) is not the agent's miss: never auto-paused for it,
    free again at once, and the citizen, back at her place, is rung to her again."""
    layer, redis = state
    await layer.agents.sync_agents([AgentRecord(id="alice", name="Alice", softphone="1001", hotlines={HOTLINE: 0})])
    await layer.agents.login("alice", Device.SOFTPHONE)
    ari = StubAri()
    dialer = StubDialer({"alice": LegResult.NOT_PLACED}, delay=1.0)
    router, distributor = make_router(layer, redis, dialer, ari, max_wait=300, max_misses=1, wrap_up=0)
    listening = asyncio.create_task(distributor.run())
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: len(dialer.rung) >= 2, timeout=10)  # max_misses 1: a miss would have paused her
    alice = await layer.agents.get_state("alice")
    assert alice.missed == 0 and alice.status is not AgentStatus.PAUSED
    assert "agent:not_placed" in [s.step for s in call.path]
    dialer.results = {}  # Asterisk answers again: the next ring is accepted
    await eventually(lambda: ari.named("add_channel"), timeout=10)
    assert call.facts.agent == "alice"
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="leg-alice")))
    assert await asyncio.wait_for(task, 5) == "answered"
    listening.cancel()
    await call.cleanup()
