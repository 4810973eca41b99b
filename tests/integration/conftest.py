"""Integration fixtures: a real Asterisk 22 (chroot), a real Redis, SIPp people; see docs/testing.md.

Nothing here skips: when Asterisk or Redis cannot start, every integration test fails with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import appproc
import pytest
import redis
import sipp as sipp_mod
from harness import (
    REDIS_PORT,
    STATE,
    Ari,
    AsteriskHandle,
    log_since,
    log_size,
    resolve_log,
    script,
)

TRACES = STATE / "test-traces"
_LOG_MARK = pytest.StashKey[int]()
_TRACE_DIR = pytest.StashKey[Path]()
_ASTERISK_LOG = pytest.StashKey[Path]()
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/integration/ is an integration test (-m "not integration" leaves them out). Tests
    marked `slow` (minutes, beyond the CI budget) are skipped unless CALLCONTROL_SLOW=1 (`scripts/test --slow`)."""
    run_slow = os.environ.get("CALLCONTROL_SLOW") == "1"
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.integration)
        if not run_slow and item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.skip(reason="slow: run with CALLCONTROL_SLOW=1 (scripts/test --slow)"))


# ------------------------------------------------------------------------------------------------ session


@pytest.fixture(scope="session")
def asterisk() -> Iterator[AsteriskHandle]:
    """Asterisk 22 up (scripts/asterisk start; a no-op when it already runs), ARI answering, version checked."""
    was_running = script("asterisk", "status").returncode == 0
    started = script("asterisk", "start")
    log_path = resolve_log(Path(script("asterisk", "log").stdout.strip()))
    if started.returncode != 0:
        pytest.fail(
            f"scripts/asterisk start failed ({started.returncode}):\n{started.stdout}{started.stderr}\n"
            f"--- {log_path} ---\n{log_since(log_path, 0, 60)}",
            pytrace=False,
        )
    ari = Ari()
    try:
        version = ari.version()
    except Exception as e:
        pytest.fail(f"ARI does not answer after scripts/asterisk start: {e}", pytrace=False)
    if not version.startswith("22."):
        pytest.fail(f"Asterisk 22 expected, ARI reports {version!r}", pytrace=False)
    # AstDB outlives Asterisk restarts: an on-call holder an earlier session stored must not ring in this one.
    script("asterisk", "cli", "database deltree callcontrol")
    # The demo stack's callcontrol would take the tests' calls (same ARI application name). ARI's application
    # list cannot tell (it keeps inactive applications listed), our PID file can.
    if script("stack", "status").stdout.startswith("callcontrol running"):
        pytest.fail(
            "the demo stack's callcontrol is running against this Asterisk and would take the tests' calls: "
            "`scripts/stack down` first (scripts/test does it).",
            pytrace=False,
        )
    yield AsteriskHandle(ari=ari, version=version, log_path=log_path, started_here=not was_running)
    # Left running on purpose (others use it); CALLCONTROL_TEST_STOP=1 stops what this session started.
    if os.environ.get("CALLCONTROL_TEST_STOP") == "1" and not was_running:
        script("asterisk", "stop")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """Redis up on 127.0.0.1:6390 (scripts/redis start); its URL."""
    was_running = script("redis", "status").returncode == 0
    started = script("redis", "start")
    if started.returncode != 0:
        output = started.stdout + started.stderr
        pytest.fail(f"scripts/redis start failed ({started.returncode}):\n{output}", pytrace=False)
    yield f"redis://127.0.0.1:{REDIS_PORT}/0"
    client = redis.Redis.from_url(f"redis://127.0.0.1:{REDIS_PORT}/0")  # the demo shares it: leave it empty, not
    try:  # with the last test's agents paused or in wrap-up on the real clock
        client.flushall()
    except redis.RedisError:
        pass
    finally:
        client.close()
    if os.environ.get("CALLCONTROL_TEST_STOP") == "1" and not was_running:
        script("redis", "stop")


# ------------------------------------------------------------------------------------------------ per test


@pytest.fixture(autouse=True)
def _integration_slate(request: pytest.FixtureRequest, asterisk: AsteriskHandle, redis_url: str) -> Iterator[None]:
    """Every integration test: Asterisk and Redis up, Redis empty; afterwards no channel or bridge is left."""
    request.node.stash[_LOG_MARK] = log_size(asterisk.log_path)
    request.node.stash[_ASTERISK_LOG] = asterisk.log_path
    yield
    asterisk.ari.hang_up_everything()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The test Redis, flushed (FLUSHALL) before the test."""
    client = redis.Redis.from_url(redis_server)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server


@pytest.fixture
def ari(asterisk: AsteriskHandle) -> Ari:
    """A plain ARI REST client (urllib; not the product's); leftovers are hung up after each test anyway."""
    return asterisk.ari


@pytest.fixture
def trace_dir(request: pytest.FixtureRequest) -> Path:
    """This test's directory for SIPp traces: $CALLCONTROL_STATE/test-traces/<test name>/, emptied first."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:150]
    path = TRACES / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    request.node.stash[_TRACE_DIR] = path
    return path


class People:
    """SIPp processes of one test: started through these methods, all stopped (SIGKILL by PID) at teardown."""

    def __init__(self, workdir: Path, ari: Ari) -> None:
        self.workdir = workdir
        self.ari = ari
        self.processes: list[sipp_mod.SippProcess] = []
        self.registered: list[str] = []

    def citizen(self, caller: str = "0612345678", called: str = "0556000000", **kw) -> sipp_mod.SippProcess:
        return self._track(sipp_mod.citizen_call(self.workdir, caller, called, **kw))

    def agent(self, user: str, **kw) -> sipp_mod.SippProcess:
        process = self._track(sipp_mod.agent_phone(self.workdir, user, **kw))
        self.registered.append(user)
        return process

    def carrier(self, **kw) -> sipp_mod.SippProcess:
        return self._track(sipp_mod.carrier_phone(self.workdir, **kw))

    def register(self, user: str, password: str, **kw) -> sipp_mod.Registration:
        result = sipp_mod.register(self.workdir, user, password, **kw)
        if result.registered:
            self.registered.append(user)
        return result

    def unregister(self, user: str) -> bool:
        return sipp_mod.unregister(self.workdir, user)

    def _track(self, process: sipp_mod.SippProcess) -> sipp_mod.SippProcess:
        self.processes.append(process)
        return process

    def close(self) -> None:
        # Hang up first, while the phones still answer the BYEs (a BYE to a dead port is retransmitted ~32 s and
        # lands on whatever binds the port next); then kill; then forget the registrations (stale contacts).
        steps = [self.ari.hang_up_everything, *(p.stop for p in self.processes)]
        steps += [lambda user=user: sipp_mod.unregister(self.workdir, user) for user in dict.fromkeys(self.registered)]
        errors = []
        for step in steps:  # every step runs, whatever failed before
            try:
                step()
            except Exception as e:
                errors.append(e)
        if errors:
            raise errors[0]


@pytest.fixture
def people(trace_dir: Path, ari: Ari) -> Iterator[People]:
    """Factory for SIPp citizens, agents' phones, the carrier and one-off REGISTERs (see tests/integration/sipp.py)."""
    p = People(trace_dir, ari)
    yield p
    p.close()


class Apps:
    """callcontrol processes of one test (tests/integration/appproc.py), stopped by PID at teardown."""

    def __init__(self, workdir: Path, ari: Ari, redis_url: str) -> None:
        self.workdir = workdir
        self.ari = ari
        self.redis_url = redis_url
        self.started: list[appproc.AppProcess] = []

    def config(self, overrides: dict[str, str] | None = None, name: str = "config") -> Path:
        return appproc.make_config(self.workdir / name, overrides)

    def start(self, config_dir: Path | None = None, **kw) -> appproc.AppProcess:
        app = appproc.AppProcess(self.workdir, config_dir or self.config(), self.redis_url, **kw)
        self.started.append(app)
        return app.start(self.ari)

    def close(self) -> None:
        for app in self.started:
            app.stop()


@pytest.fixture
def apps(trace_dir: Path, ari: Ari, redis_url: str) -> Iterator[Apps]:
    """Factory for callcontrol processes (`apps.start(clock=..., app=...)`); their JSON logs are in trace_dir."""
    a = Apps(trace_dir, ari, redis_url)
    yield a
    a.close()


# ------------------------------------------------------------------------------------------------ on failure


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed and _LOG_MARK in item.stash:
        log = item.stash[_ASTERISK_LOG]
        report.sections.append((f"Asterisk {log} (during this test)", log_since(log, item.stash[_LOG_MARK])))
        if _TRACE_DIR in item.stash:
            report.sections.append(("SIP traces", f"{item.stash[_TRACE_DIR]}  (messages.log per SIPp process)"))
    return report
