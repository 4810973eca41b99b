"""The agents' self-service on the real stack (docs/agents-guide.md): softphone feature codes dialled by SIPp
softphones that authenticate as the agent's endpoint, and the agents' line called from a mobile through the
carrier peer; callcontrol, Asterisk and Redis real."""

from __future__ import annotations

import json

import pytest
from argon2 import PasswordHasher
from harness import wait_until
from hotline_kit import AGENTS, ENQUEUE_FLOW, HOTLINE, PUBLIC_NUMBER, hotlines_yaml, presence
from sipp import dtmf_plan, softphone_call

from callcontrol.agents import presence as presence_module

PINS = {"damien": "4826", "emma": "7391"}
CODES = {"alice": "101", "bruno": "102", "chloe": "103", "damien": "201", "emma": "202"}


def files(*, alice_on_call: bool = False) -> dict[str, str]:
    """Every demo agent in etat-civil (code 1); damien and emma have PINs (argon2id, test-sized cost).
    `alice_on_call`: astreinte is an on-call hotline (code 9) and alice its only member."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    agents = []
    for agent, fields in AGENTS.items():
        entry = {"id": agent, **fields, "code": CODES[agent], "hotlines": {HOTLINE: 0}}
        if agent in PINS:
            entry["pin_hash"] = cheap.hash(PINS[agent])
        if agent == "alice" and alice_on_call:
            entry["hotlines"]["astreinte"] = 0
        agents.append(entry)
    hotlines = json.loads(hotlines_yaml(code="1"))
    if alice_on_call:
        hotlines["hotlines"]["astreinte"] = {"code": "9", "on_call": True, "ring_timeout": 3}
    return {
        "flows/main.yaml": ENQUEUE_FLOW,
        "hotlines.yaml": json.dumps(hotlines, ensure_ascii=False),
        "agents.yaml": json.dumps({"agents": agents}, ensure_ascii=False),
    }


def dial(people, user: str, code: str):
    """Softphone `user` dials a feature code: answered, a prompt, hung up by callcontrol (not by the phone)."""
    phone = people._track(softphone_call(people.workdir, user, code, hangup_after=30))
    assert phone.wait(20) == 0, phone.describe()
    assert phone.received("BYE"), f"{code}: callcontrol did not hang up\n{phone.describe()}"
    assert phone.audio_received > 25, f"{code}: no prompt heard\n{phone.describe()}"
    return phone


def test_given_registered_softphone_when_star45_then_hotline_calls_reach_it_and_after_star46_they_stop(
    people, apps, redis_url
):
    """1001 dials *45: alice available, a citizen is put through to her softphone; *46: logged out, the next
    citizen never rings her (queue:unavailable)."""
    config = apps.config(files())
    app = apps.start(config_dir=config)
    alice = people.agent("1001", answer_after=0.3)

    dial(people, "1001", "*45")
    assert presence(redis_url, "alice")["state"] == "available"
    assert app.events("call_step", step="feature", code="*45", agent="alice")
    citizen = people.citizen("0612345678", hangup_after=5)  # the whisper first (~2 s), then the conversation
    app.wait_for("call_step", step="connected", agent="alice", timeout=10)
    assert citizen.wait(15) == 0, citizen.describe()
    invites = len(alice.received("INVITE"))

    dial(people, "1001", "*46")
    assert presence(redis_url, "alice")["state"] == "logged_out"
    second = people.citizen("0698765432", hangup_after=10)
    app.wait_for("call_step", step="queue:unavailable", timeout=10)
    assert second.wait(15) == 0, second.describe()
    assert len(alice.received("INVITE")) == invites, alice.describe()


def test_given_mobile_with_right_pin_when_menu_1_then_called_as_the_town_hall_and_three_wrong_pins_lock_out(
    people, apps, redis_url
):
    """damien calls the agents' line from his mobile, PIN then 1: logged in on the mobile, and the next citizen
    reaches him through the carrier with the public number in From. emma keys three wrong PINs: locked out (a
    `security` line, her number masked); her next call, with the right PIN, is refused and she stays logged out."""
    config = apps.config(files())
    app = apps.start(config_dir=config)

    line = people.citizen("0612000001", "0556000099", dtmf=dtmf_plan(PINS["damien"] + "#1"), hangup_after=30)
    wrong = people.citizen("0612000002", "0556000099", dtmf=dtmf_plan("0000#1111#12#"), hangup_after=40)
    assert line.wait(25) == 0 and line.received("BYE"), line.describe()
    wait_until(lambda: presence(redis_url, "damien").get("device") == "mobile", 3, "damien on his mobile")
    assert presence(redis_url, "damien")["state"] == "available"

    carrier = people.carrier(answer_after=0.3, dtmf_after_answer=[(0.5, "1")])
    citizen = people.citizen("0612345678", hangup_after=6)  # whisper and "tapez 1" first
    assert wrong.wait(35) == 0 and wrong.received("BYE"), wrong.describe()
    (locked,) = app.wait_for("security", what="agents_line_locked_out", timeout=5)
    assert (locked["agent"], locked["tries"]) == ("emma", 3) and "612000002" not in json.dumps(locked), locked
    right = people.citizen("0612000002", "0556000099", dtmf=dtmf_plan(PINS["emma"] + "#1"), hangup_after=30)

    connected = app.wait_for("call_step", step="connected", timeout=10)[0]
    assert (connected["agent"], connected["device"]) == ("damien", "mobile"), connected
    invite = carrier.received("INVITE")[0]
    assert invite.request_uri.startswith("sip:+33612000001@") and PUBLIC_NUMBER in invite.from_, invite.text
    assert citizen.wait(15) == 0, citizen.describe()
    assert right.wait(25) == 0 and right.received("BYE"), right.describe()
    app.wait_for("security", what="agents_line_refused_locked", timeout=5)
    assert presence(redis_url, "emma")["state"] == "logged_out"
    assert not app.events("call_step", step="agents_line:pin_ok", agent="emma")


@pytest.mark.skipif(
    not hasattr(presence_module, "OnCallUncovered"),
    reason="needs the duty side's never-nobody-on-call guard (h-duty: OnCallUncovered in agents/presence.py)",
)
def test_given_last_on_call_member_when_star46_then_refused_with_the_hand_over_prompt(people, apps, redis_url):
    """alice is the only reachable member of the on-call hotline: her *46 is refused (she hears that she must hand
    over first) and she stays logged in."""
    config = apps.config(files(alice_on_call=True))
    app = apps.start(config_dir=config)
    people.agent("1001", answer_after=0.3)

    dial(people, "1001", "*45")
    assert presence(redis_url, "alice")["state"] == "available"
    dial(people, "1001", "*46")
    app.wait_for("call_step", step="feature:refused", agent="alice", refusal="OnCallUncovered", timeout=5)
    assert presence(redis_url, "alice")["state"] == "available"
