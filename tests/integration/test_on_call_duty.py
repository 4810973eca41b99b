"""On-call duty on the real stack: a handover moves the duty in one step (the next on-call call rings the
colleague's mobile through the carrier as the town hall, after the relief announcement), the last one on duty
cannot log out, and with callcontrol killed the dialplan fallback rings whoever is on duty now, even after an
Asterisk restart (AstDB through AMI)."""

from __future__ import annotations

import json

import pytest
from harness import Ari, script, wait_until
from hotline_kit import FAST, PUBLIC_NUMBER, agent_cli

pytestmark = pytest.mark.integration

CITIZEN = "0612345678"
DAMIEN, EMMA = "+33612000001", "+33612000002"  # Damien is FALLBACK_ONCALL: the fallback must not ring him
FLOW = "entry: {inbound: main}\nflows:\n  main:\n    - enqueue: astreinte\n    - hangup\n"
HOTLINES = {"hotlines": {"astreinte": {**FAST, "name": "Astreinte", "on_call": True, "accept_timeout": 12}}}
AGENTS = {"agents": [
    {"id": "damien", "name": "Damien Roux", "mobile": DAMIEN, "hotlines": {"astreinte": 0}},
    {"id": "emma", "name": "Emma Girard", "mobile": EMMA, "hotlines": {"astreinte": 1}},
]}


def test_given_damien_on_duty_when_he_hands_over_then_emma_gets_the_calls_and_the_fallback_rings_her(
    people, apps, redis_url, ari: Ari
):
    """Handover damien -> emma (CLI): Emma's mobile rings with the public number and hears the relief first;
    Emma, now alone on duty, cannot log out; callcontrol killed, the fallback route rings Emma, not Damien, and
    still Emma after Asterisk restarts while callcontrol is down (the global is gone, AstDB is not)."""
    config = apps.config({
        "flows/main.yaml": FLOW, "hotlines.yaml": json.dumps(HOTLINES), "agents.yaml": json.dumps(AGENTS),
    })
    try:
        app = apps.start(config_dir=config)
        carrier = people.carrier(answer_after=0.3, hangup_after=14, dtmf_after_answer=[(9.0, "1")])
        assert agent_cli(config, redis_url, "login", "damien", "--device", "mobile").returncode == 0

        handed = agent_cli(config, redis_url, "handover", "damien", "--to", "emma")
        assert handed.returncode == 0, handed.stderr
        assert "damien -> emma: on duty for astreinte" in handed.stdout
        duty = agent_cli(config, redis_url, "on-duty").stdout
        rows = [line.split() for line in duty.splitlines()[1:]]  # HOTLINE AGENT SINCE(date time) RELIEVED
        assert [(r[0], r[1], r[-1]) for r in rows] == [("astreinte", "emma", "damien")], duty

        refused = agent_cli(config, redis_url, "logout", "emma")
        assert refused.returncode == 1 and "hand the duty over" in refused.stderr, refused.stderr

        citizen = people.citizen(CITIZEN, hangup_after=20)
        connected = app.wait_for("call_step", step="connected", timeout=25)[0]
        assert connected["agent"] == "emma", connected
        invite = carrier.received("INVITE")[0]
        assert invite.request_uri.startswith(f"sip:{EMMA}@"), invite.text
        assert invite.from_ and PUBLIC_NUMBER in invite.from_ and CITIZEN[1:] not in invite.from_, invite.text
        [relief] = app.events("relief_announced")
        assert (relief["agent"], relief["relieved"]) == ("emma", "damien"), relief
        assert carrier.audio_received > 200, f"Emma heard no announcement\n{carrier.describe()}"  # ~4 s of it
        wait_until(lambda: any(e.get("number", "").endswith("02") for e in app.events("fallback_on_call_set")), 5,
                   "Emma's mobile written for the fallback route")
        wait_until(lambda: any(e.get("number", "").endswith("02") for e in app.events("fallback_on_call_stored")), 5,
                   "Emma's mobile stored in AstDB through AMI")
        citizen.stop()
        wait_until(lambda: not ari.channels(), 10, "the first call over")

        app.kill()  # callcontrol gone: the dialplan's fallback route takes the next citizen
        wait_until(lambda: "callcontrol" not in ari.applications(), 5, "the app disconnected from ARI")
        people.citizen(CITIZEN, hangup_after=25)
        carrier.wait_until(lambda: len(carrier.received("INVITE")) >= 2, 20, "the fallback rang the on-call phone")
        fallback = carrier.received("INVITE")[1]
        assert fallback.request_uri.startswith(f"sip:{EMMA}@"), fallback.request_uri
        assert PUBLIC_NUMBER in (fallback.from_ or ""), fallback.text
        ari.hang_up_everything()  # no need to wait for the carrier's hang-up
        wait_until(lambda: not ari.channels(), 5, "the fallback call over")

        restarted = script("asterisk", "restart")  # callcontrol still down: the global CALLCONTROL_ONCALL is lost
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        people.citizen(CITIZEN, hangup_after=25)
        carrier.wait_until(lambda: len(carrier.received("INVITE")) >= 3, 20, "the fallback rang after the restart")
        after_restart = carrier.received("INVITE")[2]
        assert after_restart.request_uri.startswith(f"sip:{EMMA}@"), after_restart.request_uri  # not FALLBACK_ONCALL
        ari.hang_up_everything()
    finally:
        ari.post("/asterisk/variable", variable="CALLCONTROL_ONCALL", value="")  # the next tests: the default
        script("asterisk", "cli", "database del callcontrol oncall")  # AstDB outlives restarts: clear it too
