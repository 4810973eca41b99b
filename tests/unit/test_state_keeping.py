"""upkeep.keep_state: a Redis that comes back empty (restarted without persistence, flushed) gets the directory and
the shared clock again by itself, and the agents it forgot are reported, not silently dropped; a Redis that was
only away for a while (its data kept) is just noticed, once at loss and once at recovery."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import fakeredis
import pytest

from callcontrol import upkeep
from callcontrol.clock import Clock
from callcontrol.configset import load_config_set
from callcontrol.state import Device, StateLayer
from callcontrol.state.epoch import StateEpoch
from callcontrol.state.health import RedisHealth

REPO = Path(__file__).resolve().parents[2]


async def eventually(predicate, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


@pytest.fixture
async def running(monkeypatch, json_logs):
    monkeypatch.setattr(upkeep, "STATE_CHECK_SECONDS", 0.02)
    config = load_config_set(REPO / "config", env={}, check_softphones=False)
    server = fakeredis.FakeServer()
    redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    state = StateLayer.create(redis, clock=time.time)
    clock = Clock(zone=ZoneInfo("Europe/Paris"))
    task = asyncio.create_task(upkeep.keep_state(state, config, clock, "i1", RedisHealth(hold=0.01)))
    await eventually(lambda: json_logs.events("agents_synced"))
    # The start-up is over only once its epoch is claimed, just after that line: an outage before would make the
    # next check prepare the state again (a second agents_synced, the come_back test's failure in CI).
    async with asyncio.timeout(3):
        while not await redis.exists(StateEpoch(state.store).key):  # noqa: ASYNC110 (written by the check's task)
            await asyncio.sleep(0.005)
    await asyncio.sleep(0.1)  # the claim's own read is answered too
    yield state, redis, server
    task.cancel()  # and awaited: a check still running would log into the next test's lines
    async with asyncio.timeout(2):
        await asyncio.gather(task, return_exceptions=True)
    await redis.aclose()


async def test_given_agents_logged_in_when_redis_comes_back_empty_then_directory_resynced_and_presence_lost_reported(
    running, json_logs
):
    """Redis emptied under a running instance: within a check the directory is back (calls can be routed again)
    and one presence_lost line names the agent who was logged in; her status says presence_lost."""
    state, redis, _server = running
    await state.agents.login("alice", Device.SOFTPHONE)
    await asyncio.sleep(0.1)  # a check or two sees her logged in
    await redis.flushall()
    await eventually(lambda: json_logs.events("presence_lost"))
    assert len(json_logs.events("agents_synced")) == 2
    lost = json_logs.events("presence_lost")
    assert len(lost) == 1 and lost[0]["agents"] == ["alice"], lost
    assert await state.agents.members("etat-civil"), "the directory was not synced again"
    alice = await state.agents.get_state("alice")
    assert alice.status.value == "logged_out" and alice.pause_reason == "presence_lost"
    await asyncio.sleep(0.1)
    assert len(json_logs.events("agents_synced")) == 2  # once per loss, not at every check


async def test_given_redis_away_for_a_while_when_it_comes_back_with_its_data_then_no_resync_and_two_lines(
    running, json_logs
):
    """An outage with the data kept (persistence): one redis_unreachable line, one redis_restored line, no
    re-sync and no presence_lost."""
    state, _redis, server = running
    await state.agents.login("alice", Device.SOFTPHONE)
    server.connected = False
    await eventually(lambda: json_logs.events("redis_unreachable"))
    await asyncio.sleep(0.3)  # ~15 more failed checks (fewer on a loaded machine, still well over 5)
    server.connected = True
    await eventually(lambda: json_logs.events("redis_restored"))
    assert len(json_logs.events("redis_unreachable")) == 1
    assert json_logs.events("redis_restored")[0]["failed_operations"] >= 5
    assert len(json_logs.events("agents_synced")) == 1 and not json_logs.events("presence_lost")
    assert (await state.agents.get_state("alice")).status.value == "available"


async def test_given_redis_keeps_its_data_then_each_check_is_one_round_trip(running, json_logs):
    """While Redis holds the state, the check each second reads the token and the logged-in agents in one
    pipeline (one round trip), and changes nothing: no second agents_synced."""
    _state, redis, _server = running
    await asyncio.sleep(0.05)  # the start-up's own steps (the epoch claimed, the first read) are over
    sent: list[str] = []
    pipeline, execute = redis.pipeline, redis.execute_command

    def counting(*args, **kwargs):
        sent.append("pipeline")
        return pipeline(*args, **kwargs)

    async def single(*args, **kwargs):
        sent.append(str(args[0]))
        return await execute(*args, **kwargs)

    redis.pipeline, redis.execute_command = counting, single
    await asyncio.sleep(0.2)  # ~10 checks at 0.02 s
    redis.pipeline, redis.execute_command = pipeline, execute
    assert set(sent) == {"pipeline"} and len(sent) >= 3, sent
    assert len(json_logs.events("agents_synced")) == 1
