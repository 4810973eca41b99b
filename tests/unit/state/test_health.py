"""Redis health (state/health.py): after a failure Redis counts as down for a moment (nobody waits for it again),
an operation that hangs counts as a failure, and an outage is logged once at loss and once at recovery."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from callcontrol.state.errors import QueueFull
from callcontrol.state.health import RedisHealth


class Ticks:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def fail(health: RedisHealth) -> None:
    with pytest.raises(RedisConnectionError):
        async with health.guard():
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")


async def test_given_a_failure_when_asked_within_hold_then_down_and_after_hold_tried_again():
    """One failed operation: Redis counts as down for `hold` seconds, then it is worth trying again."""
    ticks = Ticks()
    health = RedisHealth(hold=3.0, clock=ticks)
    assert not health.down
    await fail(health)
    assert health.down and health.lost
    ticks.t += 2.9
    assert health.down
    ticks.t += 0.2
    assert not health.down and health.lost  # worth a try, but not known to be back


async def test_given_an_outage_when_many_operations_fail_then_one_line_at_loss_and_one_at_recovery(json_logs):
    """Every operation failing during an outage is one `redis_unreachable` line, not one per failure; the
    recovery says how long and how many failed."""
    ticks = Ticks()
    health = RedisHealth(hold=1.0, clock=ticks)
    for _ in range(5):
        await fail(health)
        ticks.t += 1.0
    async with health.guard():
        pass
    lost, restored = json_logs.events("redis_unreachable"), json_logs.events("redis_restored")
    assert len(lost) == 1 and "Connection refused" in lost[0]["error"] and "exception" not in lost[0]
    assert len(restored) == 1 and restored[0]["failed_operations"] == 5 and restored[0]["down_seconds"] == 5.0
    assert not health.lost


async def test_given_a_hanging_redis_when_guarded_then_redis_timeout_after_the_limit():
    """A Redis that stops answering without closing its sockets costs the guard's timeout, as a Redis error."""
    health = RedisHealth(timeout=0.05)
    with pytest.raises(RedisTimeoutError, match=r"did not answer within 0\.05 s"):
        async with health.guard():
            await asyncio.sleep(10)
    assert health.down


async def test_given_a_refusal_when_guarded_then_redis_counts_as_up():
    """A script refusing (QueueFull) is Redis answering: the error goes through and Redis is not down."""
    health = RedisHealth()
    await fail(health)
    with pytest.raises(QueueFull):
        async with health.guard():
            raise QueueFull("etat-civil", 3)
    assert not health.lost


async def test_given_a_failure_hook_when_operations_fail_then_each_failure_is_counted():
    """Every failed operation reaches the hook (the Redis errors metric), not just the first of an outage."""
    failures: list[BaseException] = []
    health = RedisHealth(hold=1.0, clock=Ticks(), on_failure=failures.append)
    for _ in range(3):
        await fail(health)
    async with health.guard():
        pass
    assert len(failures) == 3 and all("Connection refused" in str(f) for f in failures)


async def test_given_a_burst_when_redis_answers_others_meanwhile_then_a_slow_operation_waits_and_is_no_outage():
    """An operation queued behind a burst (Redis answers the others) outlasts the limit without Redis counting as
    down: the citizen behind it waits instead of taking the degraded route; alone and unanswered, it fails."""
    health = RedisHealth(timeout=0.1)

    async def quick() -> None:
        for _ in range(6):
            await asyncio.sleep(0.05)
            async with health.guard():
                pass

    async def queued() -> str:
        async with health.guard():
            await asyncio.sleep(0.25)  # waits for a pooled connection while the others are answered
        return "answered"

    answered, _ = await asyncio.gather(queued(), quick())
    assert answered == "answered" and not health.lost
    with pytest.raises(RedisTimeoutError):
        async with health.guard():
            await asyncio.sleep(10)
    assert health.down
