"""The demo city's call flow end to end (config/flows/main.yaml): menu branches, wrong keys, silence, closed
hours, English, and how fast the next prompt follows a key. Real Asterisk, Redis, SIPp and callcontrol, with the
city clock set through CALLCONTROL_CLOCK. No agent is logged in, so every queue answers "unavailable"."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from appproc import SHIPPED_CONFIG
from harness import REPO, ari_password, log_since, log_size
from sipp import dtmf_plan

OPEN = "2026-11-23T10:00:00"  # a Monday morning, open
# In the shipped flow a citizen hears welcome (1.9 s) and "For English, press 8" (2 s); the menu starts ~4 s after
# the answer and lasts ~15 s. Keys at MENU_KEY_AT s interrupt it.
MENU_KEY_AT = 5.0
MENU = {"1": "etat-civil", "2": "urbanisme", "3": "services-techniques", "4": "ccas", "0": "standard"}


class AsteriskLog:
    """Asterisk's full log from the start of the test: what was played to whom, in which language."""

    def __init__(self, asterisk) -> None:
        self.path = asterisk.log_path
        self.mark = log_size(self.path)

    def plays(self, sound: str, language: str | None = None) -> list[str]:
        pattern = re.compile(rf"Playing '{re.escape(sound)}\.\w+' \(language '(\w+)'\)")
        return [
            line
            for line in log_since(self.path, self.mark, 100_000).splitlines()
            if (m := pattern.search(line)) and (language is None or m.group(1) == language)
        ]

    def wait_plays(self, sound: str, count: int = 1, language: str | None = None, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.plays(sound, language)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"Asterisk did not play {sound} ({language}) {count} time(s) within {timeout} s")
            time.sleep(0.05)


@pytest.fixture
def asterisk_log(asterisk) -> AsteriskLog:
    return AsteriskLog(asterisk)


def steps(app, call_id: str) -> list[str]:
    """The call's path so far, from its call_step lines."""
    return [line["step"] for line in app.events("call_step", call_id=call_id)]


def follows(path: list[str], *expected: str) -> bool:
    """`expected` appear in `path` in this order, one right after the other."""
    n = len(expected)
    return any(tuple(path[i : i + n]) == expected for i in range(len(path) - n + 1))


def only_call(app) -> str:
    return app.wait_for("call_started")[0]["call_id"]


# ------------------------------------------------------------------------------------------------ menu


def test_given_open_hours_when_citizens_press_each_menu_key_then_each_reaches_its_hotline(people, apps):
    """Keys 1, 2, 3, 4 and 0 queue the citizen for état civil, urbanisme, services techniques, CCAS, standard."""
    app = apps.start(clock=OPEN)
    callers = {digit: f"06123456{10 + i}" for i, digit in enumerate(MENU)}
    citizens = {
        digit: people.citizen(caller, dtmf=dtmf_plan(digit, first_pause=MENU_KEY_AT), hangup_after=8)
        for digit, caller in callers.items()
    }
    for citizen in citizens.values():
        assert citizen.wait(20) == 0, citizen.describe()
    app.wait_for("call_ended", count=len(MENU))

    for digit, hotline in MENU.items():
        started = app.events("call_started", caller=f"+33 6•• •• •• {callers[digit][-2:]}")
        assert len(started) == 1, f"no single call from {callers[digit]}"
        ended = app.events("call_ended", call_id=started[0]["call_id"])[0]
        assert follows(ended["path"], f"digit:{digit}", f"enqueue:{hotline}", "queue:unavailable"), ended["path"]
        assert citizens[digit].audio_received > 100, citizens[digit].describe()
    assert not app.events("call_failed")


def test_given_menu_when_citizen_presses_invalid_key_then_menu_replays_and_valid_key_still_works(
    people, apps, asterisk_log
):
    """A key that is not on the menu says "not a valid choice" and replays the menu; a valid key then works."""
    app = apps.start(clock=OPEN)
    citizen = people.citizen("0612345678", dtmf=dtmf_plan("7", first_pause=MENU_KEY_AT), hangup_after=30)
    call_id = only_call(app)
    asterisk_log.wait_plays("callcontrol/invalid-choice")
    asterisk_log.wait_plays("callcontrol/main-menu", count=2)  # the menu again, from its start

    citizen.send_dtmf("1")
    app.wait_for("call_step", step="queue:unavailable", call_id=call_id)
    path = steps(app, call_id)
    assert follows(path, "gather:main-menu", "invalid:7", "digit:1", "enqueue:etat-civil"), path
    assert not citizen.received("BYE"), citizen.describe()


def test_given_menu_when_citizen_presses_nothing_then_switchboard_after_retries(people, apps):
    """Silence through the menu and its retries sends the citizen to the switchboard (standard)."""
    # The demo menu, with a beep for a prompt and a 1 s timeout: same retries and branches, seconds instead of a minute.
    main = (SHIPPED_CONFIG / "flows/main.yaml").read_text(encoding="utf-8")
    short = main.replace("prompt: callcontrol/main-menu", "prompt: beep").replace("timeout: 5\n", "timeout: 1\n")
    assert short.count("prompt: beep") == 1 and "timeout: 1\n" in short, "the demo flow changed: update this test"
    app = apps.start(clock=OPEN, config_dir=apps.config({"flows/main.yaml": short}))

    citizen = people.citizen("0612345678", hangup_after=30)
    call_id = only_call(app)
    app.wait_for("call_step", step="queue:unavailable", call_id=call_id, timeout=20)
    path = steps(app, call_id)
    assert path.count("no_input") == 3, path  # the menu and its 2 retries
    assert follows(path, "no_input", "gather_failed:no_input", "enqueue:standard", "queue:unavailable"), path
    assert not citizen.received("BYE"), citizen.describe()


# ------------------------------------------------------------------------------------------------ closed


def closed_now(apps) -> None:
    """Staff's "closed now" switch, through the command line as ops would use it."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")},
        "CALLCONTROL_REDIS_URL": apps.redis_url,
        "CALLCONTROL_ARI_PASSWORD": ari_password(),
    }
    argv = [sys.executable, "-m", "callcontrol", "--config", str(SHIPPED_CONFIG), "--secrets", "/nonexistent"]
    done = subprocess.run([*argv, "closed", "on"], cwd=REPO, env=env, capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("clock", "state", "manual"),
    [
        pytest.param("2026-11-22T10:00:00", "schedule:closed", False, id="sunday"),
        pytest.param("2026-12-25T10:00:00", "schedule:holiday", False, id="christmas"),
        pytest.param(OPEN, "schedule:manual_closed", True, id="closed-now-switch"),
    ],
)
def test_given_town_hall_closed_when_citizen_calls_then_closed_message_and_9_reaches_on_call(
    clock, state, manual, people, apps, asterisk_log
):
    """Closed (weekend, public holiday, staff's switch): the closed message plays and 9 reaches the on-call line."""
    app = apps.start(clock=clock)
    if manual:
        closed_now(apps)
    citizen = people.citizen("0612345678", dtmf=dtmf_plan("9", first_pause=3.0), hangup_after=6)
    call_id = only_call(app)
    app.wait_for("call_step", step="queue:unavailable", call_id=call_id)
    path = steps(app, call_id)
    assert follows(path, state, "flow:closed", "gather:closed-menu", "digit:9", "enqueue:astreinte"), path
    assert asterisk_log.plays("callcontrol/closed", "fr"), "the citizen never heard the closed message"
    assert citizen.wait(10) == 0, citizen.describe()


# ------------------------------------------------------------------------------------------------ language


def test_given_menu_when_citizen_presses_8_then_menu_and_rest_of_call_in_english(people, apps, asterisk_log):
    """8 switches the call to English: the menu replays in English and what follows stays in English."""
    app = apps.start(clock=OPEN)
    citizen = people.citizen("0612345678", dtmf=dtmf_plan("8", first_pause=3.0), hangup_after=30)
    call_id = only_call(app)
    asterisk_log.wait_plays("callcontrol/main-menu", language="en")

    citizen.send_dtmf("1")
    asterisk_log.wait_plays("callcontrol/service-unavailable", language="en")
    path = steps(app, call_id)
    assert follows(path, "digit:8", "language:en", "gather:main-menu", "digit:1", "enqueue:etat-civil"), path
    assert not asterisk_log.plays("callcontrol/main-menu", "fr"), "the French menu was played after all"


# ------------------------------------------------------------------------------------------------ latency


def test_given_key_pressed_when_next_prompt_starts_then_prompt_latency_logged(people, apps, trace_dir: Path):
    """Every key that leads to a prompt logs prompt_latency (key taken -> next prompt started), well under 1 s."""
    app = apps.start(clock=OPEN)
    # Four citizens at once: 7 during the menu ("not a valid choice"), then 1 during the replayed menu.
    plan = [(MENU_KEY_AT, "7"), (3.0, "1")]
    citizens = [people.citizen(f"06123456{20 + i}", dtmf=plan, hangup_after=10) for i in range(4)]
    for citizen in citizens:
        assert citizen.wait(20) == 0, citizen.describe()
    app.wait_for("call_ended", count=len(citizens))

    lines = app.events("prompt_latency")
    per_call = {c["call_id"]: [x for x in lines if x["call_id"] == c["call_id"]] for c in app.events("call_ended")}
    for call_id, measured in per_call.items():
        assert [x["media"] for x in measured] == [
            "sound:callcontrol/invalid-choice",
            "sound:callcontrol/service-unavailable",
        ], (call_id, steps(app, call_id))
    latencies = sorted(x["latency_ms"] for x in lines)
    summary = {"n": len(latencies), "p50_ms": statistics.median(latencies), "max_ms": latencies[-1]}
    (trace_dir / "prompt_latency.json").write_text(json.dumps({**summary, "all_ms": latencies}))
    print(f"prompt_latency: {summary}")
    assert latencies[-1] < 1000, summary


TRANSFER_FLOW = """entry: {inbound: main}
allow_transfer_to: ["+33612000009"]
flows:
  main:
    - transfer: {number: "+33612000009", timeout: 5, no_answer: sorry}
    - hangup
    - id: sorry
      play: callcontrol/service-unavailable
    - hangup
"""


def test_given_transfer_step_when_citizen_calls_then_bridged_to_allowed_number_as_the_town_hall(people, apps):
    """`transfer` rings the allowed number through the carrier as the public number and bridges both ways;
    neither side learns the other's number."""
    app = apps.start(config_dir=apps.config({"flows/main.yaml": TRANSFER_FLOW}))
    carrier = people.carrier(answer_after=0.3, hangup_after=3.0)
    citizen = people.citizen("0612345678", hangup_after=30)
    assert citizen.wait(20) == 0, citizen.describe()
    invite = carrier.received("INVITE")[0]
    assert "+33612000009@" in invite.request_uri
    assert "+33556000000" in invite.from_ and "+33556000000" in (invite.pai or ""), invite.text
    assert not any("612345678" in m.text for m in carrier.received()), "the transfer target saw the citizen's number"
    assert not any("612000009" in m.text for m in citizen.received()), "the citizen saw the transfer target's number"
    assert carrier.audio_received > 30 and citizen.audio_received > 30
    ended = app.wait_for("call_ended")[0]
    assert "transfer:connected" in ended["path"] and ended["outcome"] == "completed"


def test_given_everyone_busy_too_long_when_citizen_waits_then_voicemail_and_journal_keeps_the_message(
    people, apps, redis_url
):
    """État civil's max wait reached: the citizen is asked for a message, it is recorded and the journal keeps
    the path with timestamps and the recording's name."""
    import redis

    hotlines = (SHIPPED_CONFIG / "hotlines.yaml").read_text(encoding="utf-8").replace(
        "    name: État civil\n", "    name: État civil\n    max_wait: 2\n    overflow_when_nobody: false\n"
    )
    app = apps.start(clock=OPEN, config_dir=apps.config({"hotlines.yaml": hotlines}))
    citizen = people.citizen("0612345678", dtmf=dtmf_plan("1", first_pause=MENU_KEY_AT), hangup_after=60)
    assert citizen.wait(60) == 0 and citizen.received("BYE"), citizen.describe()
    ended = app.wait_for("call_ended")[0]
    assert ["queue:timeout", "flow:voicemail", "record"] == [
        s for s in ended["path"] if s in ("queue:timeout", "flow:voicemail", "record")
    ]
    client = redis.Redis.from_url(redis_url)
    try:
        entry = json.loads(client.xrange("cc:journal")[-1][1][b"json"])
    finally:
        client.close()
    assert entry["outcome"] == "completed" and entry["hotline"] == "etat-civil"
    record = next(step for step in entry["path"] if step["step"] == "record")
    assert record["name"].startswith("callcontrol-") and record["duration"] > 0
    steps = [step["at"] for step in entry["path"]]
    assert steps == sorted(steps) and steps[0] >= 0, "the path's timestamps are in call order"
