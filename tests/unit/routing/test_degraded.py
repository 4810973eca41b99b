"""The degraded route (routing/router.py): a citizen reaching a hotline while Redis is unreachable is handed back
to the dialplan's degraded context at once (the on-call phone, then voicemail), never left waiting for Redis."""

from __future__ import annotations

import asyncio
import time

import fakeredis
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from callcontrol.ari.models import Channel, StasisEnd
from callcontrol.calls.errors import CallEnded
from callcontrol.routing.dialer import LegResult
from callcontrol.state import Device, StateLayer
from callcontrol.state.health import RedisHealth

from .kit import HOTLINE, StubAri, StubDialer, citizen, eventually, make_router, staff

DEGRADED = "callcontrol-degraded"


@pytest.fixture
async def outage():
    """A state layer whose Redis can be made to refuse connections (server.connected = False)."""
    server = fakeredis.FakeServer()
    redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    yield StateLayer.create(redis, clock=time.time), redis, server
    await redis.aclose()


async def hand_back_and_leave(router, call, ari: StubAri) -> BaseException | str:
    """Enqueue `call`; when the router continues it in the dialplan, Asterisk's StasisEnd follows."""
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: ari.named("continue") or task.done())
    if ari.named("continue"):
        call.deliver(StasisEnd(type="StasisEnd", channel=Channel(id=call.channel_id)))
    try:
        return await task
    except CallEnded as exc:
        return exc


async def test_given_redis_refusing_when_citizen_reaches_hotline_then_degraded_context_takes_over_at_once(outage):
    """Redis unreachable: the citizen leaves for the degraded context (in their language), the call is over for
    callcontrol, and its channel is not hung up (the dialplan has it now)."""
    layer, redis, server = outage
    await staff(layer, "alice")
    server.connected = False
    ari = StubAri()
    router, _ = make_router(layer, redis, StubDialer({}), ari, health=RedisHealth(), degraded_context=DEGRADED)
    call = citizen(ari)
    call.language = "en"
    started = asyncio.get_running_loop().time()
    result = await hand_back_and_leave(router, call, ari)
    assert isinstance(result, CallEnded), result
    assert asyncio.get_running_loop().time() - started < 0.5
    assert ari.named("continue") == [("continue", "c1", DEGRADED, "s")]
    assert ("set_variable", "c1", "CHANNEL(language)", "en") in ari.calls
    assert [s.step for s in call.path][-1] == "queue:degraded" and call.facts.queue_result == "degraded"
    assert not call.caller_left  # the outcome is the flow's (completed), not a citizen hanging up
    await call.cleanup()
    assert ("hangup", "c1") not in ari.calls


async def test_given_redis_failed_moments_ago_when_next_citizen_comes_then_redis_is_not_asked_again(outage):
    """After one failure the next citizens go to the degraded route without trying Redis again (no wait)."""
    layer, redis, _server = outage
    await staff(layer, "alice")
    health = RedisHealth()
    health.failed(ConnectionError("refused"))
    ari = StubAri()
    router, _ = make_router(layer, redis, StubDialer({}), ari, health=health, degraded_context=DEGRADED)
    call = citizen(ari)
    assert isinstance(await hand_back_and_leave(router, call, ari), CallEnded)
    assert await layer.queues.length(HOTLINE) == 0  # not queued: Redis was not touched for this citizen


async def test_given_no_degraded_context_when_redis_refuses_then_flow_unavailable_branch(outage):
    """Without a degraded route configured, Redis away is the flow's `unavailable` branch, as before."""
    layer, redis, server = outage
    await staff(layer, "alice")
    server.connected = False
    ari = StubAri()
    router, _ = make_router(layer, redis, StubDialer({}), ari, health=RedisHealth())
    assert await router.enqueue(citizen(ari), HOTLINE) == "unavailable"
    assert not ari.named("continue")


async def test_given_citizen_waiting_when_redis_fails_over_then_she_waits_on_and_is_served_soon_after(outage):
    """A claim failing on a Redis outage (a failover) never ends a wait: the citizen keeps her music and place,
    and is offered to the free agent within a second of Redis answering again (not the flow's goodbye)."""
    layer, redis, server = outage
    await staff(layer, "alice", logged_in=False)
    ari, dialer = StubAri(), StubDialer({"alice": LegResult.NO_ANSWER})
    router, distributor = make_router(
        layer, redis, dialer, ari, health=RedisHealth(), degraded_context=DEGRADED,
        overflow_when_nobody=False, announce_interval=0,
    )  # fmt: skip
    sweeps = asyncio.create_task(distributor.sweep_forever())  # its next regular sweep is 5 s away
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    try:
        await eventually(lambda: any(s.step == "queue:waiting" for s in call.path))
        await layer.agents.login("alice", Device.SOFTPHONE)  # her agent_available is not heard (no listener)
        server.connected = False
        failed_at = asyncio.get_running_loop().time()
        await distributor.offer_now(HOTLINE)  # as for an agent_available mid-failover: the claim fails quietly
        await asyncio.sleep(0.2)
        server.connected = True
        await eventually(lambda: dialer.rung, timeout=3.0)
        assert asyncio.get_running_loop().time() - failed_at < 2.0  # the outage's quick sweep, not the 5 s one
        assert not task.done() and not ari.named("continue")
        assert "queue:unavailable" not in [s.step for s in call.path]
    finally:
        sweeps.cancel()
        task.cancel()
        async with asyncio.timeout(5):  # the citizen's hangup ends her wait
            await asyncio.gather(sweeps, task, return_exceptions=True)


async def test_given_a_no_answer_when_the_next_claim_fails_over_then_the_citizen_is_offered_again_soon(outage):
    """The claim right after a no-answer failing on a Redis outage costs the citizen half a second (the
    distributor's quick retry), not the 5 s of its regular sweep."""
    layer, redis, _server = outage
    await staff(layer, "alice")
    ari, dialer = StubAri(), StubDialer({"alice": LegResult.NO_ANSWER})
    router, distributor = make_router(
        layer, redis, dialer, ari, health=RedisHealth(), overflow_when_nobody=False, announce_interval=0
    )
    claim_for_call = layer.queues.claim_agent_for_call

    async def failing_once(*args, **kwargs):
        layer.queues.claim_agent_for_call = claim_for_call  # type: ignore[method-assign]
        raise RedisConnectionError("Connection closed by server.")

    layer.queues.claim_agent_for_call = failing_once  # type: ignore[method-assign]
    sweeps = asyncio.create_task(distributor.sweep_forever())
    task = asyncio.create_task(router.enqueue(citizen(ari), HOTLINE))
    try:
        await eventually(lambda: len(dialer.rung) >= 2, timeout=3.0)
        assert dialer.rung[1][1] - dialer.rung[0][1] < 2.0  # the quick retry, not the 5 s sweep
    finally:
        sweeps.cancel()
        task.cancel()
        async with asyncio.timeout(5):
            await asyncio.gather(sweeps, task, return_exceptions=True)
