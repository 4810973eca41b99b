"""The switchboard's actions as the waiting citizen lives them (the owner's distributor hands them to the call's
task): a redirect rings the chosen agent even outside the hotline, a move waits on in the other hotline with the
same waiting time, voicemail ends the wait with the `voicemail` outcome."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import pytest

from callcontrol.ari.models import ChannelDestroyed
from callcontrol.ari.resources import Channel
from callcontrol.clock import Clock
from callcontrol.routing.distributor import Distributor
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.routing.router import HotlineRouter
from callcontrol.routing.switchboard import Switchboard
from callcontrol.state import AgentRecord, Device

from .kit import HOTLINE, INSTANCE, StubAri, StubDialer, citizen, eventually

pytestmark = pytest.mark.looptime
OTHER = "urbanisme"


def setup(layer, dialer: StubDialer, ari: StubAri):
    hotlines = {h: HotlineRouting(id=h, overflow_when_nobody=False, announce_interval=0, max_wait=300, wrap_up=0)
                for h in (HOTLINE, OTHER)}
    clock = Clock(zone=ZoneInfo("Europe/Paris"))
    distributor = Distributor(layer, hotlines, INSTANCE)
    router = HotlineRouter(ari=ari, state=layer, distributor=distributor, dialer=dialer,  # type: ignore[arg-type]
                           hotlines=hotlines, instance_id=INSTANCE, clock=clock)
    return router, distributor, Switchboard(layer, hotlines, clock)


async def agents(layer) -> None:
    await layer.agents.sync_agents([
        AgentRecord(id="alice", name="Alice", softphone="1001", hotlines={HOTLINE: 0}),
        AgentRecord(id="bob", name="Bob", softphone="1002", hotlines={OTHER: 0}),
    ])


async def test_given_a_waiting_citizen_when_redirected_to_an_agent_of_another_hotline_then_she_is_rung(state):
    """Bob serves only urbanisme; redirected to him, the état-civil citizen rings Bob's phone and is answered."""
    layer, _redis = state
    await agents(layer)
    ari, dialer = StubAri(), StubDialer({})
    router, distributor, switchboard = setup(layer, dialer, ari)
    listening = asyncio.create_task(distributor.run())
    await layer.agents.login("bob", Device.SOFTPHONE)  # free, but no état-civil call is ever his by routing
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: any(s.step == "queue:waiting" for s in call.path))
    await asyncio.sleep(6)  # sweeps pass: nobody of état civil is free, Bob is not rung by routing
    assert not dialer.rung
    done = await switchboard.redirect("c1", "bob")
    assert done.agent_id == "bob" and [a for a, _ in dialer.rung] == ["bob"]
    await eventually(lambda: ari.named("add_channel"))
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="leg-bob")))
    assert await asyncio.wait_for(task, 5) == "answered" and call.facts.agent == "bob"
    await call.cleanup()
    listening.cancel()


async def test_given_a_waiting_citizen_when_moved_then_the_other_hotline_answers_with_the_waiting_time_kept(state):
    """Moved after 40 s to urbanisme, the citizen is given to Bob who logs in there; the wait counts from the start."""
    layer, _redis = state
    await agents(layer)
    ari, dialer = StubAri(), StubDialer({})
    router, distributor, switchboard = setup(layer, dialer, ari)
    listening = asyncio.create_task(distributor.run())
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: any(s.step == "queue:waiting" for s in call.path))
    await asyncio.sleep(40)
    await switchboard.move("c1", OTHER)
    await eventually(lambda: call.facts.hotline == OTHER)
    assert [c.call_id for c in await switchboard.calls(OTHER)] == ["c1"]
    await layer.agents.login("bob", Device.SOFTPHONE)
    await eventually(lambda: ari.named("add_channel"), timeout=5)
    assert [a for a, _ in dialer.rung] == ["bob"] and call.facts.wait >= 40
    assert any(s.step == "queue:moved" and s.detail["moved_from"] == HOTLINE for s in call.path)
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="leg-bob")))
    assert await asyncio.wait_for(task, 5) == "answered"
    await call.cleanup()
    listening.cancel()


async def test_given_a_waiting_citizen_when_sent_to_voicemail_then_the_wait_ends_with_voicemail(state):
    """Sent to voicemail, the citizen leaves the queue at once with the `voicemail` outcome (the flow's mailbox)."""
    layer, _redis = state
    await agents(layer)
    ari, dialer = StubAri(), StubDialer({})
    router, distributor, switchboard = setup(layer, dialer, ari)
    listening = asyncio.create_task(distributor.run())
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: any(s.step == "queue:waiting" for s in call.path))
    await switchboard.voicemail("c1")
    assert await asyncio.wait_for(task, 5) == "voicemail"
    assert await layer.queues.length(HOTLINE) == 0 and call.facts.queue_result == "voicemail"
    listening.cancel()
