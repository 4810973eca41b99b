"""Redis goes away and comes back (issue 8): the citizen never waits for it, a Redis that came back empty is
noticed and refilled by callcontrol itself, and an adopted call's journal covers the whole call. Real Asterisk,
Redis, SIPp and callcontrol."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import redis
from harness import REPO, log_since, log_size, script, wait_until
from hotline_kit import config_files, journal, login

OPEN = "2026-11-23T10:00:00"  # a Monday morning: the town hall is open
CITIZEN = "0612345678"
PUBLIC_NUMBER = "+33556000000"
ONCALL = "+33612000001"




def agent_status(config_dir, redis_url: str, agent: str) -> str:
    """`callcontrol agent status AGENT`, as the switchboard types it: its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")}
    env["CALLCONTROL_REDIS_URL"] = redis_url
    done = subprocess.run(
        [sys.executable, "-m", "callcontrol", "--config", str(config_dir), "--secrets", "/nonexistent",
         "agent", "status", agent],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert done.returncode == 0, f"agent status {agent}: {done.stdout}{done.stderr}"
    return done.stdout


def test_given_redis_down_when_citizen_chooses_a_hotline_then_oncall_phone_rings_at_once_then_voicemail(
    people, apps, asterisk
):
    """Redis unreachable: a citizen pressing 1 is handed to the degraded route at once: the on-call phone is
    called within ~3 s as the town hall (public number), and when it does not take the call, voicemail. The log
    says the outage once (no traceback, no line per second)."""
    app = apps.start(clock=OPEN)
    carrier = people.carrier(mode="busy")  # the on-call phone does not take the call
    mark = log_size(asterisk.log_path)
    try:
        stopped = script("redis", "stop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        citizen = people.citizen(CITIZEN, hangup_after=40)
        app.wait_for("call_step", step="gather:main-menu", timeout=15)
        heard = citizen.audio_received
        pressed = time.monotonic()
        citizen.send_dtmf("1")
        carrier.wait_until(lambda: carrier.received("INVITE"), 6, "the on-call phone was called")
        waited = time.monotonic() - pressed
        wait_until(
            lambda: "fallback@callcontrol" in log_since(asterisk.log_path, mark, 100_000), 15, "voicemail started"
        )
        citizen.wait_until(lambda: citizen.audio_received > heard + 250, 10, "the voicemail prompt")
        assert citizen.running and not citizen.received("BYE"), citizen.describe()
        time.sleep(3.0)  # Redis still away: nothing may repeat in the log meanwhile
    finally:
        started = script("redis", "start")
    assert started.returncode == 0, started.stdout + started.stderr

    assert waited < 3.5, f"the on-call phone was called {waited:.1f} s after the citizen's choice"
    invite = carrier.received("INVITE")[0]
    assert invite.request_uri.startswith(f"sip:{ONCALL}@"), invite.request_uri
    for name in ("From", "P-Asserted-Identity"):
        value = invite.header(name)
        assert value and PUBLIC_NUMBER in value and CITIZEN[1:] not in value, f"{name}: {value}"
    ended = app.wait_for("call_ended", timeout=5)[0]
    assert ended["outcome"] == "completed", ended
    path = ended["path"]
    assert path[path.index("digit:1") :] == ["digit:1", "enqueue:etat-civil", "queue:degraded"], path
    # Ops' view: the outage said once, each citizen's fallback said once, no traceback.
    assert len(app.events("redis_unreachable")) == 1, app.log_text()[-3000:]
    assert not app.events("heartbeat_failed") and not app.events("call_failed")
    closures = app.events("manual_closures_unavailable")
    assert closures and all("error" in c and "exception" not in c for c in closures), closures
    assert "Traceback" not in app.log_text()


def test_given_agent_logged_in_when_redis_restarts_empty_then_calls_are_routed_again_and_lost_presence_reported(
    people, apps, redis_url
):
    """A Redis that comes back without its data (no persistence) gets the directory again from callcontrol by
    itself: the agent who was logged in is named in one presence_lost line, `agent status` shows her logged out
    with that reason, and once she logs in again a citizen reaches her, without restarting callcontrol."""
    config = apps.config(config_files())
    app = apps.start(config_dir=config)
    people.agent("1001", answer_after=0.2, hangup_after=2.0)
    login(config, redis_url, "alice")
    time.sleep(1.5)  # the instance has seen her logged in

    assert script("redis", "stop").returncode == 0
    restarted = script("redis", "start")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    client = redis.Redis.from_url(redis_url)
    try:
        client.flushall()  # it came back without its data (a new server, no persistence, a wiped disk)
    finally:
        client.close()

    lost = app.wait_for("presence_lost", timeout=10)
    assert len(lost) == 1 and lost[0]["agents"] == ["alice"], lost
    status = agent_status(config, redis_url, "alice")
    assert "logged_out" in status and "presence_lost" in status, status
    login(config, redis_url, "alice")  # refused (unknown agent) if the directory were still missing
    citizen = people.citizen(CITIZEN, hangup_after=30)
    connected = app.wait_for("call_step", step="connected", timeout=10)[0]
    assert connected["agent"] == "alice"
    assert citizen.wait(15) == 0, citizen.describe()
    assert app.wait_for("call_ended", timeout=5)[0]["outcome"] == "answered"
    assert len(app.events("presence_lost")) == 1 and app.process.poll() is None


def test_given_citizen_talking_when_callcontrol_restarts_then_the_one_journal_entry_covers_the_whole_call(
    people, apps, redis_url
):
    """An adopted conversation is journaled once, from the citizen's real start: the path from the flow's start
    through the queue and the connection, the agent, and a duration covering the whole call."""
    config = apps.config(config_files(wrap_up=0.5))
    first = apps.start(config_dir=config)
    people.agent("1001", answer_after=0.2, hangup_after=8.0)
    login(config, redis_url, "alice")
    called_at = time.time()
    citizen = people.citizen(CITIZEN, hangup_after=60)
    first.wait_for("call_step", step="connected", timeout=10)
    time.sleep(1.0)

    restart_at = time.time()
    assert first.stop() == 0
    second = apps.start(config_dir=config)
    second.wait_for("call_step", step="connected:resumed", agent="alice", timeout=10)
    assert citizen.wait(20) == 0 and citizen.received("BYE"), citizen.describe()  # alice hangs up at 8 s
    ended_at = time.time()
    second.wait_for("call_ended", timeout=5)
    released = second.wait_for("agent_released", agent="alice", timeout=5)[0]

    entries = journal(redis_url)
    assert len(entries) == 1, entries
    entry = entries[0]
    assert called_at - 1 <= entry["started_at"] < restart_at - 1, (called_at, entry["started_at"], restart_at)
    steps = [p["step"] for p in entry["path"]]
    assert steps[0] == "flow:main", steps
    for step in ("enqueue:etat-civil", "queue:waiting", "connected", "connected:resumed", "agent_hung_up"):
        assert step in steps, steps
    assert steps.index("queue:waiting") < steps.index("connected") < steps.index("connected:resumed"), steps
    assert entry["agent"] == "alice" and entry["outcome"] == "answered", entry
    assert entry["duration"] >= ended_at - called_at - 2, entry
    assert released["handled"] >= 5, released  # from the connection (~6 s), not from the adoption (~3 s)
