"""Takeover of a dead instance, on a stub ARI: its citizens moved to us as adopted calls, its legs hung up, its
agents freed once their legs are gone, its wrap-ups ended by us, and only once."""

from __future__ import annotations

import asyncio
import time

import fakeredis
import pytest

from callcontrol.routing.takeover import Takeover
from callcontrol.state import StateLayer
from callcontrol.state.models import AgentStatus

from .kit import HOTLINE, StubAri, eventually, staff

pytestmark = pytest.mark.looptime

DEAD, DEAD_APP = "i-dead", "callcontrol-b"


async def dead_instance_with_callers(layer) -> None:
    await staff(layer, "alice", "bruno", "chloe")
    await layer.instances.heartbeat(DEAD, 30, app=DEAD_APP)
    await layer.queues.enqueue("w1", HOTLINE, owner=DEAD)
    await layer.queues.enqueue("w2", HOTLINE, owner=DEAD)
    await layer.queues.claim_call_for_agent("w1", "alice", instance=DEAD)  # alice's phone rings for w1
    until = layer.store.now() + 1.0
    await layer.agents.set_wrap_up("bruno", until)  # bruno in a wrap-up the dead instance was timing
    await layer.instances.stop(DEAD)  # its heartbeat is gone (as when its TTL runs out)


async def test_given_dead_instance_when_taken_over_then_its_citizens_move_to_us_and_its_agents_are_freed():
    """Within one check the dead instance's waiting citizens are moved into our application (announced to the
    dispatcher as adoptions, with their Stasis arguments), its ringing leg is hung up and only then its agent
    freed, a citizen who hung up meanwhile leaves the queue, and the wrap-up it was timing ends on time."""
    redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)  # no other test's instances
    layer = StateLayer.create(redis, clock=time.time)
    await dead_instance_with_callers(layer)
    ari = StubAri()
    ari.live_channels = ["w1", "w1-leg0001"]  # w2 hung up while nobody watched
    ari.stasis = {"w1": f"{DEAD_APP},inbound,0556000000", "w1-leg0001": f"{DEAD_APP},agent-leg,w1"}
    adopted: list[str] = []
    counted: list[tuple[str, int]] = []  # what the takeover metric was told
    takeover = Takeover(ari=ari, state=layer, instance_id="i-live", expect_adopted=adopted.append,
                        forget_adopted=adopted.remove, check_every=0.05,
                        on_taken_over=lambda dead, calls: counted.append((dead, calls)))  # fmt: skip
    await layer.instances.heartbeat("i-live", 30, app="callcontrol")
    runner = asyncio.create_task(takeover.run())
    try:
        await eventually(lambda: ari.named("request"), timeout=3)
        assert adopted == ["w1"]
        assert ari.named("request") == [
            ("request", "POST", "/channels/w1/move", repr([("app", "callcontrol"), ("appArgs", "inbound,0556000000")]))
        ]
        assert ("hangup", "w1-leg0001") in ari.calls
        await asyncio.sleep(0.1)
        assert (await layer.agents.get_state("alice")).status is AgentStatus.AVAILABLE
        assert [(c.call_id, c.owner) for c in await layer.queues.waiting(HOTLINE)] == [("w1", "i-live")]
        assert (await layer.agents.get_state("bruno")).status is AgentStatus.WRAP_UP
        await asyncio.sleep(1.0)
        assert (await layer.agents.get_state("bruno")).status is AgentStatus.AVAILABLE
        assert len(ari.named("request")) == 1  # never taken over twice
        assert len(counted) == 1 and counted[0][0] == DEAD and counted[0][1] >= 1  # one takeover, its calls
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await redis.aclose()


async def test_given_dead_instance_conversation_when_agent_hangs_up_then_citizen_hung_up_and_agent_freed():
    """A conversation the dead instance bridged goes on in Asterisk; when the agent hangs up, the taker hangs up
    the citizen and frees the agent (she is not left on a call nobody watches)."""
    redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
    layer = StateLayer.create(redis, clock=time.time)
    await staff(layer, "alice")
    await layer.instances.heartbeat(DEAD, 30, app=DEAD_APP)
    await layer.queues.enqueue("t1", HOTLINE, owner=DEAD)
    await layer.queues.claim_call_for_agent("t1", "alice", instance=DEAD)
    await layer.queues.connect("t1", "alice")
    await layer.instances.stop(DEAD)
    ari = StubAri()
    ari.live_channels = ["t1", "t1-leg0001"]
    ari.stasis = {"t1": f"{DEAD_APP},inbound,0556000000", "t1-leg0001": f"{DEAD_APP},agent-leg,t1"}
    takeover = Takeover(ari=ari, state=layer, instance_id="i-live", expect_adopted=lambda _c: None,
                        forget_adopted=lambda _c: None, check_every=0.05)  # fmt: skip
    runner = asyncio.create_task(takeover.run())
    try:
        await asyncio.sleep(3)
        assert not ari.named("request") and not ari.named("hangup")  # talking: left alone
        assert (await layer.agents.get_state("alice")).status is AgentStatus.ON_CALL
        ari.live_channels = ["t1"]  # the agent hung up
        await eventually(lambda: ("hangup", "t1") in ari.calls, timeout=3)
        await asyncio.sleep(0.1)
        assert (await layer.agents.get_state("alice")).status is AgentStatus.AVAILABLE
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await redis.aclose()
