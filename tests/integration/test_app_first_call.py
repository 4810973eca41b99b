"""The foundation end to end: a citizen's call reaches callcontrol through real Asterisk and is handled."""

from __future__ import annotations

from appproc import SHIPPED_CONFIG


def test_given_app_running_when_citizen_calls_then_answered_with_prompt_audio_and_logged(people, apps):
    """A citizen calling the public number is answered by callcontrol, hears audio, and the call is logged once."""
    app = apps.start(clock="2026-11-23T10:00:00")  # a Monday, open
    citizen = people.citizen("0612345678", hangup_after=4)
    citizen.wait(15)
    assert citizen.received(200), "the citizen's INVITE was not answered"
    assert not citizen.received(603)
    assert citizen.audio_received > 50, f"the citizen heard no prompt ({citizen.audio_received} RTP packets)"
    ended = app.wait_for("call_ended")[0]
    started = app.events("call_started", call_id=ended["call_id"])[0]
    assert started["caller"] == "+33 6•• •• •• 78"
    assert ended["outcome"] == "caller_hangup"
    assert ended["path"][:2] == ["flow:main", "schedule:open"]
    assert "0612345678" not in app.log_text() and "612345678" not in app.log_text()


def test_given_closed_hours_when_citizen_stays_silent_then_town_hall_hangs_up(people, apps):
    """Out of hours with no key pressed, callcontrol plays the closed message and sends the citizen a BYE."""
    # The shipped flow with its closed menu played once and a 1 s wait for a key (not twice, 5 s each): the same
    # prompts and branches, 20 s instead of 47.
    main = (SHIPPED_CONFIG / "flows/main.yaml").read_text(encoding="utf-8")
    once = main.replace("        retries: 1\n", "        retries: 0\n        timeout: 1\n")
    assert once.count("retries: 0\n") == 1, "the shipped flow changed: update this test"
    app = apps.start(clock="2026-11-22T10:00:00", config_dir=apps.config({"flows/main.yaml": once}))  # a Sunday
    citizen = people.citizen("0612345678", hangup_after=60)
    assert citizen.wait(60) == 0
    assert citizen.received("BYE"), "the town hall never hung up"
    ended = app.wait_for("call_ended")[0]
    assert ended["outcome"] == "completed"
    assert "schedule:closed" in ended["path"]
    assert ended["path"].count("no_input") == 1, ended["path"]
