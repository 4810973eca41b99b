"""A Sentinel-managed Redis for test_sentinel.py: `scripts/redis sentinel-up` (a master, one replica, three
sentinels on ports of their own: never the shared test Redis on 6390), failovers, and the current master."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from harness import REPO, STATE, script

MASTER_NAME = "mymaster"
NODE_PORTS = (6391, 6392)
SENTINEL_PORTS = (26390, 26391, 26392)
SENTINELS = tuple(f"127.0.0.1:{port}" for port in SENTINEL_PORTS)


def callcontrol_yaml() -> str:
    """The shipped callcontrol.yaml with its `redis:` section on the sentinels instead of one URL."""
    text = (REPO / "config" / "callcontrol.yaml").read_text(encoding="utf-8")
    one_redis = "redis:\n  url: redis://127.0.0.1:6390/0\n"
    assert one_redis in text, "config/callcontrol.yaml's redis section changed: update sentinel_kit"
    sentinels = ", ".join(f'"{s}"' for s in SENTINELS)
    return text.replace(one_redis, f"redis:\n  sentinels: [{sentinels}]\n  master_name: {MASTER_NAME}\n")


class SentinelRedis:
    """The sentinel-up processes of one test; `down()` stops them by PID (scripts/redis sentinel-down)."""

    def __init__(self) -> None:
        self.dir = STATE / "sentinel"
        self._clients: dict[int, redis.Redis] = {}

    def up(self) -> SentinelRedis:
        done = script("redis", "sentinel-up", timeout=60)
        if done.returncode != 0:
            raise AssertionError(f"scripts/redis sentinel-up failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return self

    def down(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        done = script("redis", "sentinel-down", timeout=60)
        assert done.returncode == 0, f"scripts/redis sentinel-down: {done.stdout}{done.stderr}"

    def master_port(self) -> int | None:
        """The master the sentinels name now (the first that answers)."""
        for port in SENTINEL_PORTS:
            client = redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
            try:
                return int(client.sentinel_get_master_addr_by_name(MASTER_NAME)[1])
            except (redis.RedisError, TypeError):
                continue
            finally:
                client.close()
        return None

    def master(self) -> redis.Redis:
        """A client on the current master (asked of the sentinels on each call; one cached client per node)."""
        port = self.master_port()
        if port is None:
            raise redis.ConnectionError("no sentinel names a master")
        if port not in self._clients:
            self._clients[port] = redis.Redis(port=port, decode_responses=True, socket_timeout=0.5)
        return self._clients[port]

    def kill_master(self) -> int:
        """SIGKILL the master by its PID file (a crash: no goodbye to its clients); returns its port."""
        port = self.master_port()
        pid = int((self.dir / f"redis-{port}.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        return port

    def failover(self) -> int:
        """`SENTINEL FAILOVER` (what ops do for maintenance: the old master stays up); returns the old port."""
        port = self.master_port()
        client = redis.Redis(port=SENTINEL_PORTS[0])
        try:
            client.execute_command("SENTINEL", "FAILOVER", MASTER_NAME)
        finally:
            client.close()
        return port

    def wait_new_master(self, old: int, timeout: float = 15.0) -> tuple[int, float]:
        """Wait until the sentinels name another master and it takes writes; (its port, seconds it took)."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            port = self.master_port()
            if port is not None and port != old:
                try:
                    if self.master().info("replication")["role"] == "master":
                        return port, time.monotonic() - began
                except redis.RedisError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"no new master within {timeout} s (still {old})")


def login(config_dir: Path, agent: str, device: str = "softphone") -> None:
    """`callcontrol agent login AGENT` with the sentinel settings of `config_dir` (no CALLCONTROL_REDIS_URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")}
    done = subprocess.run(
        [sys.executable, "-m", "callcontrol", "--config", str(config_dir), "--secrets", "/nonexistent",
         "agent", "login", agent, "--device", device],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, f"login {agent}: {done.stdout}{done.stderr}"
