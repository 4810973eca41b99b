"""Callbacks that keep the citizen's place (issue 11), end to end: callcontrol (real process), real Asterisk and
Redis, SIPp citizens pressing keys, an agent's softphone and the carrier receiving the callback."""

from __future__ import annotations

import redis
from harness import wait_until
from hotline_kit import PUBLIC_NUMBER, config_files, login, waiting

CALLBACK = {"offer_after": 1, "offer_every": 0, "deadline": 600, "retries": 1, "retry_delay": 5, "ring_timeout": 10}


def callback_keys(redis_url: str) -> list[str]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return sorted(client.scan_iter("cc:callback:*"))
    finally:
        client.close()


def test_given_waiting_citizens_when_one_asks_a_callback_then_agent_first_then_citizen_ahead_of_later_caller(
    people, apps, redis_url
):
    """A premium-rate callback number is refused with a prompt; a citizen who presses 1 and confirms their own number
    hangs up and keeps their place: when an agent frees up she is rung first (whisper), then the citizen's phone
    rings through the carrier from the public number, and only then does the later caller reach her."""
    config = apps.config(config_files(callback=CALLBACK, overflow_when_nobody=False, max_wait=60))
    app = apps.start(config_dir=config)
    carrier = people.carrier(answer_after=0.3)
    alice = people.agent("1001", answer_after=0.3, hangup_after=4.0)

    # Two citizens at once: one from a premium-rate number, one from a mobile.
    premium = people.citizen("0899123456", hangup_after=8.0)
    citizen = people.citizen("0612345678", hangup_after=30.0)
    started = app.wait_for("call_started", count=2, timeout=10)
    ids = {line["caller"][-2:]: line["call_id"] for line in started}
    p_id, c_id = ids["56"], ids["78"]

    # A premium-rate number is never called back: the citizen hears why (a prompt) and is asked again.
    app.wait_for("call_step", step="callback:offered", call_id=p_id, timeout=10)
    premium.send_dtmf("1")
    app.wait_for("call_step", step="callback:asked", call_id=p_id, timeout=5)
    premium.send_dtmf("0899123456#", pause=0.3)  # 0.2 s apart (40 ms gaps) Asterisk emulates the digits: issue noted

    # The other presses 1, confirms their own number with 1, is told they may hang up.
    app.wait_for("call_step", step="callback:offered", call_id=c_id, timeout=10)
    citizen.send_dtmf("1")
    app.wait_for("call_step", step="callback:asked", call_id=c_id, timeout=5)
    citizen.send_dtmf("1")

    refused = app.wait_for("call_step", step="callback:number_refused", call_id=p_id, timeout=10)[0]
    assert refused["reason"] == "type_premium_rate" and "899123456" not in str(refused), refused
    heard = premium.audio_received
    app.wait_for("call_step", step="callback:requested", call_id=c_id, timeout=10)
    assert citizen.wait(15) == 0 and citizen.received("BYE"), citizen.describe()
    assert premium.wait(15) == 0, premium.describe()
    assert premium.audio_received > heard, "the refusal prompt was heard"
    wait_until(lambda: waiting(redis_url) == [c_id], 5, "the callback alone keeps its place")

    # A later caller waits behind the callback.
    later = people.citizen("0698765432", hangup_after=30.0)
    app.wait_for("call_step", step="queue:waiting", count=3, timeout=10)
    order = waiting(redis_url)
    assert order[0] == c_id and len(order) == 2, order

    login(config, redis_url, "alice")
    app.wait_for("call_step", step="callback:connected", agent="alice", timeout=20)
    first = alice.received("INVITE")[0]
    assert "rappel" in first.from_ and PUBLIC_NUMBER in first.from_ and "698765432" not in first.text, first.text
    out = carrier.received("INVITE")
    assert len(out) == 1 and out[0].request_uri.startswith("sip:+33612345678@"), carrier.describe()
    for header in (out[0].from_, out[0].pai):
        assert header and PUBLIC_NUMBER in header, out[0].text
    assert first.at < out[0].at, "the agent is rung before the citizen"

    # Then the later caller, once the callback's conversation is over.
    app.wait_for("call_step", step="connected", agent="alice", timeout=20)
    invites = alice.received("INVITE")
    assert len(invites) == 2 and "698765432" in invites[1].from_, [m.from_ for m in invites]
    assert invites[1].at > out[0].at
    assert callback_keys(redis_url) == [], "the callback's number is not kept once done"
    assert later.wait(20) == 0, later.describe()
