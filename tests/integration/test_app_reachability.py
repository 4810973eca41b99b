"""Agents who cannot be reached are not offered citizens: an unregistered softphone (refused at login, skipped
while its registration lapses) and a mobile whose voicemail answers (never offered that citizen again)."""

from __future__ import annotations

import os
import time

from harness import wait_until
from hotline_kit import agent_cli, config_files, login, presence

AGENT_PASSWORD = os.environ.get("CALLCONTROL_AGENT_SIP_PASSWORD", "agent-demo")




def test_given_softphone_not_registered_when_agent_logs_in_then_refused_and_registered_then_accepted(
    people, apps, redis_url
):
    """`agent login` on a softphone that is not registered exits 1 and says what to do; registered, it is accepted."""
    config = apps.config(config_files())
    app = apps.start(config_dir=config)
    app.wait_for("agents_synced", timeout=10)  # the running app owns the directory
    refused = agent_cli(config, redis_url, "login", "bruno")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "softphone 1002 is not registered: start the softphone, or log in on the mobile with --device mobile" in (
        refused.stderr
    ), refused.stderr
    assert presence(redis_url, "bruno").get("state", "logged_out") == "logged_out"

    people.agent("1002", answer_after=0.2)
    accepted = agent_cli(config, redis_url, "login", "bruno")
    assert accepted.returncode == 0 and "bruno: available" in accepted.stdout, accepted.stdout + accepted.stderr
    assert "warning" not in accepted.stderr, accepted.stderr


def test_given_logged_in_softphone_when_its_registration_lapses_then_not_offered_and_offered_again_once_registered(
    people, apps, redis_url
):
    """A softphone that unregistered is never rung (no INVITE, no miss); registered again, it gets the waiting
    citizen at once."""
    config = apps.config(config_files(overflow_when_nobody=False, max_misses=1))
    app = apps.start(config_dir=config)
    bruno = people.agent("1002", answer_after=0.2)
    login(config, redis_url, "bruno")
    assert people.unregister("1002")
    app.wait_for("softphone_unreachable", agent="bruno", timeout=5)

    citizen = people.citizen("0612345678", hangup_after=30)
    app.wait_for("call_step", step="queue:waiting", timeout=10)
    time.sleep(2.0)  # ample time for offers, had bruno counted (they used to fail within milliseconds)
    assert not bruno.received("INVITE"), bruno.describe()
    state = presence(redis_url, "bruno")
    assert (state["state"], state.get("missed", "0")) == ("available", "0"), state
    assert not app.events("call_step", step="agent:no_answer")

    again = people.register("1002", AGENT_PASSWORD, contact=f"<sip:1002@127.0.0.1:{bruno.port}>", expires=3600)
    assert again.registered, [str(m) for m in again.messages]
    app.wait_for("softphone_reachable", agent="bruno", timeout=5)
    connected = app.wait_for("call_step", step="connected", timeout=10)[0]
    assert connected["agent"] == "bruno", connected
    assert len(bruno.received("INVITE")) == 1, bruno.describe()
    citizen.stop()


def test_given_a_mobile_whose_voicemail_answers_when_a_citizen_waits_then_rung_once_and_the_next_agent_takes_it(
    people, apps, redis_url
):
    """A mobile answered by its voicemail (no 1 pressed) is not offered the same citizen again: the citizen waits
    for the next agent instead of looping into that voicemail until the agent is paused."""
    config = apps.config(config_files(accept_timeout=1.0, max_misses=3, overflow_when_nobody=False))
    app = apps.start(config_dir=config)
    carrier = people.carrier(answer_after=0.3)  # answers every mobile; nobody presses 1 unless the test does
    login(config, redis_url, "damien", "mobile")
    citizen = people.citizen("0612345678", hangup_after=40)

    app.wait_for("call_step", step="agent:no_answer", agent="damien", timeout=15)
    time.sleep(5.0)  # the time for two or three more voicemail loops, had damien stayed eligible
    to_damien = [m for m in carrier.received("INVITE") if m.request_uri.startswith("sip:+33612000001@")]
    assert len(to_damien) == 1, carrier.describe()
    state = presence(redis_url, "damien")
    assert (state["state"], state["missed"]) == ("available", "1"), state

    login(config, redis_url, "emma", "mobile")
    wait_until(lambda: len(carrier.answered) >= 2, 10, "emma's mobile answered")
    time.sleep(0.8)  # her leg is in Stasis, the whisper playing
    carrier.send_dtmf("1")  # emma accepts (the last answered call is hers)
    connected = app.wait_for("call_step", step="connected", timeout=10)[0]
    assert (connected["agent"], connected["device"]) == ("emma", "mobile"), connected
    to_damien = [m for m in carrier.received("INVITE") if m.request_uri.startswith("sip:+33612000001@")]
    assert len(to_damien) == 1, carrier.describe()
    citizen.stop()
