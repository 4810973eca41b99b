"""Rule 6: instance heartbeats and stale entries for start-up reconcile."""

from __future__ import annotations

import asyncio

from callcontrol.state import AgentStatus, CallStatus, StateLayer

from .helpers import HOTLINE, Clock, staff


async def test_heartbeat_expires(state: StateLayer) -> None:
    """An instance is alive while its heartbeat key lives, and not after its TTL."""
    await state.instances.heartbeat("i1", 0.05)
    await state.instances.heartbeat("i2", 30)
    assert await state.instances.alive() == {"i1", "i2"}
    await asyncio.sleep(0.1)
    assert await state.instances.alive() == {"i2"}
    await state.instances.stop("i2")
    assert await state.instances.alive() == set()


async def test_stale_entries_lists_calls_and_reservations_of_dead_instances(state: StateLayer, clock: Clock) -> None:
    """stale_entries returns queue entries and agent reservations whose owner is not alive."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("dead1", HOTLINE, owner="i-dead")
    await state.queues.enqueue("dead2", HOTLINE, owner="i-dead")
    await state.queues.enqueue("live", HOTLINE, owner="i-live")
    await state.queues.claim_call_for_agent("dead1", "1001", instance="i-live")
    stale = await state.instances.stale_entries({"i-live"})
    assert [(c.call_id, c.status) for c in stale.calls] == [("dead2", CallStatus.WAITING),
                                                            ("dead1", CallStatus.OFFERED)]
    assert [(r.agent_id, r.call_id, r.owner, r.status) for r in stale.reservations] == [
        ("1001", "dead1", "i-dead", AgentStatus.RINGING)]


async def test_adopt_moves_call_and_reservations_to_new_owner(state: StateLayer, clock: Clock) -> None:
    """adopt makes a live instance the owner of a dead instance's call and its reservations."""
    await staff(state, clock, "1001")
    await state.queues.enqueue("c1", HOTLINE, owner="i-dead")
    await state.queues.claim_call_for_agent("c1", "1001", instance="i-live")
    await state.queues.adopt("c1", "i-live")
    stale = await state.instances.stale_entries({"i-live"})
    assert stale.calls == () and stale.reservations == ()


async def test_dead_instances_are_found_in_one_round_trip(state: StateLayer) -> None:
    """The takeover's check each second (instances whose heartbeat expired): the right ones, one Redis command."""
    await state.instances.heartbeat("gone", 0.05)
    await state.instances.heartbeat("up", 30)
    await state.instances.dead()  # loads the script (NOSCRIPT once)
    await asyncio.sleep(0.1)
    redis, sent = state.store.redis, []
    execute = redis.execute_command

    async def counting(*args, **kwargs):
        sent.append(args[0])
        return await execute(*args, **kwargs)

    redis.execute_command = counting
    assert await state.instances.dead() == {"gone"}
    assert sent == ["EVALSHA"]
