"""The enqueue's "is anyone there to answer" check (routing/router.py), now one read of the index the Lua scripts
keep: the `unavailable` branch only when no member could answer, never because the others are busy."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from callcontrol.state import Device

from .kit import HOTLINE, StubAri, StubDialer, citizen, make_router, staff

pytestmark = pytest.mark.looptime


async def test_given_every_member_paused_or_unregistered_when_citizen_arrives_then_unavailable_at_once(state):
    """Nobody logged in on a reachable device: the flow's `unavailable` branch, the citizen not even answered."""
    layer, redis = state
    await staff(layer, "alice", "bruno")
    await layer.agents.pause("alice", "lunch")
    await layer.agents.set_reachable("bruno", Device.SOFTPHONE, False)
    ari = StubAri()
    router, _ = make_router(layer, redis, StubDialer({}), ari, overflow_when_nobody=True)
    call = citizen(ari)
    assert await router.enqueue(call, HOTLINE) == "unavailable"
    assert not ari.named("answer")
    assert await layer.queues.length(HOTLINE) == 0


async def test_given_the_only_member_on_a_call_when_citizen_arrives_then_the_citizen_waits(state):
    """A member busy on another call still counts: the citizen is queued (and waits), not sent away."""
    layer, redis = state
    await staff(layer, "alice")
    await layer.queues.enqueue("other", HOTLINE, owner="someone")
    claim = await layer.queues.claim_call_for_agent("other", "alice", instance="someone")
    await layer.queues.connect(claim.call_id, "alice")
    ari = StubAri()
    router, _ = make_router(layer, redis, StubDialer({}), ari, overflow_when_nobody=True, max_wait=5)
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await asyncio.sleep(1)
    assert not task.done() and await layer.queues.position(call.call_id) == 1
    assert await task == "timeout"


async def test_given_an_answered_citizen_and_nobody_reachable_then_unavailable_checked_in_the_enqueue_itself(state):
    """After a menu (already answered), nobody who could answer: `unavailable`, nothing queued, and the check is
    the enqueue script's own (no separate SCARD round trip); once a member is back, the next citizen is queued."""
    layer, redis = state
    await staff(layer, "alice")
    await layer.agents.pause("alice", "lunch")
    ari = StubAri()
    router, _ = make_router(layer, redis, StubDialer({}), ari, overflow_when_nobody=True, max_wait=1)
    sent: list[str] = []
    execute = redis.execute_command

    async def counting(*args, **kwargs):
        sent.append(str(args[0]).upper())
        return await execute(*args, **kwargs)

    redis.execute_command = counting
    call = citizen(ari)
    await call.answer()
    assert await router.enqueue(call, HOTLINE) == "unavailable"
    assert "SCARD" not in sent and await layer.queues.length(HOTLINE) == 0
    assert [p.step for p in call.path][-1] == "queue:unavailable"
    await layer.agents.unpause("alice")
    second = citizen(ari, "c2")
    await second.answer()
    task = asyncio.create_task(router.enqueue(second, HOTLINE))
    await asyncio.sleep(0.1)
    assert "queue:waiting" in [p.step for p in second.path]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
