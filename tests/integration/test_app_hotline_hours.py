"""A hotline's own opening hours (hotlines.yaml `schedule:`), end to end on the shipped demo configuration:
urbanisme answers in the morning only, while the town hall and état civil are open all afternoon."""

from __future__ import annotations

import time

import pytest
from hotline_kit import login
from sipp import dtmf_plan
from test_app_flows import MENU_KEY_AT, SHIPPED_CONFIG, AsteriskLog, steps

AFTERNOON = "2026-11-23T14:00:00"  # a Monday: the town hall is open, urbanisme (mornings only) is closed
BEFORE_NOON = "2026-11-23T11:59:45"  # urbanisme closes 15 s after the citizen called


@pytest.fixture
def asterisk_log(asterisk) -> AsteriskLog:
    return AsteriskLog(asterisk)


def test_given_afternoon_when_citizens_ask_for_urbanisme_and_etat_civil_then_only_etat_civil_queues(
    people, apps, redis_url, asterisk_log, ari
):
    """Urbanisme closed by its own hours sends its caller down the flow's `closed` branch (its hours, then a
    message), never to an agent; état civil, open, connects its caller to the same agent at the same time."""
    config = apps.config({})
    app = apps.start(clock=AFTERNOON, config_dir=config)
    bruno = people.agent("1002", answer_after=0.3, hangup_after=2.0)  # serves état civil and urbanisme
    login(config, redis_url, "bruno")
    planning = people.citizen("0612345601", dtmf=dtmf_plan("2", first_pause=MENU_KEY_AT), hangup_after=20)
    app.wait_for("call_step", step="queue:closed", timeout=15)
    civil = people.citizen("0612345602", dtmf=dtmf_plan("1", first_pause=MENU_KEY_AT), hangup_after=20)
    connected = app.wait_for("call_step", step="connected", timeout=15)[0]

    closed = app.events("call_step", step="queue:closed")[0]
    assert closed["hotline"] == "urbanisme" and "outside opening hours" in closed["reason"], closed
    assert connected["agent"] == "bruno" and connected["call_id"] != closed["call_id"]
    path = steps(app, closed["call_id"])
    assert "queue:waiting" not in path, path
    asterisk_log.wait_plays("callcontrol/urbanisme-closed", language="fr")
    app.wait_for("call_step", step="flow:voicemail", call_id=closed["call_id"], timeout=10)
    assert len(bruno.received("INVITE")) == 1, bruno.describe()  # only the état civil citizen rang bruno
    assert civil.wait(30) == 0, civil.describe()
    ari.hang_up_everything()  # the urbanisme citizen is recording a message: no need to wait for her to hang up
    assert planning.wait(10) == 0, planning.describe()


def test_given_citizen_waiting_when_hotline_closes_then_closed_branch_follows_within_a_second(
    people, apps, asterisk_log, ari
):
    """A citizen still waiting when urbanisme's hours end (12:00) leaves the queue for the `closed` branch at
    once: the hours are checked as each minute starts, the citizen is not left waiting for nobody."""
    hotlines = (SHIPPED_CONFIG / "hotlines.yaml").read_text(encoding="utf-8").replace(
        "    name: Urbanisme\n", "    name: Urbanisme\n    overflow_when_nobody: false\n"
    )
    app = apps.start(clock=BEFORE_NOON, config_dir=apps.config({"hotlines.yaml": hotlines}))
    citizen = people.citizen("0612345603", dtmf=dtmf_plan("2", first_pause=MENU_KEY_AT), hangup_after=40)
    waiting = app.wait_for("call_step", step="queue:waiting", timeout=15)[0]
    queued_at = time.monotonic()
    assert waiting["hotline"] == "urbanisme"
    closed = app.wait_for("call_step", step="queue:closed", timeout=20)[0]
    closed_after = time.monotonic() - queued_at
    # Queued at ~11:59:51 on the city clock: it must close at 12:00:00, i.e. some 9 s later, not 15 s or more.
    assert closed_after < 13, f"closed {closed_after:.1f} s after queueing"
    assert closed["call_id"] == waiting["call_id"] and closed["reason"].startswith("closed")
    asterisk_log.wait_plays("callcontrol/urbanisme-closed", language="fr")
    app.wait_for("call_step", step="flow:voicemail", call_id=closed["call_id"], timeout=10)
    ari.hang_up_everything()  # she is recording a message: no need to wait for her to hang up
    assert citizen.wait(10) == 0, citizen.describe()
