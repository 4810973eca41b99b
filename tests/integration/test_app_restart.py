"""Restarting callcontrol never drops a citizen: queued calls keep their place, conversations go on."""

from __future__ import annotations

import time

from hotline_kit import config_files, journal, login, presence, waiting


def test_given_citizen_talking_to_agent_when_callcontrol_restarts_then_conversation_goes_on(people, apps, redis_url):
    """A conversation survives a restart of callcontrol; afterwards the agent hanging up ends it and frees her."""
    config = apps.config(config_files(wrap_up=0.5))
    first = apps.start(config_dir=config)
    alice = people.agent("1001", answer_after=0.2, hangup_after=9.0)
    login(config, redis_url, "alice")
    citizen = people.citizen("0612345678", hangup_after=60)
    first.wait_for("call_step", step="connected", timeout=10)

    assert first.stop() == 0  # SIGTERM: calls stay up in Asterisk
    time.sleep(1.0)
    assert not citizen.received("BYE") and not alice.received("BYE"), "the restart dropped the conversation"
    second = apps.start(config_dir=config)
    second.wait_for("call_step", step="connected:resumed", agent="alice", timeout=10)
    heard = citizen.audio_received
    time.sleep(1.0)
    assert citizen.audio_received - heard > 30, "the citizen no longer hears the agent after the restart"

    assert citizen.wait(20) == 0 and citizen.received("BYE"), citizen.describe()  # alice hung up at 9 s
    second.wait_for("agent_released", agent="alice", timeout=5)
    ended = second.wait_for("call_ended", timeout=5)[0]
    assert ended["outcome"] == "answered"
    assert [e["outcome"] for e in journal(redis_url)] == ["answered"]
    time.sleep(1.0)
    assert presence(redis_url, "alice")["state"] == "available"


def test_given_citizen_waiting_when_callcontrol_restarts_then_place_kept_and_next_agent_answers(
    people, apps, redis_url
):
    """A citizen waiting in a hotline keeps waiting through a restart and is offered to the next free agent."""
    config = apps.config(config_files(overflow_when_nobody=False))  # nobody logged in yet: the citizen waits
    first = apps.start(config_dir=config)
    people.agent("1002", answer_after=0.2, hangup_after=3.0)
    citizen = people.citizen("0612345678", hangup_after=60)
    first.wait_for("call_step", step="queue:waiting", timeout=10)
    call_id = first.events("call_step", step="queue:waiting")[0]["call_id"]

    assert first.stop() == 0
    assert waiting(redis_url) == [call_id], "the waiting call lost its place when callcontrol stopped"
    second = apps.start(config_dir=config)
    second.wait_for("call_step", step="queue:resumed", timeout=10)
    assert not citizen.received("BYE")

    login(config, redis_url, "bruno")  # an agent becomes free: offered at once
    connected = second.wait_for("call_step", step="connected", timeout=10)[0]
    assert connected["agent"] == "bruno" and connected["call_id"] == call_id
    assert citizen.wait(20) == 0, citizen.describe()


def test_given_citizen_transferred_when_callcontrol_restarts_then_transfer_goes_on(people, apps):
    """A citizen bridged to an external number by `transfer` stays connected through a restart of callcontrol."""
    from test_app_flows import TRANSFER_FLOW

    config = apps.config({"flows/main.yaml": TRANSFER_FLOW})
    first = apps.start(config_dir=config)
    carrier = people.carrier(answer_after=0.3, hangup_after=7.0)
    citizen = people.citizen("0612345678", hangup_after=60)
    first.wait_for("call_step", step="transfer:connected", timeout=10)
    assert first.stop() == 0
    second = apps.start(config_dir=config)
    second.wait_for("call_step", step="transfer:resumed", timeout=10)
    assert not citizen.received("BYE")
    assert citizen.wait(20) == 0 and citizen.received("BYE"), citizen.describe()  # the far end hung up at 7 s
    assert second.wait_for("call_ended", timeout=5)[0]["outcome"] == "completed"
    assert len(carrier.received("INVITE")) == 1, "the flow ran again and re-dialled the transfer"
