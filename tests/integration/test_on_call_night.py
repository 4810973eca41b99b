"""At night, "press 9" for the on-call service reaches a person even when nobody is logged in to the on-call
hotline: the flow (config/flows/main.yaml, closed) rings the on-call number as the town hall, then voicemail."""

from __future__ import annotations

from appproc import SHIPPED_CONFIG
from sipp import dtmf_plan

NIGHT = "2026-11-22T23:00"  # a Sunday night: the town hall is closed
CITIZEN = "0612345678"
PUBLIC_NUMBER = "+33556000000"
ONCALL = "+33612000001"  # allow_transfer_to in config/flows/main.yaml, FALLBACK_ONCALL in extensions.conf
PRESS_9 = dtmf_plan("9", first_pause=3.0)  # during the closed message
RING_OUT = 8  # seconds the on-call phone rings before voicemail (25 in the shipped flow)


def short_on_call_ring(apps):
    """The shipped configuration with the on-call transfer ringing RING_OUT s instead of 25: same flow, same
    branches (no answer -> voicemail), seconds instead of half a minute."""
    main = (SHIPPED_CONFIG / "flows/main.yaml").read_text(encoding="utf-8")
    short = main.replace("        timeout: 25\n", f"        timeout: {RING_OUT}\n")
    assert short.count(f"timeout: {RING_OUT}\n") == 1, "the shipped flow changed: update this test"
    return apps.config({"flows/main.yaml": short})


def test_given_night_and_nobody_on_call_when_citizen_presses_9_then_on_call_phone_rings_as_the_town_hall(people, apps):
    """Nobody logged in to `astreinte`: 9 rings the on-call phone with the public number (never the citizen's)
    and bridges them, instead of "unavailable, goodbye"."""
    app = apps.start(clock=NIGHT)
    carrier = people.carrier(answer_after=1.0, hangup_after=3.0)
    citizen = people.citizen(CITIZEN, dtmf=PRESS_9, hangup_after=40)

    carrier.wait_until(lambda: carrier.received("INVITE"), 20, "the on-call phone rang")
    invite = carrier.received("INVITE")[0]
    assert invite.request_uri.startswith(f"sip:{ONCALL}@"), invite.request_uri
    for name in ("From", "P-Asserted-Identity"):
        value = invite.header(name) or ""
        assert PUBLIC_NUMBER in value, f"{name}: {value!r}\n{carrier.describe()}"
    assert not any(CITIZEN[1:] in m.text for m in carrier.received()), "the on-call phone saw the citizen's number"

    assert citizen.wait(20) == 0, citizen.describe()
    assert carrier.audio_received > 30, f"the on-call phone heard nothing\n{carrier.describe()}"
    ended = app.wait_for("call_ended")[0]
    path = ended["path"]
    assert "queue:unavailable" in path and "transfer:connected" in path, path
    assert path.index("queue:unavailable") < path.index("transfer:connected"), path
    assert ended["outcome"] == "completed", ended


def test_given_night_and_on_call_phone_does_not_answer_when_citizen_presses_9_then_voicemail(people, apps):
    """The on-call phone rings out too: the citizen is asked for a message (voicemail), not sent away."""
    app = apps.start(clock=NIGHT, config_dir=short_on_call_ring(apps))
    carrier = people.carrier(mode="ring")
    citizen = people.citizen(CITIZEN, dtmf=PRESS_9, hangup_after=60)

    carrier.wait_until(lambda: carrier.received("CANCEL"), 20 + RING_OUT, "the on-call phone rang out")
    app.wait_for("call_step", step="record", timeout=15)
    path = [line["step"] for line in app.events("call_step")]
    assert path.index("queue:unavailable") < path.index("transfer:no_answer") < path.index("flow:voicemail"), path
    assert not citizen.received("BYE"), f"the citizen was hung up on instead of recorded\n{citizen.describe()}"


def test_given_night_and_on_call_phone_rings_when_citizen_waits_then_citizen_hears_ringback(people, apps):
    """While the app's transfer rings the on-call phone the citizen hears ringback or music, never dead air."""
    apps.start(clock=NIGHT, config_dir=short_on_call_ring(apps))
    carrier = people.carrier(mode="ring")
    citizen = people.citizen(CITIZEN, dtmf=PRESS_9, hangup_after=60)

    carrier.wait_until(lambda: carrier.received("CANCEL"), 20 + RING_OUT, "the on-call phone rang out")
    rang_at, rang_out_at = carrier.received("INVITE")[0].at, carrier.received("CANCEL")[0].at
    assert rang_out_at - rang_at >= RING_OUT - 1, "the on-call phone did not ring for the whole period"
    gap, gap_at = citizen.rtp_stats.longest_gap(rang_at + 0.5, rang_out_at, sound=True)
    assert gap <= 4.0, f"{gap:.1f} s of silence from {gap_at - rang_at:.1f} s into the ringing\n{citizen.describe()}"
