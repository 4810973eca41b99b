"""One clock for every process: the demo city clock's offset is shared through Redis (cc:clock)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import fakeredis
import pytest

from callcontrol.__main__ import main
from callcontrol.clock import Clock
from callcontrol.configset import load_config_set
from callcontrol.state import StateLayer, connect

PARIS = ZoneInfo("Europe/Paris")
SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "config"
DEMO = datetime(2030, 3, 5, 10, 0, tzinfo=PARIS)  # years ahead of real time: a real-time write looks expired


def test_a_demo_clock_starts_at_its_time_and_runs_on() -> None:
    """Clock(start_at) reads start_at now and moves with real time (offset = city - real)."""
    clock = Clock(zone=PARIS, start_at=DEMO)
    assert abs(clock.time() - DEMO.timestamp()) < 1
    assert abs(clock.offset - (DEMO.timestamp() - time.time())) < 1
    assert Clock(zone=PARIS).offset == 0.0
    assert abs(Clock(zone=PARIS).time() - time.time()) < 1


async def test_every_process_reads_the_clock_the_app_shared() -> None:
    """A demo clock published by `run` is adopted by another process; a real-time run removes it."""
    server = fakeredis.FakeServer()
    app_redis = fakeredis.FakeAsyncRedis(server=server)
    cli_redis = fakeredis.FakeAsyncRedis(server=server)
    app_clock = Clock(zone=PARIS, start_at=DEMO)
    await StateLayer.create(app_redis).shared_clock.publish(app_clock)
    cli_clock = await StateLayer.create(cli_redis).shared_clock.adopt(Clock(zone=PARIS))
    assert abs(cli_clock.time() - app_clock.time()) < 0.01
    assert cli_clock.now().date() == DEMO.date()

    await StateLayer.create(app_redis).shared_clock.publish(Clock(zone=PARIS))  # production run: real time
    assert await app_redis.exists("cc:clock") == 0
    assert (await StateLayer.create(cli_redis).shared_clock.adopt(cli_clock)).offset == 0.0
    await app_redis.aclose()
    await cli_redis.aclose()


@pytest.fixture
def shared_redis(monkeypatch: pytest.MonkeyPatch) -> fakeredis.FakeServer:
    """The CLI's Redis is a fakeredis server the test also reads."""
    server = fakeredis.FakeServer()
    monkeypatch.setattr(connect, "connect_redis", lambda *a, **k: fakeredis.FakeAsyncRedis(server=server))
    monkeypatch.setenv("CALLCONTROL_REDIS_URL", "redis://127.0.0.1:6390/0")
    return server


async def _demo_app(server: fakeredis.FakeServer) -> tuple[StateLayer, Clock]:
    clock = Clock(zone=PARIS, start_at=DEMO)
    state = StateLayer.create(fakeredis.FakeAsyncRedis(server=server), clock=clock.time)
    await state.shared_clock.publish(clock)
    return state, clock


async def _cli(*argv: str) -> int:
    """main() runs its own event loop (asyncio.run): run it off this test's loop, as another process would."""
    return await asyncio.to_thread(main, ["--config", str(SHIPPED_CONFIG), "--secrets", "/nonexistent", *argv])


async def test_a_timed_closure_from_the_cli_is_on_the_apps_clock(shared_redis, capsys) -> None:
    """`closed on --minutes 30` from the CLI during a demo lasts 30 city minutes for the app, and shows so."""
    app_state, app_clock = await _demo_app(shared_redis)
    assert await _cli("closed", "on", "--minutes", "30") == 0
    closure = await app_state.closures.closed_for("etat-civil")
    assert closure is not None, "the app sees the CLI's closure as expired"
    assert abs(closure.until - (app_clock.time() + 1800)) < 5
    assert await _cli("closed", "status") == 0
    assert "all: closed until 2030-03-05 10:30" in capsys.readouterr().out


async def test_an_agent_login_from_the_cli_is_stamped_on_the_apps_clock(shared_redis) -> None:
    """An agent logged in from the CLI during a demo gets the city clock's time (fair longest-idle order)."""
    app_state, app_clock = await _demo_app(shared_redis)
    agents = load_config_set(SHIPPED_CONFIG, {}).agents
    await app_state.agents.sync_agents(agents)
    first = agents[0].id
    assert await _cli("agent", "login", first) == 0
    login = await app_state.agents.get_state(first)
    assert abs((login.idle_since or 0) - app_clock.time()) < 5

