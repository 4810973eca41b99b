"""The one Redis client factory: one Redis or a Sentinel master, a pool that waits, retries on failover errors."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import structlog
from pydantic import ValidationError
from redis.asyncio.connection import BlockingConnectionPool
from redis.asyncio.sentinel import MasterNotFoundError
from redis.exceptions import ConnectionError, ReadOnlyError, ResponseError, TimeoutError

from callcontrol.__main__ import EXIT_REDIS, main
from callcontrol.config import RedisSettings, load_settings
from callcontrol.state import connect
from callcontrol.state.connect import BlockingSentinelConnectionPool, connect_redis, describe, follow_master

SHIPPED = Path(__file__).resolve().parents[3] / "config"
SENTINELS = ("127.0.0.1:26390", "127.0.0.1:26391", "127.0.0.1:26392")


async def test_one_redis_gets_a_bounded_pool_that_waits_and_retries_failover_errors() -> None:
    """redis.url: a BlockingConnectionPool of max_connections that waits pool_timeout; retries (none unless set) on
    the four errors."""
    client = connect_redis(RedisSettings(url="redis://127.0.0.1:6390/3", max_connections=7, pool_timeout=1.5))
    pool = client.connection_pool
    assert type(pool) is BlockingConnectionPool
    assert (pool.max_connections, pool.timeout) == (7, 1.5)
    assert pool.connection_kwargs["db"] == 3
    retry = pool.connection_kwargs["retry"]
    assert retry.get_retries() == 0  # one Redis: away means away at once (the degraded route decides)
    assert connect_redis(RedisSettings(retries=3)).connection_pool.connection_kwargs["retry"].get_retries() == 3
    for error in (ConnectionError, TimeoutError, MasterNotFoundError, ReadOnlyError):
        assert issubclass(error, tuple(retry._supported_errors)), error
    await client.aclose()


async def test_a_full_pool_waits_for_a_free_connection_then_fails_clearly() -> None:
    """Beyond max_connections a command waits (here 0.2 s) for a free connection instead of failing at once."""
    client = connect_redis(RedisSettings(max_connections=1, pool_timeout=0.2))
    pool = client.connection_pool
    pool._in_use_connections.add(object())  # the one connection is busy
    began = asyncio.get_running_loop().time()
    with pytest.raises(ConnectionError, match="No connection available"):
        await pool.get_connection()
    assert asyncio.get_running_loop().time() - began >= 0.19
    pool._in_use_connections.clear()
    await client.aclose()


async def test_sentinels_give_a_master_client_with_a_waiting_pool() -> None:
    """redis.sentinels: the master of `master_name`, asked of each sentinel, through a bounded waiting pool."""
    settings = RedisSettings(sentinels=SENTINELS, master_name="mairie", db=2, password="s3cret", max_connections=5)
    client = connect_redis(settings)
    pool = client.connection_pool
    assert isinstance(pool, BlockingSentinelConnectionPool) and isinstance(pool, BlockingConnectionPool)
    assert (pool.service_name, pool.max_connections, pool.is_master) == ("mairie", 5, True)
    assert pool.connection_kwargs["retry"].get_retries() == 8  # ~4.5 s: long enough for a failover
    assert pool.connection_kwargs["db"] == 2 and pool.connection_kwargs["password"] == "s3cret"
    hosts = [s.connection_pool.connection_kwargs for s in pool.sentinel_manager.sentinels]
    assert [(h["host"], h["port"]) for h in hosts] == [("127.0.0.1", 26390), ("127.0.0.1", 26391), ("127.0.0.1", 26392)]
    assert hosts[0]["password"] is None  # the password is the Redis nodes', not the sentinels'
    await client.aclose()


def test_describe_never_shows_the_password() -> None:
    """What the log and the CLI print about the Redis target: no password, ever."""
    assert describe(RedisSettings(url="redis://:hunter2@10.0.0.5:6379/0")) == "redis://:***@10.0.0.5:6379/0"
    assert describe(RedisSettings()) == "redis://127.0.0.1:6390/0"
    text = describe(RedisSettings(sentinels=SENTINELS, password="hunter2"))
    assert text == "master 'mymaster' of sentinels 127.0.0.1:26390,127.0.0.1:26391,127.0.0.1:26392"


def test_settings_refuse_what_cannot_work() -> None:
    """url and sentinels together, a sentinel that is not host:port, an empty master name: refused at load."""
    with pytest.raises(ValidationError, match="not both"):
        RedisSettings(url="redis://127.0.0.1:6390/0", sentinels=SENTINELS)
    with pytest.raises(ValidationError, match="host:port"):
        RedisSettings(sentinels=("127.0.0.1",))
    with pytest.raises(ValidationError, match="master_name"):
        RedisSettings(sentinels=SENTINELS, master_name="")
    with pytest.raises(ValidationError, match="redis://"):
        RedisSettings(url="127.0.0.1:6390")


def test_password_comes_from_the_environment(tmp_path: Path) -> None:
    """CALLCONTROL_REDIS_PASSWORD sets redis.password; it never shows in a repr."""
    (tmp_path / "callcontrol.yaml").write_text(
        (SHIPPED / "callcontrol.yaml").read_text(encoding="utf-8").replace(
            "redis:\n  url: redis://127.0.0.1:6390/0\n", f"redis:\n  sentinels: {list(SENTINELS)}\n"
        ),
        encoding="utf-8",
    )
    settings = load_settings(tmp_path, env={"CALLCONTROL_REDIS_PASSWORD": "pw-from-env"})
    assert settings.redis.password == "pw-from-env" and settings.redis.sentinels == SENTINELS
    assert "pw-from-env" not in repr(settings)


def test_cli_without_a_sentinel_says_where_it_looked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No sentinel answers: the CLI prints one "Redis unreachable at master ... of sentinels ..." line, exit 3, at
    once (each sentinel is asked once per lookup, not retried ten times)."""
    for item in SHIPPED.iterdir():
        if item.name != "callcontrol.yaml":
            (tmp_path / item.name).symlink_to(item)
    (tmp_path / "callcontrol.yaml").write_text(
        (SHIPPED / "callcontrol.yaml").read_text(encoding="utf-8").replace(
            "redis:\n  url: redis://127.0.0.1:6390/0\n", "redis:\n  sentinels: ['127.0.0.1:1']\n  retries: 0\n"
        ),
        encoding="utf-8",
    )
    began = time.monotonic()
    code = main(["--config", str(tmp_path), "--secrets", "/nonexistent", "agent", "status"])
    err = capsys.readouterr().err
    assert code == EXIT_REDIS and time.monotonic() - began < 2.0
    assert err.startswith("callcontrol: Redis unreachable at master 'mymaster' of sentinels 127.0.0.1:1:"), err
    assert "Traceback" not in err


async def test_follow_master_moves_every_connection_when_the_sentinels_name_a_new_master(monkeypatch) -> None:
    """The sentinels name another master (or none for a while): connections are closed once, the switch logged."""
    client = connect_redis(RedisSettings(sentinels=SENTINELS))
    pool = client.connection_pool
    answers = [("127.0.0.1", 6391), MasterNotFoundError("none"), ResponseError("LOADING"), ("127.0.0.1", 6391),
               ("127.0.0.1", 6392)]
    disconnects: list[bool] = []

    async def discover_master(name: str):
        answer = answers.pop(0) if answers else ("127.0.0.1", 6392)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def disconnect(inuse_connections: bool = True) -> None:
        disconnects.append(inuse_connections)

    async def no_failover(pool) -> None:
        return None

    monkeypatch.setattr(pool.sentinel_manager, "discover_master", discover_master)
    monkeypatch.setattr(connect, "_promoted_replica", no_failover)
    monkeypatch.setattr(pool, "disconnect", disconnect)
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(follow_master(client, every=0.001))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert disconnects == [True]
    assert pool.master_address == ("127.0.0.1", 6392)
    switched = [line for line in logs if line["event"] == "redis_master_switched"]
    assert [(s["old"], s["new"]) for s in switched] == [("127.0.0.1:6391", "127.0.0.1:6392")]


class _Sentinel:
    """What a sentinel answers, before and while it promotes 6392 (RESP2: flags as one string)."""

    def __init__(self) -> None:
        self.failing_over = False

    async def sentinel_master(self, name: str) -> dict[str, object]:
        flags = "master,failover_in_progress,force_failover" if self.failing_over else "master"
        return {"ip": "127.0.0.1", "port": 6391, "flags": flags}

    async def sentinel_slaves(self, name: str) -> list[dict[str, object]]:
        promoted = ",promoted" if self.failing_over else ""
        return [{"ip": "127.0.0.1", "port": 6393, "flags": "slave,s_down"},
                {"ip": "127.0.0.1", "port": 6392, "flags": "slave,disconnected" + promoted}]  # as measured


async def test_connections_move_to_the_replica_being_promoted_before_the_sentinels_name_it(monkeypatch) -> None:
    """During a failover the flagged replica is the target at once (measured: ~0.6 s before the sentinels name it;
    writes in between went to the old master and were lost)."""
    client = connect_redis(RedisSettings(sentinels=SENTINELS))
    pool = client.connection_pool
    sentinel = _Sentinel()
    disconnects: list[bool] = []

    async def discover_master(name: str):
        return ("127.0.0.1", 6391)  # the sentinels still name the old master

    async def disconnect(inuse_connections: bool = True) -> None:
        disconnects.append(inuse_connections)

    monkeypatch.setattr(pool.sentinel_manager, "discover_master", discover_master)
    monkeypatch.setattr(pool.sentinel_manager, "sentinels", [sentinel])
    monkeypatch.setattr(pool, "disconnect", disconnect)
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(follow_master(client, every=0.001))
        await asyncio.sleep(0.02)
        assert pool.promoted is None and disconnects == []
        sentinel.failing_over = True
        await asyncio.sleep(0.02)
        assert pool.promoted == ("127.0.0.1", 6392) and disconnects == [True]
        assert await pool.get_master_address() == ("127.0.0.1", 6392)  # new connections go there already
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    switched = [line for line in logs if line["event"] == "redis_master_switched"]
    assert [(s["old"], s["new"], s["promoting"]) for s in switched] == [("127.0.0.1:6391", "127.0.0.1:6392", True)]


async def test_follow_master_has_nothing_to_do_without_sentinels() -> None:
    """A client on one Redis: follow_master returns at once (it can sit in the app's TaskGroup either way)."""
    client = connect_redis(RedisSettings())
    await asyncio.wait_for(follow_master(client), 1)
    await client.aclose()
    assert connect.FOLLOW_SECONDS <= 0.5
