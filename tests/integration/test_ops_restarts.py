"""Restarting a piece of the stack by hand keeps what must be kept: Redis comes back with the agents' presence
(AOF persistence, deploy/redis.conf), and Asterisk is restarted only when its configuration really changed, never
silently over live calls (scripts/asterisk)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from appproc import SHIPPED_CONFIG
from harness import REPO, STATE, ari_password, script

CITIZEN = "0612345678"


def asterisk_identity(ari) -> tuple[str, str]:
    """(PID in scripts/asterisk's PID file, Asterisk's own start-up time from ARI): both change on a restart."""
    return (STATE / "asterisk.pid").read_text().strip(), ari.info()["status"]["startup_time"]


def start_asterisk_as_the_stack_does(**env: str) -> subprocess.CompletedProcess[str]:
    """`scripts/asterisk start` with the environment `scripts/stack up` gives it (load_secrets, scripts/_lib.sh)."""
    shell = ". scripts/_lib.sh && load_secrets && exec scripts/asterisk start"
    return subprocess.run(
        ["bash", "-c", shell], cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


# ------------------------------------------------------------------------------------------------ Asterisk


def test_given_asterisk_restarted_by_hand_when_stack_starts_then_asterisk_is_not_restarted_again(ari):
    """`scripts/asterisk restart` then `scripts/stack up` (same configuration, same secrets) keeps that Asterisk:
    the second start must not drop the calls the first one carries."""
    restarted = script("asterisk", "restart")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    before = asterisk_identity(ari)

    started = start_asterisk_as_the_stack_does()
    assert started.returncode == 0, started.stdout + started.stderr
    assert "already running" in started.stderr, started.stderr
    assert asterisk_identity(ari) == before, f"Asterisk was restarted again:\n{started.stderr}"


def test_given_live_call_when_asterisk_configuration_changes_then_start_refuses_to_drop_it(people, ari):
    """A configuration change with a call up: `scripts/asterisk start` says how many calls would drop and
    refuses (exit 4) unless forced; the citizen stays connected."""
    assert "callcontrol" not in ari.applications(), "precondition: no callcontrol ARI app may be connected"
    carrier = people.carrier(answer_after=0.5)
    citizen = people.citizen(CITIZEN, hangup_after=120)
    carrier.wait_until(lambda: carrier.answered, 20, "the fallback route bridged the on-call phone")
    before = asterisk_identity(ari)
    changed = {"CALLCONTROL_AGENT_SIP_PASSWORD": "another-agent-password"}  # a real change of pjsip.conf
    try:
        refused = start_asterisk_as_the_stack_does(**changed)
        status = subprocess.run(
            [str(REPO / "scripts/asterisk"), "status"], env={**os.environ, **changed}, capture_output=True, text=True
        )
    finally:
        if asterisk_identity(ari) != before:  # it restarted anyway: put the tests' configuration back
            script("asterisk", "start")

    assert refused.returncode == 4, refused.stdout + refused.stderr
    calls = re.search(r"configuration changed: NOT restarting, (\d+) active calls would drop", refused.stderr)
    assert calls and int(calls.group(1)) >= 1, refused.stderr
    assert "--force" in refused.stderr and "CALLCONTROL_FORCE_RESTART=1" in refused.stderr, refused.stderr
    assert asterisk_identity(ari) == before, "Asterisk restarted over a live call"
    assert "configuration changed since it started" in status.stdout, status.stdout
    assert not citizen.received("BYE") and citizen.running, f"the citizen was cut off\n{citizen.describe()}"


# ------------------------------------------------------------------------------------------------ Redis


def agent_cli(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")},
        "CALLCONTROL_REDIS_URL": redis_url,
        "CALLCONTROL_ARI_PASSWORD": ari_password(),
    }
    argv = [sys.executable, "-m", "callcontrol", "--config", str(SHIPPED_CONFIG), "--secrets", "/nonexistent"]
    return subprocess.run([*argv, "agent", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=20)


def test_given_agent_logged_in_when_redis_restarts_then_agent_is_still_logged_in(apps, people, redis_url):
    """Redis restarted by scripts/redis (AOF, appendfsync everysec): the agent logged in before is still
    available after, with no callcontrol restart."""
    app = apps.start()  # writes the agent directory to Redis
    people.agent("1001")  # her softphone is registered: a login is accepted only then
    login = agent_cli(redis_url, "login", "alice")
    assert login.returncode == 0 and "available" in login.stdout, login.stdout + login.stderr
    app.stop()

    persistence = script("redis", "cli", "config", "get", "append*").stdout.split()
    assert dict(zip(persistence[::2], persistence[1::2], strict=True)).get("appendfsync") == "everysec", persistence
    assert "appendonly" in persistence and persistence[persistence.index("appendonly") + 1] == "yes", persistence
    restarted = script("redis", "restart")
    if restarted.returncode != 0:
        script("redis", "start")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr

    status = agent_cli(redis_url, "status", "alice")
    assert status.returncode == 0, status.stdout + status.stderr
    assert re.search(r"^alice\s+available\b", status.stdout, re.M), status.stdout
