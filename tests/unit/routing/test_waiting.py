"""The hotline queue as a citizen lives it, on fakeredis and a virtual clock: a full queue, a hotline closed by
its own hours (at the door and while waiting), max_wait, and ring-all (first to accept wins, the others are freed
at once)."""

from __future__ import annotations

import asyncio
import math

import pytest

from callcontrol.ari.models import ChannelDestroyed
from callcontrol.ari.resources import Channel
from callcontrol.routing.dialer import LegResult
from callcontrol.state import Device
from callcontrol.state.models import AgentStatus

from .kit import HOTLINE, INSTANCE, StubAri, StubDialer, citizen, eventually, make_router, staff

pytestmark = pytest.mark.looptime


class Hours:
    """A hotline's hours, switched by the test; re-checked every `every` seconds."""

    def __init__(self, closed: str | None = None, every: float = 1.0) -> None:
        self.closed = closed
        self.every = every
        self.asked = 0

    async def closed_reason(self, hotline) -> str | None:
        self.asked += 1
        return self.closed

    def recheck_in(self, hotline) -> float:
        return self.every if hotline.schedule else math.inf


async def test_given_queue_full_when_citizen_arrives_then_full_and_not_queued(state):
    """max_length citizens already wait: the next one gets the `full` outcome at once and is not queued."""
    layer, redis = state
    await staff(layer, "alice", logged_in=False)
    ari = StubAri()
    router, _ = make_router(layer, redis, StubDialer({}), ari, max_length=1, overflow_when_nobody=False)
    await layer.queues.enqueue("other", HOTLINE, owner=INSTANCE)
    call = citizen(ari)
    assert await router.enqueue(call, HOTLINE) == "full"
    assert await layer.queues.length(HOTLINE) == 1
    assert call.facts.queue_result == "full" and not call.facts.waiting
    assert [s.step for s in call.path] == ["queue:full"]


async def test_given_hotline_closed_by_its_hours_when_citizen_arrives_then_closed_before_anything_else(state):
    """A hotline outside its own hours answers `closed` before looking for agents: nobody rings, nothing queued."""
    layer, redis = state
    await staff(layer, "alice")
    ari, dialer = StubAri(), StubDialer({})
    router, _ = make_router(layer, redis, dialer, ari, hours=Hours("closed: outside opening hours"), schedule="x")
    call = citizen(ari)
    assert await router.enqueue(call, HOTLINE) == "closed"
    assert not dialer.rung and await layer.queues.length(HOTLINE) == 0
    assert call.path[-1].step == "queue:closed" and call.path[-1].detail["reason"].startswith("closed")


async def test_given_citizen_waiting_when_hotline_closes_then_closed_and_out_of_the_queue(state):
    """A citizen waiting when the hotline's hours end leaves the queue with `closed` at the next check (the
    flow's closed branch follows), and is no longer offered to an agent who logs in later."""
    layer, redis = state
    await staff(layer, "alice", logged_in=False)
    ari = StubAri()
    hours = Hours(None, every=1.0)
    router, _ = make_router(
        layer, redis, StubDialer({}), ari, hours=hours, schedule="x", overflow_when_nobody=False, announce_interval=0
    )
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: any(s.step == "queue:waiting" for s in call.path))
    await asyncio.sleep(2.5)
    assert not task.done()  # still open: still waiting
    hours.closed = "closed: outside opening hours"
    started = asyncio.get_running_loop().time()
    assert await asyncio.wait_for(task, 5) == "closed"
    assert asyncio.get_running_loop().time() - started <= 1.01
    assert await layer.queues.length(HOTLINE) == 0
    assert not call.facts.waiting


async def test_given_nobody_answers_when_max_wait_runs_out_then_timeout_and_out_of_the_queue(state):
    """After max_wait in the queue the citizen gets `timeout` (the flow overflows), and leaves the queue."""
    layer, redis = state
    await staff(layer, "alice", logged_in=False)
    ari = StubAri()
    router, _ = make_router(layer, redis, StubDialer({}), ari, max_wait=90, overflow_when_nobody=False)
    call = citizen(ari)
    started = asyncio.get_running_loop().time()
    assert await router.enqueue(call, HOTLINE) == "timeout"
    assert 90 <= asyncio.get_running_loop().time() - started <= 91
    assert await layer.queues.length(HOTLINE) == 0


async def test_given_ring_all_when_one_agent_accepts_then_the_others_are_free_at_once(state):
    """Ring-all rings every free member; the first to accept gets the citizen, the others are free again at
    once (not after the conversation), and nobody is ever reserved for two calls."""
    layer, redis = state
    await staff(layer, "alice", "bruno", "chloe")
    ari = StubAri()
    dialer = StubDialer({"alice": LegResult.NO_ANSWER, "chloe": LegResult.NO_ANSWER}, delay=0.5)
    dialer.delays = {"bruno": 0.1}  # bruno picks up first
    router, _ = make_router(layer, redis, dialer, ari, strategy="ring_all", wrap_up=0)
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: ari.named("add_channel"))
    assert sorted(agent for agent, _ in dialer.rung) == ["alice", "bruno", "chloe"]
    states = {a: (await layer.agents.get_state(a)).status for a in ("alice", "bruno", "chloe")}
    assert states == {"alice": AgentStatus.AVAILABLE, "bruno": AgentStatus.ON_CALL, "chloe": AgentStatus.AVAILABLE}
    assert call.facts.agent == "bruno"
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="leg-bruno")))
    assert await asyncio.wait_for(task, 2) == "answered"
    await call.cleanup()  # what the dispatcher does when the call ends
    assert (await layer.agents.get_state("bruno")).status is AgentStatus.AVAILABLE  # wrap_up 0


async def test_given_citizen_hangs_up_while_waiting_then_abandoned_and_out_of_the_queue(state):
    """A citizen who hangs up while waiting leaves the queue at once and the call counts as abandoned."""
    from callcontrol.calls.outcome import Ending, Outcome, decide

    layer, redis = state
    await staff(layer, "alice", logged_in=False)
    ari = StubAri()
    router, _ = make_router(layer, redis, StubDialer({}), ari, overflow_when_nobody=False)
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: any(s.step == "queue:waiting" for s in call.path))
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="c1")))
    task.cancel("caller hung up")
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await layer.queues.length(HOTLINE) == 0
    assert decide(Ending.CALLER_LEFT, call.facts) is Outcome.ABANDONED
    await layer.agents.login("alice", Device.SOFTPHONE)
    assert await layer.queues.claim(HOTLINE, "longest_idle", instance=INSTANCE) is None


async def test_given_agent_free_at_enqueue_when_citizen_queues_then_agent_is_dialled_before_the_music_starts(state):
    """A citizen whose own claim came with the enqueue has her agent's originate sent before the music request
    (the agent rings sooner); the music still starts while the phone rings."""
    layer, redis = state
    await staff(layer, "alice")
    ari = StubAri()
    dialer = StubDialer({}, delay=5.0, ari=ari)
    router, _ = make_router(layer, redis, dialer, ari, announce_interval=0)
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: ari.named("moh_on"))
    order = [c[0] for c in ari.calls if c[0] in ("originate", "moh_on")]
    assert order == ["originate", "moh_on"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_given_nobody_free_when_citizen_queues_then_music_starts_at_once(state):
    """With no agent to ring, the music starts as soon as the citizen is queued (no wait for an originate)."""
    layer, redis = state
    await staff(layer, "alice", logged_in=False)
    ari = StubAri()
    router, _ = make_router(layer, redis, StubDialer({}, ari=ari), ari, overflow_when_nobody=False,
                            announce_interval=0)  # fmt: skip
    assert await _queued_until_music(router, ari) < 0.05


async def test_given_claimed_agent_cannot_be_dialled_when_citizen_queues_then_music_starts_without_delay(state):
    """A claimed agent with no device (no originate at all) does not hold the citizen's music back."""
    layer, redis = state
    await staff(layer, "alice")
    ari = StubAri()
    dialer = StubDialer({}, ari=ari)
    dialer.unplaceable = {"alice"}
    router, _ = make_router(layer, redis, dialer, ari, overflow_when_nobody=False, announce_interval=0)
    assert await _queued_until_music(router, ari) < 0.05
    assert not ari.named("originate")


async def _queued_until_music(router, ari: StubAri) -> float:
    """A citizen queued on `router`: seconds from her `queue:waiting` step to the music request (then she leaves)."""
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: any(s.step == "queue:waiting" for s in call.path))
    queued_at = asyncio.get_running_loop().time()
    await eventually(lambda: ari.named("moh_on"))
    waited = asyncio.get_running_loop().time() - queued_at
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return waited
