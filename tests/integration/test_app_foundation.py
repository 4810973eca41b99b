"""The foundation's "done when": callcontrol survives Asterisk, itself and Redis going away, refuses a broken
configuration clearly, and keeps citizens' numbers out of its logs. Real Asterisk, Redis, SIPp and callcontrol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from appproc import SHIPPED_CONFIG
from harness import REPO, ari_password, log_since, log_size, script, wait_until
from sipp import dtmf_plan

OPEN = "2026-11-23T10:00:00"  # a Monday morning: the town hall is open
CITIZEN = "0612345678"




def wait_for_line(app, offset: int, name: str, timeout: float = 10.0, **fields) -> dict:
    """The first log line `name` (with those fields) after the first `offset` lines of the app's log file."""
    deadline = time.monotonic() + timeout
    while True:
        for line in app.lines()[offset:]:
            if line.get("event") == name and all(line.get(k) == v for k, v in fields.items()):
                return line
        if time.monotonic() > deadline:
            tail = "\n".join(app.log_text().splitlines()[-30:])
            raise AssertionError(f"no {name} {fields} in callcontrol's log within {timeout} s:\n{tail}")
        time.sleep(0.05)


def shipped(name: str) -> str:
    return (SHIPPED_CONFIG / name).read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    """1-based line number of the first line containing `needle`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# ------------------------------------------------------------------------------------------------ Asterisk restart


def test_given_app_running_when_asterisk_restarts_then_app_reconnects_and_next_call_works(people, apps, ari):
    """After an Asterisk restart callcontrol reconnects by itself and the next citizen is answered as usual."""
    app = apps.start(clock=OPEN)

    restarted = script("asterisk", "restart")
    assert restarted.returncode == 0, f"scripts/asterisk restart failed:\n{restarted.stdout}{restarted.stderr}"
    app.wait_for("ari_connected", count=2, timeout=15)
    wait_until(lambda: "callcontrol" in ari.applications(), 5, "callcontrol registered again in ARI")

    citizen = people.citizen(CITIZEN, hangup_after=3)
    assert citizen.wait(15) == 0, citizen.describe()
    assert citizen.final_response("INVITE") == 200, citizen.describe()
    assert citizen.audio_received > 50, f"the citizen heard no prompt\n{citizen.describe()}"
    ended = app.wait_for("call_ended")[0]
    assert app.events("call_started", call_id=ended["call_id"]), "call_started missing for the new call"
    assert ended["outcome"] == "caller_hangup"
    assert app.process.poll() is None, "callcontrol exited during the Asterisk restart"


# ------------------------------------------------------------------------------------------------ callcontrol restart


def test_given_citizen_in_menu_when_callcontrol_restarts_then_call_is_kept_and_adopted(people, apps, ari, asterisk):
    """A callcontrol restart never drops a citizen: the call waits in Asterisk and the new instance adopts it;
    meanwhile a new caller gets the dialplan fallback (answered with audio, never 603)."""
    mark = log_size(asterisk.log_path)
    first = apps.start(clock=OPEN)
    citizen = people.citizen(CITIZEN, hangup_after=60)
    first.wait_for("call_step", step="gather:main-menu", timeout=10)

    # (ARI still lists the application while one of its channels waits: Asterisk keeps it, inactive.)
    assert first.stop() == 0, "callcontrol did not exit cleanly on SIGTERM"
    assert first.wait_for("call_ended")[0]["outcome"] == "interrupted"
    channels = ari.channels()
    assert len(channels) == 1, "the citizen's channel must stay up in Asterisk while the app is down"
    citizen_channel = channels[0]["id"]

    newcomer = people.citizen("0698765432", hangup_after=3)
    assert newcomer.wait(15) == 0, newcomer.describe()
    assert newcomer.final_response("INVITE") == 200, f"the fallback route must answer\n{newcomer.describe()}"
    assert not newcomer.received(603), newcomer.describe()
    assert newcomer.audio_received > 50, f"the fallback prompt was not heard\n{newcomer.describe()}"
    assert not citizen.received("BYE"), f"the citizen was hung up while the app was down\n{citizen.describe()}"

    heard_before = citizen.audio_received
    offset = 0  # each process started by the `apps` fixture has its own log file
    second = apps.start(clock=OPEN)
    adopted = wait_for_line(second, offset, "call_adopted")
    resumed = wait_for_line(second, offset, "call_started", resumed=True)
    assert adopted["channel"] == resumed["channel"] == citizen_channel
    wait_for_line(second, offset, "call_step", timeout=30, step="gather:main-menu", call_id=resumed["call_id"])
    citizen.wait_until(lambda: citizen.audio_received > heard_before + 100, 10, "prompts after the adoption")
    welcomes = log_since(asterisk.log_path, mark, 100_000).count("Playing 'callcontrol/welcome.")
    assert welcomes == 2, f"the adopted call should restart its flow (welcome played {welcomes} times)"
    assert citizen.running and not citizen.received("BYE"), citizen.describe()
    assert not second.events("call_failed")


# ------------------------------------------------------------------------------------------------ broken configuration

_MAIN = shipped("flows/main.yaml")
_AGENTS = shipped("agents.yaml")
BROKEN = {
    "yaml_syntax": (
        "flows/main.yaml",
        _MAIN.replace("          2: urbanisme", "          2: [urbanisme"),
        "          2: [urbanisme",
        None,  # a syntax error has no parsed key path: file, line and "invalid YAML" are expected
    ),
    "unknown_flow_key": (
        "flows/main.yaml",
        _MAIN.replace("        timeout: 5\n", "        timout: 5\n"),
        "        timout: 5",
        "flows.main[3].gather.timout",
    ),
    "unknown_hotline_in_agents": (
        "agents.yaml",
        _AGENTS.replace("{etat-civil: 0, urbanisme: 0}", "{etat-civil: 0, urbanism: 0}"),
        "urbanism: 0}",
        "agents[1].hotlines.urbanism",
    ),
    # No asterisk-conf/ beside this config dir: only Asterisk's own GET /ari/endpoints/PJSIP can tell.
    "softphone_asterisk_does_not_define": (
        "agents.yaml",
        _AGENTS.replace('softphone: "1003"', 'softphone: "1009"'),
        'softphone: "1009"',
        "agents[2].softphone",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_given_broken_config_when_run_then_exits_2_naming_file_line_and_key(case, apps, trace_dir: Path):
    """A configuration mistake stops `callcontrol run` with exit code 2 and a located message, never a traceback."""
    name, text, bad_line, key_path = BROKEN[case]
    assert text != shipped(name), "the mutation did not apply: the shipped file changed"
    config = apps.config({name: text}, name=f"config-{case}")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")},
        "CALLCONTROL_ARI_PASSWORD": ari_password(),
        "CALLCONTROL_REDIS_URL": apps.redis_url,
        "CALLCONTROL_ARI_APP": "callcontrol-badconfig",  # never the tests' app name, should it start after all
        "CALLCONTROL_LOG_SALT": "test-salt",
    }
    argv = [sys.executable, "-m", "callcontrol", "--config", str(config), "--secrets", "/nonexistent", "run"]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=20, check=False)

    output = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 2, output
    assert "Traceback" not in done.stderr + done.stdout, output
    bad = line_of(text, bad_line)
    if key_path is None:  # PyYAML reports where it noticed the mistake: that line or the next
        lines = [ln for ln in done.stderr.splitlines() if f"{name}:{bad}:" in ln or f"{name}:{bad + 1}:" in ln]
        assert lines and "invalid YAML" in lines[0], f"no line of stderr names {name}:{bad}\n{output}"
    else:
        assert f"{name}:{bad}: {key_path}:" in done.stderr, output


def test_given_no_ari_password_when_run_then_exits_2_saying_asterisk_refused_the_credentials(apps):
    """Without CALLCONTROL_ARI_PASSWORD Asterisk answers 401: `run` says so and exits 2, instead of reconnecting
    forever; check-config says the same."""
    config = apps.config(name="config-no-password")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")}
    env |= {"CALLCONTROL_REDIS_URL": apps.redis_url, "CALLCONTROL_ARI_APP": "callcontrol-badconfig"}
    for command in ("run", "check-config"):
        argv = [sys.executable, "-m", "callcontrol", "--config", str(config), "--secrets", "/nonexistent", command]
        done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=20, check=False)
        output = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        assert done.returncode == 2, output
        assert "Asterisk refused the ARI credentials (401)" in done.stderr, output
        assert "set CALLCONTROL_ARI_PASSWORD" in done.stderr and "Traceback" not in done.stderr, output


# ------------------------------------------------------------------------------------------------ Redis outage


def test_given_citizen_in_menu_when_redis_stops_then_call_continues_and_next_call_works(people, apps):
    """Redis going away does not cut a citizen off: without a degraded route (degraded.context "", the default one
    has its own test in test_redis_loss.py) the flow goes on (the service is 'unavailable'); once Redis is back,
    new calls are served and journaled again."""
    no_degraded_route = shipped("callcontrol.yaml").replace("context: callcontrol-degraded", 'context: ""')
    app = apps.start(clock=OPEN, config_dir=apps.config({"callcontrol.yaml": no_degraded_route}))
    citizen = people.citizen(CITIZEN, hangup_after=60)
    app.wait_for("call_step", step="gather:main-menu", timeout=10)
    try:
        stopped = script("redis", "stop")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        heard_before = citizen.audio_received
        citizen.send_dtmf("1")
        ended = app.wait_for("call_ended", timeout=30)[0]
        assert citizen.wait(5) == 0, citizen.describe()
    finally:
        started = script("redis", "start")
    assert started.returncode == 0, started.stdout + started.stderr

    assert not app.events("call_failed"), app.log_text()[-3000:]
    assert ended["outcome"] == "completed", ended  # the town hall's own goodbye, not a crash
    path = ended["path"]
    assert path[path.index("digit:1") :][:3] == ["digit:1", "enqueue:etat-civil", "queue:unavailable"], path
    assert path[-1] == "hangup", path
    assert citizen.audio_received > heard_before + 250, f"the 'unavailable' message was not heard\n{citizen.describe()}"

    caller = people.citizen("0698765432", dtmf=dtmf_plan("1", first_pause=1.0), hangup_after=6)
    assert caller.wait(15) == 0, caller.describe()
    assert caller.final_response("INVITE") == 200 and caller.audio_received > 50, caller.describe()
    second = app.wait_for("call_ended", count=2, timeout=10)[1]
    assert "queue:unavailable" in second["path"], second
    assert not app.events("call_failed")
    # Ops' view: the call during the outage could not be journaled (and says so); the next one is journaled again.
    assert app.events("journal_write_failed", call_id=ended["call_id"])
    client = redis.Redis.from_url(apps.redis_url)
    try:
        journal = [json.loads(fields[b"json"]) for _, fields in client.xrange("cc:journal")]
    finally:
        client.close()
    assert [entry["call_id"] for entry in journal] == [second["call_id"]], journal
    assert app.process.poll() is None


# ------------------------------------------------------------------------------------------------ logs


def test_given_citizen_call_when_logged_then_number_masked_and_one_call_id_per_call(people, apps):
    """callcontrol's log never holds a citizen's full number; every line of a call carries its call_id."""
    app = apps.start(clock=OPEN)
    citizen = people.citizen(CITIZEN, dtmf=dtmf_plan("1", first_pause=1.0), hangup_after=6)
    assert citizen.wait(15) == 0, citizen.describe()
    ended = app.wait_for("call_ended")[0]

    text = app.log_text()
    for leak in (CITIZEN, CITIZEN[1:], "+33" + CITIZEN[1:]):
        assert leak not in text, f"{leak} appears in callcontrol's log"

    lines = app.lines()
    call_id = ended["call_id"]
    first = next(i for i, line in enumerate(lines) if line.get("event") == "call_started")
    last = next(i for i, line in enumerate(lines) if line.get("event") == "call_ended")
    during = lines[first : last + 1]
    assert {line.get("call_id") for line in during} == {call_id}, [
        line for line in during if line.get("call_id") != call_id
    ]
    assert {line["event"] for line in during} >= {"call_started", "flow_started", "call_step", "call_ended"}
    assert [line.get("channel") for line in during].count(ended["channel"]) == len(during)
    assert ended["outcome"] == "caller_hangup"
    assert isinstance(ended["duration"], int | float) and 5 <= ended["duration"] <= 10, ended
