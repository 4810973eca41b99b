"""Rule 4: concurrent claims from two instances never double-book an agent or a call."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from redis.asyncio import Redis

from callcontrol.state import AgentBusy, AgentStatus, CallNotFound, CallNotWaiting, Claim, Device, StateLayer

from .helpers import HOTLINE, Clock, agent

AGENTS = [f"20{i:02d}" for i in range(20)]
CALLS_PER_INSTANCE = 60
JOBS_PER_INSTANCE = 80  # per round; below the client's connection pool size
ROUNDS = 4
STRATEGIES = ["longest_idle", "linear", "round_robin"] * 3 + ["ring_all"]  # ring_all takes everyone: rarer


async def _attempt(layer: StateLayer, instance: str, prefix: str, rng: random.Random) -> Claim | None:
    kind = rng.randrange(3)
    if kind == 0:
        return await layer.queues.claim(HOTLINE, rng.choice(STRATEGIES), instance=instance)
    call = f"{prefix}{rng.randrange(CALLS_PER_INSTANCE)}"
    try:
        if kind == 1:
            return await layer.queues.claim_call_for_agent(call, rng.choice(AGENTS), instance=instance)
        return await layer.queues.claim_agent_for_call(call, HOTLINE, rng.choice(STRATEGIES), instance=instance)
    except (AgentBusy, CallNotWaiting, CallNotFound):  # expected refusals: someone was faster, or call gone
        return None


async def test_concurrent_claims_never_double_book(redis: Redis, redis2: Redis, clock: Clock) -> None:
    """Hammering the three claim kinds from 2 clients never gives an agent two calls nor a call two claims."""
    a, b = StateLayer.create(redis, clock=clock), StateLayer.create(redis2, clock=clock)
    await a.agents.sync_agents([agent(x) for x in AGENTS])
    for x in AGENTS:
        await a.agents.login(x, Device.SOFTPHONE)
    await a.instances.heartbeat("i1", 60)
    await b.instances.heartbeat("i2", 60)
    for n in range(CALLS_PER_INSTANCE):
        await a.queues.enqueue(f"a{n}", HOTLINE, owner="i1")
        await b.queues.enqueue(f"b{n}", HOTLINE, owner="i2")

    rng = random.Random(7)
    total_claims = 0
    for _ in range(ROUNDS):
        jobs = [_attempt(a, "i1", "a", rng) for _ in range(JOBS_PER_INSTANCE)]
        jobs += [_attempt(b, "i2", "b", rng) for _ in range(JOBS_PER_INSTANCE)]
        rng.shuffle(jobs)
        claims = [c for c in await asyncio.gather(*jobs) if c is not None]
        total_claims += len(claims)

        agent_uses = Counter(x for c in claims for x in c.agent_ids)
        call_uses = Counter(c.call_id for c in claims)
        assert not agent_uses or max(agent_uses.values()) == 1, agent_uses
        assert not call_uses or max(call_uses.values()) == 1, call_uses
        assert all(c.owner == {"a": "i1", "b": "i2"}[c.call_id[0]] for c in claims)
        holder = {x: c.call_id for c in claims for x in c.agent_ids}
        for s in await a.agents.states():  # Redis agrees with what the claimers were told
            assert s.reserved_by == holder.get(s.agent_id), s
            assert (s.status is AgentStatus.RINGING) == (s.agent_id in holder)
        waiting = {c.call_id for c in await a.queues.waiting(HOTLINE)}
        assert not waiting & set(call_uses)

        # Between rounds: half the offers are answered and finished, the others time out (call requeued).
        for c in claims:
            if rng.random() < 0.5:
                await a.queues.connect(c.call_id, c.agent_ids[0])
                await a.queues.release(c.agent_ids[0])
                await a.queues.leave(c.call_id)
            else:
                for x in c.agent_ids:
                    await b.queues.release_no_answer(c.call_id, x)
        clock.advance(5)
    assert total_claims > len(AGENTS), total_claims  # enough contention to mean something
