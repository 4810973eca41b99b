"""Adoption after a restart (routing/resume.py), on fakeredis and a stub ARI: each kind of call found in Stasis
carries on where it was, or runs its flow again, and nobody is left holding an agent."""

from __future__ import annotations

import asyncio

import pytest

from callcontrol.ari.models import ChannelDestroyed
from callcontrol.ari.resources import Bridge, Channel
from callcontrol.state.models import AgentStatus, CallStatus

from .kit import HOTLINE, INSTANCE, StubAri, StubDialer, citizen, eventually, make_router, staff

pytestmark = pytest.mark.looptime
OLD = "old-instance"


async def connected_call(layer, agent: str = "alice") -> None:
    """c1 talking to `agent`, as the previous instance left it in Redis."""
    await layer.queues.enqueue("c1", HOTLINE, owner=OLD)
    await layer.instances.heartbeat(OLD, 30)
    claim = await layer.queues.claim(HOTLINE, "longest_idle", instance=OLD)
    assert claim is not None and claim.agent_ids == (agent,)
    await layer.queues.connect("c1", agent)


async def test_given_waiting_call_when_adopted_then_it_keeps_its_place_and_old_legs_are_hung_up(state):
    """A citizen who was waiting (an agent's phone ringing for them) is ours now, back at their place, and the
    old instance's ringing leg is hung up: the agent is not left ringing for a call nobody follows."""
    layer, redis = state
    await staff(layer, "alice", logged_in=False)
    await layer.queues.enqueue("c0", HOTLINE, owner=OLD)  # an earlier citizen
    await layer.queues.enqueue("c1", HOTLINE, owner=OLD)
    ari = StubAri()
    ari.live_channels = ["c1", "c1-1a2b3c4d"]
    router, _ = make_router(layer, redis, StubDialer({}), ari, overflow_when_nobody=False)
    call = citizen(ari, resumed=True, state="Up")
    task = asyncio.create_task(router.resume(call))
    await eventually(lambda: any(s.step == "queue:resumed" for s in call.path))
    queued = await layer.queues.get_call("c1")
    assert queued.owner == INSTANCE and queued.status is CallStatus.WAITING
    assert await layer.queues.position("c1") == 2
    assert ("hangup", "c1-1a2b3c4d") in ari.calls and ("hangup", "c1") not in ari.calls
    assert call.facts.hotline == HOTLINE and call.facts.waiting
    task.cancel()


async def test_given_conversation_when_adopted_then_bridge_kept_and_agent_released_when_it_ends(state):
    """A citizen talking to an agent stays in their bridge through the restart; when the agent hangs up the call
    is answered and the agent is free again."""
    layer, redis = state
    await staff(layer, "alice")
    await connected_call(layer)
    ari = StubAri()
    ari.live_bridges = [Bridge(id="b1", channels=("c1", "c1-1a2b3c4d"))]
    router, _ = make_router(layer, redis, StubDialer({}), ari, wrap_up=0)
    call = citizen(ari, resumed=True, state="Up")
    task = asyncio.create_task(router.resume(call))
    await eventually(lambda: any(s.step == "connected:resumed" for s in call.path))
    assert "c1-1a2b3c4d" in call.owned_channels and call.facts.agent == "alice"
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="c1-1a2b3c4d")))
    assert await asyncio.wait_for(task, 2) is True
    await call.cleanup()
    assert (await layer.agents.get_state("alice")).status is AgentStatus.AVAILABLE
    assert ("destroy_bridge", "b1") in ari.calls


async def test_given_conversation_whose_agent_left_when_adopted_then_agent_freed_and_flow_runs_again(state):
    """The agent's side hung up while callcontrol was down: the agent is freed and the citizen's flow starts over
    (False), rather than a citizen left alone in a bridge."""
    layer, redis = state
    await staff(layer, "alice")
    await connected_call(layer)
    ari = StubAri()
    ari.live_bridges = [Bridge(id="b1", channels=("c1",))]
    router, _ = make_router(layer, redis, StubDialer({}), ari, wrap_up=0)
    assert await router.resume(citizen(ari, resumed=True, state="Up")) is False
    assert (await layer.agents.get_state("alice")).status is AgentStatus.AVAILABLE
    assert ("destroy_bridge", "b1") in ari.calls
    with pytest.raises(Exception, match="c1"):
        await layer.queues.get_call("c1")


async def test_given_transfer_when_adopted_then_bridge_kept_until_the_far_end_hangs_up(state):
    """A citizen bridged by `transfer` (unknown to the queues) keeps the bridge until either side hangs up."""
    layer, redis = state
    ari = StubAri()
    ari.live_bridges = [Bridge(id="bt", channels=("c1", "c1-t1a2b3c"))]
    router, _ = make_router(layer, redis, StubDialer({}), ari)
    call = citizen(ari, resumed=True, state="Up")
    task = asyncio.create_task(router.resume(call))
    await eventually(lambda: any(s.step == "transfer:resumed" for s in call.path))
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="c1-t1a2b3c")))
    assert await asyncio.wait_for(task, 2) is True


async def test_given_call_in_the_menus_when_adopted_then_its_flow_runs_again(state):
    """A call Redis knows nothing of and that is in no bridge was in the IVR: not resumed (its flow runs again)."""
    layer, redis = state
    ari = StubAri()
    router, _ = make_router(layer, redis, StubDialer({}), ari)
    call = citizen(ari, resumed=True, state="Up")
    assert await router.resume(call) is False
    assert not call.path and not ari.named("hangup")  # nothing touched: the flow starts from the top
