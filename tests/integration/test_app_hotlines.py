"""Hotline routing end to end: callcontrol (real process) + real Asterisk + Redis + SIPp citizens, softphones and
the carrier for mobiles. Each test uses a flow that queues at once and short timeouts (hotline_kit.FAST)."""

from __future__ import annotations

import json
import time
from collections import Counter

from harness import wait_until
from hotline_kit import (
    AGENT_IDENTITIES,
    PUBLIC_NUMBER,
    ReservationWatch,
    citizen_crowd,
    config_files,
    dialogs,
    hanging_up_agents,
    journal,
    latency_summary,
    leaks,
    login,
    logins,
    overlaps,
    presence,
    waiting,
)


def test_given_two_idle_softphones_when_citizens_call_then_longest_idle_answers_audio_flows_and_wrap_up_follows(
    people, apps, redis_url
):
    """The agent idle longest gets the call, the other the next; RTP flows both ways; either side hangs up; wrap-up."""
    config = apps.config(config_files(wrap_up=1.5))
    app = apps.start(config_dir=config)
    alice = people.agent("1001", answer_after=0.2, hangup_after=3.0)  # alice hangs up her call herself
    bruno = people.agent("1002", answer_after=0.2)
    login(config, redis_url, "bruno")  # bruno first: idle longest (alice would win a tie by id)
    login(config, redis_url, "alice")

    first = people.citizen("0612345678", hangup_after=3.5)  # this citizen hangs up first
    connected = app.wait_for("call_step", step="connected", timeout=10)[0]
    assert connected["agent"] == "bruno", connected
    assert not alice.received("INVITE"), alice.describe()
    # Audio both ways once bridged: MOH is stopped and the whisper only goes to the agent, so what the citizen
    # receives now comes from the agent's phone, and what the agent receives from the citizen's.
    c0, a0 = first.audio_received, bruno.audio_received
    time.sleep(1.0)
    assert first.audio_received - c0 > 30, first.describe()
    assert bruno.audio_received - a0 > 30, bruno.describe()

    second = people.citizen("0698765432", hangup_after=30)  # bruno is busy: alice gets it
    app.wait_for("call_step", step="connected", count=2, timeout=10)
    assert app.events("call_step", step="connected")[1]["agent"] == "alice"

    # Citizen hangs up -> bruno's phone gets a BYE; alice hangs up -> the citizen gets a BYE.
    assert first.wait(10) == 0, first.describe()
    bruno.wait_until(lambda: bruno.received("BYE"), 5, "BYE to bruno after the citizen hung up")
    assert second.wait(10) == 0, second.describe()
    assert second.received("BYE"), second.describe()
    assert wait_until(lambda: presence(redis_url, "bruno").get("state") in ("wrap_up", "available"), 3, "release")
    app.wait_for("agent_released", agent="alice", timeout=5)
    assert presence(redis_url, "alice")["state"] == "wrap_up"
    wait_until(lambda: presence(redis_url, "alice")["state"] == "available", 4, "alice available after wrap-up")
    wait_until(lambda: presence(redis_url, "bruno")["state"] == "available", 4, "bruno available after wrap-up")

    assert not leaks(first.messages() + second.messages(), AGENT_IDENTITIES)  # nothing names the agent to citizens
    entries = wait_until(lambda: len(journal(redis_url)) >= 2 and journal(redis_url), 5, "two journal entries")
    assert sorted((e["outcome"], e["agent"]) for e in entries) == [("answered", "alice"), ("answered", "bruno")]
    assert len(app.events("routing_latency")) >= 2


def test_given_agent_not_answering_when_citizens_call_then_next_agent_rings_and_misser_is_paused(
    people, apps, redis_url
):
    """A ringing phone nobody answers: after ring_timeout the next agent rings; after max_misses, paused no_answer."""
    config = apps.config(config_files(ring_timeout=2, max_misses=2, wrap_up=0.5))
    app = apps.start(config_dir=config)
    alice = people.agent("1001", mode="ring")
    bruno = people.agent("1002", answer_after=0.2, hangup_after=2.0)  # hangs up his first call himself
    login(config, redis_url, "alice")  # idle longest: rung first
    login(config, redis_url, "bruno")

    first = people.citizen("0612345678", hangup_after=30)
    connected = app.wait_for("call_step", step="connected", timeout=10)[0]
    assert connected["agent"] == "bruno"
    assert app.events("call_step", step="agent:no_answer", agent="alice", missed=1)
    alice.wait_until(lambda: alice.received("CANCEL"), 2, "CANCEL to alice after ring_timeout")
    assert not alice.answered

    # bruno on a call: alice rings again, misses again. (This citizen hangs up herself.)
    second = people.citizen("0698765432", hangup_after=6)
    app.wait_for("agent_paused_no_answer", agent="alice", timeout=10)
    state = presence(redis_url, "alice")
    assert (state["state"], state["pause_reason"]) == ("paused", "no_answer"), state
    # The second citizen was requeued and bruno takes it after his first call and wrap-up.
    app.wait_for("call_step", step="connected", agent="bruno", count=2, timeout=15)
    assert first.wait(10) == 0 and second.wait(10) == 0
    assert len(alice.received("INVITE")) == 2, alice.describe()
    assert len(bruno.received("INVITE")) == 2, bruno.describe()


def test_given_mobile_agent_when_carrier_answers_and_presses_1_then_public_number_shown_and_citizen_bridged(
    people, apps, redis_url
):
    """A mobile leg leaves with the public number in From and PAI (never the citizen's or the agent's); 1 bridges."""
    config = apps.config(config_files())
    app = apps.start(config_dir=config)
    carrier = people.carrier(answer_after=0.3, dtmf_after_answer=[(0.5, "1")])
    login(config, redis_url, "damien", "mobile")
    citizen = people.citizen("0612345678", hangup_after=5)

    connected = app.wait_for("call_step", step="connected", timeout=10)[0]
    assert (connected["agent"], connected["device"]) == ("damien", "mobile"), connected
    invite = carrier.received("INVITE")[0]
    assert invite.request_uri.startswith("sip:+33612000001@"), invite.text
    for header in (invite.from_, invite.pai):
        assert header and PUBLIC_NUMBER in header, invite.text
        assert "612345678" not in header and "612000001" not in header, invite.text
    c0, m0 = citizen.audio_received, carrier.audio_received
    time.sleep(1.0)
    assert citizen.audio_received - c0 > 30, citizen.describe()
    assert carrier.audio_received - m0 > 30, carrier.describe()
    assert citizen.wait(10) == 0, citizen.describe()
    carrier.wait_until(lambda: carrier.received("BYE"), 5, "BYE to the mobile after the citizen hung up")


def test_given_mobile_agent_when_answered_without_pressing_1_then_no_answer_and_next_agent_takes_the_citizen(
    people, apps, redis_url
):
    """A mobile answered without 1 (a voicemail) counts as no answer: its leg is hung up, the next agent rings."""
    config = apps.config(config_files(accept_timeout=1.5))
    app = apps.start(config_dir=config)
    carrier = people.carrier(answer_after=0.3)  # answers, never presses 1
    people.agent("1001", answer_after=0.2)
    login(config, redis_url, "damien", "mobile")  # idle longest: rung first
    login(config, redis_url, "alice")
    citizen = people.citizen("0612345678", hangup_after=15)

    connected = app.wait_for("call_step", step="connected", timeout=15)[0]
    assert connected["agent"] == "alice", connected
    assert app.events("call_step", step="agent:no_answer", agent="damien", missed=1)
    assert not app.events("call_step", step="connected", agent="damien")
    assert carrier.answered and carrier.received("BYE"), carrier.describe()  # Asterisk hung the mobile leg up
    assert presence(redis_url, "damien")["missed"] == "1"
    assert presence(redis_url, "alice")["state"] == "on_call"
    citizen.stop()


def test_given_hotline_masks_citizen_when_softphone_and_mobile_agents_answer_then_no_sip_message_leaks_a_number(
    people, apps, redis_url
):
    """Citizens' UACs never see an agent's number or extension; agents' phones never see the masked citizen."""
    config = apps.config(config_files(caller_id_softphone="hotline"))
    app = apps.start(config_dir=config)
    alice = people.agent("1001", answer_after=0.2)
    carrier = people.carrier(answer_after=0.3, dtmf_after_answer=[(0.5, "1")])
    login(config, redis_url, "alice")  # idle longest: the first citizen goes to her softphone
    login(config, redis_url, "damien", "mobile")
    first = people.citizen("0612345678", hangup_after=5)
    app.wait_for("call_step", step="connected", agent="alice", timeout=10)
    second = people.citizen("0698765432", hangup_after=5)
    app.wait_for("call_step", step="connected", agent="damien", timeout=10)
    assert first.wait(10) == 0 and second.wait(10) == 0
    alice.wait_until(lambda: alice.received("BYE"), 5, "BYE to alice")
    carrier.wait_until(lambda: carrier.received("BYE"), 5, "BYE to the mobile")

    for citizen in (first, second):
        assert citizen.received(200), citizen.describe()
        assert not leaks(citizen.messages(), AGENT_IDENTITIES), leaks(citizen.messages(), AGENT_IDENTITIES)
    for phone in (alice, carrier):
        found = leaks(phone.messages(), ("612345678", "698765432"))
        assert not found, found
        invite = phone.received("INVITE")[0]
        assert PUBLIC_NUMBER in invite.from_ and PUBLIC_NUMBER in (invite.pai or ""), invite.text
    in_dialog = [m for p in (first, second, alice, carrier) for m in p.received() if m.method in ("INVITE", "UPDATE")]
    print(
        f"privacy: {sum(len(p.received()) for p in (first, second, alice, carrier))} messages checked, "
        f"{len(in_dialog)} INVITE/UPDATE among them"
    )


def test_given_three_citizens_waiting_when_announcements_play_then_positions_follow_arrival_and_a_leaver_leaves(
    people, apps, redis_url
):
    """Nobody free: announcements say 1, 2, 3 in arrival order; a citizen who hangs up leaves the queue at once."""
    config = apps.config(
        config_files(overflow_when_nobody=False, announce_first=1.0, announce_interval=1.5, max_wait=30)
    )
    app = apps.start(config_dir=config)
    callers = ["0611111101", "0611111102", "0611111103"]
    citizens = []
    for caller in callers:
        # The second citizen gives up after 3.5 s; the others wait (the teardown hangs them up).
        citizens.append(people.citizen(caller, hangup_after=3.5 if caller.endswith("02") else 30))
        app.wait_for("call_step", step="queue:waiting", count=len(citizens), timeout=5)
        time.sleep(0.3)
    started = {line["caller"][-2:]: line["call_id"] for line in app.events("call_started")}
    call_ids = [started[c[-2:]] for c in callers]
    firsts = app.wait_for("call_step", step="queue:announce", count=3, timeout=8)[:3]
    assert [(line["call_id"], line["position"]) for line in firsts] == list(zip(call_ids, [1, 2, 3], strict=True))

    app.wait_for("call_ended", call_id=call_ids[1], timeout=8)
    wait_until(lambda: waiting(redis_url) == [call_ids[0], call_ids[2]], 0.5, "the leaver out of the waiting zset")
    after = app.wait_for(
        "call_step", step="queue:announce", call_id=call_ids[2], where=lambda line: line["position"] == 2, timeout=8
    )
    assert after, "the last citizen's position did not move up"
    assert all(line["position"] == 1 for line in app.events("call_step", step="queue:announce", call_id=call_ids[0]))


def test_given_two_instances_and_five_agents_when_fifty_citizens_call_then_no_agent_has_two_calls_and_all_end(
    people, apps, redis_url, trace_dir
):
    """Two instances on one Redis, 50 concurrent calls, 5 agents: never two calls per agent; each call ends cleanly."""
    files = config_files(whisper=["beep"], ring_timeout=4, wrap_up=0.3, max_wait=45, max_misses=0)
    config = apps.config(files)
    app_a = apps.start(config_dir=config, app="callcontrol")
    app_b = apps.start(config_dir=apps.config(files, name="config-b"), app="callcontrol-b")
    phones = hanging_up_agents(people, trace_dir, ("1001", "1002", "1003"), answer_after=0.2, hangup_after=1.0)
    carrier = people.carrier(answer_after=0.2, hangup_after=1.0, dtmf_after_answer=[(0.2, "1")], send_audio=False)
    logins(config, redis_url, ("alice", "bruno", "chloe"))
    logins(config, redis_url, ("damien", "emma"), "mobile")

    watch = ReservationWatch(redis_url)
    watch.start()
    began = time.monotonic()
    crowd = citizen_crowd(trace_dir, 50, rate=50, hangup_after=80)
    people.processes.append(crowd)
    try:
        ended = wait_until(
            lambda: len(app_a.events("call_ended")) + len(app_b.events("call_ended")) >= 50 and True,
            85,
            "50 calls ended",
            interval=0.5,
        )
    finally:
        watch.stop()
    elapsed = time.monotonic() - began
    assert ended
    entries = journal(redis_url)
    outcomes = Counter(entry["outcome"] for entry in entries)
    per_agent = Counter(entry.get("agent") for entry in entries if entry["outcome"] == "answered")
    assert len(entries) == 50 and set(outcomes) <= {"answered", "timeout"}, outcomes
    assert app_a.events("call_started") and app_b.events("call_started"), "the dialplan used one instance only"
    assert not watch.violations, watch.violations[:10]
    for phone in phones:
        spans = dialogs(phone.messages())
        assert not overlaps(spans.get("phone", [])), (phone.name, overlaps(spans["phone"]))
    mobiles = dialogs(carrier.messages(), key=lambda m: (m.request_uri or "").split("@")[0])
    for mobile, spans in mobiles.items():
        assert not overlaps(spans), (mobile, overlaps(spans))
    assert crowd.wait(10) == 0, crowd.describe()[-3000:]
    latency = latency_summary(app_a.events("routing_latency") + app_b.events("routing_latency"))
    report = {
        "elapsed_s": round(elapsed, 1),
        "outcomes": dict(outcomes),
        "per_agent": dict(per_agent),
        "calls_per_instance": [len(app_a.events("call_started")), len(app_b.events("call_started"))],
        "redis_samples": watch.samples,
        "max_calls_seen": watch.max_calls_seen,
        "routing_latency": latency,
    }
    (trace_dir / "load-report.json").write_text(json.dumps(report, indent=1))
    print(f"load: {report}")
    assert elapsed < 90, report
