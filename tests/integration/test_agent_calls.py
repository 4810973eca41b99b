"""Agents' own calls end to end: SIPp softphones that authenticate (digest) before dialling, callcontrol (real
process), real Asterisk and Redis, SIPp phones for the colleague and the carrier (docs/agents-calls.md)."""

from __future__ import annotations

import time

from harness import wait_until
from hotline_kit import AGENT_IDENTITIES, PUBLIC_NUMBER, config_files, journal, leaks, login, presence
from sipp import SippProcess, softphone_call

CITIZEN_NUMBERS = ("612345678", "698765432")
# What the carrier must never receive of the calling agent: her extension, names, id, the softphone's own name.
CALLER_TRACES = (*AGENT_IDENTITIES, "Alice", "Martin", "Softphone")




def dial(people, user: str, called: str, **kw) -> SippProcess:
    """Softphone `user` dials `called` (tracked by the people fixture: stopped at teardown)."""
    return people._track(softphone_call(people.workdir, user, called, **kw))


def never_declined(phone: SippProcess) -> None:
    statuses = [m.status for m in phone.received() if m.status]
    assert 603 not in statuses, phone.describe()


def test_given_registered_colleague_when_1001_dials_1002_then_it_rings_with_her_name_and_both_talk_and_are_busy(
    people, apps, redis_url
):
    """1001 -> 1002 rings "Alice Martin" <1001>, RTP flows both ways, both agents are on_call meanwhile (a hotline
    call waits), and afterwards the colleague is free again and takes that citizen; journal: internal."""
    config = apps.config(config_files())
    app = apps.start(config_dir=config)
    bruno = people.agent("1002", answer_after=0.3)
    login(config, redis_url, "bruno")

    alice = dial(people, "1001", "1002", hangup_after=4.0)
    app.wait_for("call_step", step="own_call:connected", timeout=10)
    invite = bruno.received("INVITE")[0]
    assert "Alice Martin" in invite.from_ and "1001" in invite.from_, invite.text
    assert not leaks(bruno.messages(), CITIZEN_NUMBERS)
    assert presence(redis_url, "bruno")["state"] == "on_call"
    assert presence(redis_url, "alice")["state"] == "on_call"
    a0, b0 = alice.audio_received, bruno.audio_received
    time.sleep(1.0)
    assert alice.audio_received - a0 > 30, alice.describe()
    assert bruno.audio_received - b0 > 30, bruno.describe()

    citizen = people.citizen("0612345678", hangup_after=12.0)  # bruno is on his colleague's call: not offered
    app.wait_for("call_step", step="enqueue:etat-civil", timeout=10)
    time.sleep(0.5)
    assert len(bruno.received("INVITE")) == 1, bruno.describe()

    assert alice.wait(15) == 0, alice.describe()  # alice hangs up after 4 s of conversation
    bruno.wait_until(lambda: bruno.received("BYE"), 5, "BYE to bruno after alice hung up")
    app.wait_for("call_step", step="connected", agent="bruno", timeout=10)  # free again: the citizen reaches him
    assert presence(redis_url, "alice")["state"] == "logged_out"  # the state she had before her call
    assert citizen.wait(15) == 0, citizen.describe()
    never_declined(alice)

    entries = wait_until(lambda: [e for e in journal(redis_url) if e["kind"] == "internal"], 5, "journal entry")
    entry = entries[0]
    assert (entry["agent"], entry["callee"], entry["outcome"], entry["reached"]) == ("alice", "bruno", "answered", True)
    assert entry["duration"] > 4.0


def test_given_carrier_when_1001_dials_a_citizen_mobile_then_only_the_public_identity_leaves(people, apps, redis_url):
    """1001 -> 0612345678 goes out through the carrier with From/PAI = the public number and no trace of the
    agent (extension, name, id) in any message the carrier receives, re-INVITEs and UPDATEs included."""
    config = apps.config(config_files())
    app = apps.start(config_dir=config)
    carrier = people.carrier(answer_after=0.3)

    alice = dial(people, "1001", "0612345678", hangup_after=3.0)
    app.wait_for("call_step", step="own_call:connected", timeout=10)
    assert presence(redis_url, "alice")["state"] == "on_call"
    c0, a0 = carrier.audio_received, alice.audio_received
    time.sleep(1.0)
    assert carrier.audio_received - c0 > 30, carrier.describe()
    assert alice.audio_received - a0 > 30, alice.describe()
    assert alice.wait(15) == 0, alice.describe()
    carrier.wait_until(lambda: carrier.received("BYE"), 5, "BYE to the citizen after the agent hung up")

    invite = carrier.received("INVITE")[0]
    assert invite.request_uri.startswith("sip:+33612345678@"), invite.text
    for header in (invite.from_, invite.pai):
        assert header and PUBLIC_NUMBER in header, invite.text
    found = leaks(carrier.messages(), CALLER_TRACES)
    assert not found, found
    in_dialog = [m for m in carrier.received() if m.method in ("INVITE", "UPDATE")]
    assert all(PUBLIC_NUMBER in (m.from_ or "") for m in in_dialog), [m.text for m in in_dialog]
    never_declined(alice)

    entry = wait_until(lambda: [e for e in journal(redis_url) if e["kind"] == "internal"], 5, "journal entry")[0]
    assert (entry["agent"], entry["outcome"]) == ("alice", "answered"), entry
    assert entry["callee"] == "+33 6•• •• •• 78" and "612345678" not in str(entry), entry
    assert entry["duration"] > 3.0
    wait_until(lambda: presence(redis_url, "alice")["state"] == "logged_out", 3, "alice back to her state")


def test_given_softphone_when_dialling_premium_rate_unknown_feature_or_unregistered_colleague_then_prompt_then_bye(
    people, apps, redis_url
):
    """0899 (premium rate), +49 (international), *99 (no such feature), 1999 (nobody's extension) and 1003 (not
    registered): each gets a spoken prompt (audio received) then a BYE; none is declined (603) and nothing reaches
    the carrier."""
    config = apps.config(config_files())
    app = apps.start(config_dir=config)
    carrier = people.carrier(answer_after=0.3)
    people.unregister("1003")  # no stale contact from an earlier run

    calls = {
        called: dial(people, "1001", called, hangup_after=30)
        for called in ("0899123456", "+4930123456", "*99", "1999", "1003")
    }
    for called, phone in calls.items():
        assert phone.wait(20) == 0, f"{called}: {phone.describe()}"
        assert phone.received("BYE"), f"{called}: {phone.describe()}"
        assert phone.audio_received > 25, f"{called}: no prompt heard\n{phone.describe()}"
        never_declined(phone)
    assert not carrier.received("INVITE"), carrier.describe()
    reasons = sorted(line["reason"] for line in app.events("call_step", step="own_call:refused"))
    assert reasons == ["colleague_offline", "dial_out_refused", "dial_out_refused", "unknown_number"], reasons
    assert app.events("call_step", step="feature:unknown", code="*99")  # *99: "ce code n'existe pas" (issue 9)
    refused = {line["reason"]: line["number"] for line in app.events("call_step", step="own_call:dial_out_refused")}
    assert sorted(refused) == ["international", "type_premium_rate"], refused
    assert "899123456" not in str(refused) and "30123456" not in str(refused), refused
