"""One clock for every process: a CLI run during a demo writes on the running app's city clock (cc:clock).

Real Asterisk, Redis, SIPp and callcontrol. The demo clock is years ahead of real time, so a closure timed on
the CLI's own real clock would already be over for the app.
"""

from __future__ import annotations

import os
import subprocess
import sys

from appproc import SHIPPED_CONFIG
from harness import REPO, ari_password

DEMO = "2030-03-05T10:00:00"  # a Tuesday morning, open; far ahead of the real clock


def cli(apps, *argv: str) -> subprocess.CompletedProcess[str]:
    """The command line as ops type it, in a process of its own (no CALLCONTROL_CLOCK: it must not need one)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")},
        "CALLCONTROL_REDIS_URL": apps.redis_url,
        "CALLCONTROL_ARI_PASSWORD": ari_password(),
    }
    base = [sys.executable, "-m", "callcontrol", "--config", str(SHIPPED_CONFIG), "--secrets", "/nonexistent"]
    done = subprocess.run([*base, *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_given_demo_clock_when_cli_closes_for_30_minutes_then_running_app_treats_calls_as_closed(people, apps):
    """`closed on --minutes 30` from the CLI during a demo closes the town hall for the app too, and shows so."""
    app = apps.start(clock=DEMO)
    app.wait_for("clock_shared")
    cli(apps, "closed", "on", "--minutes", "30")
    status = cli(apps, "closed", "status").stdout
    assert "all: closed until 2030-03-05 10:3" in status, status
    citizen = people.citizen("0612345678", hangup_after=6)
    call_id = app.wait_for("call_started")[0]["call_id"]
    app.wait_for("call_step", step="schedule:manual_closed", call_id=call_id, timeout=15)
    assert citizen.wait(15) == 0, citizen.describe()
