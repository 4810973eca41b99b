"""The end of a conversation: the agent is always freed, never while her leg is still up, and a citizen gone before
the bridge was made has not talked to anyone."""

from __future__ import annotations

import asyncio

import pytest

from callcontrol.ari.errors import ChannelGone
from callcontrol.ari.models import Channel
from callcontrol.ari.resources import Bridge
from callcontrol.calls.outcome import Ending, Outcome, decide
from callcontrol.state.models import AgentStatus, Device

from .kit import HOTLINE, StubAri, StubDialer, citizen, eventually, make_router, staff

pytestmark = pytest.mark.looptime


class SlowBridgeAri(StubAri):
    """Asterisk taking its time: the bridge takes 0.5 s to create, and a hung-up leg lingers 0.3 s."""

    def __init__(self) -> None:
        super().__init__()
        self.hung_up_at: dict[str, float] = {}

    async def create_bridge(self, kind: str = "", *, name: str = "", bridge_id: str | None = None) -> Bridge:
        await asyncio.sleep(0.5)
        return await super().create_bridge(kind, name=name, bridge_id=bridge_id)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.hung_up_at.setdefault(channel_id, asyncio.get_running_loop().time())
        await super().hangup(channel_id, reason)

    async def channel(self, channel_id: str) -> Channel:
        since = self.hung_up_at.get(channel_id)
        if since is not None and asyncio.get_running_loop().time() - since >= 0.3:
            raise ChannelGone(404, "Channel not found", "GET", f"/channels/{channel_id}")
        return Channel(id=channel_id)


async def _hang_up_citizen(task: asyncio.Task[str], call) -> None:
    """What the dispatcher does when the citizen hangs up: cancel the call's task, then run its cleanup."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await call.cleanup()


async def test_given_agent_accepted_when_citizen_hangs_up_before_the_bridge_then_agent_freed_and_no_answer(state):
    """A citizen who hangs up while the bridge is being made (the agent has just accepted) frees the agent all the
    same, and the call is not journaled as answered: nobody talked."""
    layer, redis = state
    await staff(layer, "alice")
    ari = SlowBridgeAri()
    router, _ = make_router(layer, redis, StubDialer({}), ari, wrap_up=0)
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: (("moh_on", "c1") in ari.calls) and call.facts.wait is not None)
    await asyncio.sleep(0.1)  # inside create_bridge
    await _hang_up_citizen(task, call)
    assert (await layer.agents.get_state("alice")).status is AgentStatus.AVAILABLE
    assert call.facts.agent is None
    assert decide(Ending.CALLER_LEFT, call.facts) is not Outcome.ANSWERED


async def test_given_conversation_when_citizen_hangs_up_then_agent_freed_only_once_her_leg_is_gone(state):
    """The citizen hanging up first: the agent's leg is hung up, and she is offered nothing until Asterisk no
    longer has it (her phone would ring while the call is still up)."""
    layer, redis = state
    await staff(layer, "alice")
    ari = SlowBridgeAri()
    router, _ = make_router(layer, redis, StubDialer({}), ari, wrap_up=0)
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: call.facts.agent == "alice", timeout=3)  # bridged and connected
    cleanup = asyncio.create_task(_hang_up_citizen(task, call))
    await asyncio.sleep(0.1)  # her leg hung up, not gone yet
    assert ("hangup", "leg-alice") in ari.calls
    assert (await layer.agents.get_state("alice")).status is AgentStatus.ON_CALL
    await asyncio.wait_for(cleanup, 2)
    assert (await layer.agents.get_state("alice")).status is AgentStatus.AVAILABLE


class LostLegAri(SlowBridgeAri):
    """The agent's leg vanished just before the bridge took it (she hung up in the whisper's last instant)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_bridging = 1

    async def add_channel(self, bridge_id: str, channel_id, *, role=None) -> None:
        if self.fail_bridging:
            self.fail_bridging -= 1
            raise ChannelGone(400, "Channel not found", "POST", f"/bridges/{bridge_id}/addChannel")
        await super().add_channel(bridge_id, channel_id, role=role)


async def test_given_agent_leg_lost_before_the_bridge_then_citizen_back_in_queue_and_next_agent_rung(state):
    """An agent's leg lost between her acceptance and the bridge does not send the citizen to "unavailable": the
    citizen is back at their place with music, the next agent is rung and talks with them."""
    layer, redis = state
    await staff(layer, "alice", "bruno")
    ari = LostLegAri()
    dialer = StubDialer({})
    router, _ = make_router(layer, redis, dialer, ari, wrap_up=0)
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: call.facts.agent is not None, timeout=5)
    assert [a for a, _ in dialer.rung] == ["alice", "bruno"]
    assert call.facts.agent == "bruno"
    assert ari.named("moh_on")[-1] == ("moh_on", "c1")
    assert (await layer.agents.get_state("alice")).status is AgentStatus.AVAILABLE
    await _hang_up_citizen(task, call)


async def test_given_our_only_citizen_talking_when_another_agent_becomes_free_then_no_claim_is_made(state):
    """A citizen in conversation never waits again: an agent freed meanwhile costs no claim on her hotline (nobody
    of ours waits there); a citizen who arrives next is still offered at once."""
    layer, redis = state
    await staff(layer, "alice", "bruno", logged_in=False)
    await layer.agents.login("alice", Device.SOFTPHONE)
    ari = StubAri()
    router, distributor = make_router(layer, redis, StubDialer({}), ari, wrap_up=0)
    listening = asyncio.create_task(distributor.run())
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: call.facts.agent == "alice")
    claims: list[str] = []
    claim = layer.queues.claim

    async def counted(hotline, *args, **kwargs):
        claims.append(hotline)
        return await claim(hotline, *args, **kwargs)

    layer.queues.claim = counted  # type: ignore[method-assign]
    await layer.agents.login("bruno", Device.SOFTPHONE)  # publishes agent_available
    await asyncio.sleep(0.5)
    assert claims == []
    second = citizen(ari, "c2")
    other = asyncio.create_task(router.enqueue(second, HOTLINE))
    await eventually(lambda: second.facts.agent == "bruno")
    for t in (task, other, listening):
        t.cancel()
    await asyncio.gather(task, other, listening, return_exceptions=True)
