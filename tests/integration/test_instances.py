"""Several instances, one queue (issue 14), end to end: ring-all losers hung up with "appel déjà pris" and never
rung while a dialog of theirs is up; one arrival order across instances whose clocks differ; a killed instance's
waiting citizens taken over by the other within seconds of its heartbeat expiring, at their place."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime

import pytest
import redis as redis_lib
from harness import wait_until
from hotline_kit import (
    ReservationWatch,
    citizen_crowd,
    config_files,
    dialogs,
    hanging_up_agent,
    hanging_up_agents,
    journal,
    login,
    logins,
    overlaps,
    presence,
    waiting,
)
from instances_kit import HOTLINES, MOBILES, SOFTPHONES, EventLog, offered_twice, passed_over, three_hotlines_files
from sipp import SipMessage

HEARTBEAT_TTL = 3  # seconds (production: 15): the takeover test waits for it to expire


def _t(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def answered_dialogs(messages: list[SipMessage]) -> list[dict[str, float | str | None]]:
    """Per dialog the phone answered: when it sent its 200 OK, and when a BYE came in or went out (who sent it)."""
    out: dict[str, dict[str, float | str | None]] = {}
    for m in messages:
        cid = m.call_id or ""
        if m.status == 200 and m.direction == "sent" and m.cseq_method == "INVITE" and cid not in out:
            out[cid] = {"answered": _t(m.timestamp), "bye": None, "by": None}
        elif m.method == "BYE" and cid in out and out[cid]["bye"] is None:
            out[cid]["bye"] = _t(m.timestamp)
            out[cid]["by"] = "asterisk" if m.direction == "received" else "phone"
    return list(out.values())


def callers_in_queue(redis_url: str) -> list[str]:
    """The waiting citizens, head first, by the last two digits of their number (kept by the masked form)."""
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [client.hget(f"cc:call:{c}", "caller_masked")[-2:] for c in waiting(redis_url)]
    finally:
        client.close()


def free(redis_url: str, agent: str) -> bool:
    """Available and reserved for no call (a ringing or talking agent stays `available`, with `reserved_by`)."""
    state = presence(redis_url, agent)
    return state.get("state") == "available" and not state.get("reserved_by")


def owners(redis_url: str) -> Counter[str]:
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    try:
        return Counter(client.hget(f"cc:call:{c}", "owner") for c in waiting(redis_url))
    finally:
        client.close()


def test_given_ring_all_and_three_phones_answering_at_once_then_losers_hear_call_taken_and_no_dialog_overlaps(
    people, apps, redis_url, trace_dir
):
    """Ring-all, three softphones that all answer at once, citizens in a row: one agent gets each citizen, the
    others are hung up by Asterisk within ~2 s of answering (after "appel déjà pris"), and no phone ever has two
    dialogs at once."""
    files = config_files(strategy="ring_all", whisper=["beep"], ring_timeout=4, wrap_up=0.3, max_wait=40)
    config = apps.config(files)
    app = apps.start(config_dir=config)
    phones = hanging_up_agents(people, trace_dir, ("1001", "1002", "1003"), answer_after=0.05, hangup_after=2.5)
    agents = ("alice", "bruno", "chloe")
    logins(config, redis_url, agents)
    citizens = 4
    for i in range(citizens):
        people.citizen(f"06123456{i:02d}", hangup_after=20, send_audio=False)
        app.wait_for("call_step", step="connected", count=i + 1, timeout=10)
        # the winner talks 2.5 s (longer than a loser's dismissal), then wrap-up: all free for the next ring-all
        wait_until(lambda: all(free(redis_url, a) for a in agents), 8, "all three agents free again")
    app.wait_for("agent_leg_dismissed", count=1, timeout=5)
    losers = 0
    for phone in phones:
        spans = dialogs(phone.messages())
        assert not overlaps(spans.get("phone", [])), (phone.name, overlaps(spans["phone"]))
        for dialog in answered_dialogs(phone.messages()):
            assert dialog["bye"] is not None, (phone.name, "a dialog was left open", dialog)
            if dialog["by"] == "asterisk":  # a loser (the winners hang up themselves after 2.5 s)
                losers += 1
                assert dialog["bye"] - dialog["answered"] < 2.5, (phone.name, dialog)  # whisper + prompt
    assert losers >= citizens, f"expected the losers to be hung up by Asterisk, saw {losers}"
    assert len(app.events("call_step", step="connected")) == citizens
    taken = app.events("agent_leg_dismissed", answered=True)
    assert taken, "no loser heard 'appel déjà pris'"


def test_given_two_instances_with_skewed_clocks_when_citizens_queue_then_they_are_served_in_arrival_order(
    people, apps, redis_url, trace_dir
):
    """Two instances whose clocks differ (each started the demo clock at its own start) still queue citizens in
    the order they arrived, whichever instance holds them, and the agent serves them in that order."""
    files = config_files(whisper=["beep"], wrap_up=0, overflow_when_nobody=False, max_wait=60)
    config = apps.config(files)
    app_a = apps.start(config_dir=config, app="callcontrol", clock="2026-11-23T10:00")
    time.sleep(2.5)  # B's city clock is now 2.5 s behind A's
    app_b = apps.start(config_dir=apps.config(files, name="config-b"), app="callcontrol-b", clock="2026-11-23T10:00")
    citizens = 8
    for i in range(citizens):
        people.citizen(f"06123456{i:02d}", hangup_after=40, send_audio=False)
        wait_until(lambda n=i + 1: len(waiting(redis_url)) >= n, 5, f"citizen {i} queued")
        time.sleep(0.3)
    held = owners(redis_url)
    assert len(held) == 2, f"the dialplan gave every call to one instance: {held}"
    arrival = [f"{i:02d}" for i in range(citizens)]
    assert callers_in_queue(redis_url) == arrival
    hanging_up_agents(people, trace_dir, ["1001"], answer_after=0.05, hangup_after=1.0)
    login(config, redis_url, "alice")
    wait_until(lambda: len(journal(redis_url)) >= citizens, 40, "every citizen served", interval=0.2)
    served = [e for e in journal(redis_url) if e["outcome"] == "answered"]
    connected = sorted(
        app_a.events("call_step", step="connected") + app_b.events("call_step", step="connected"),
        key=lambda line: line["timestamp"],
    )
    assert len(served) == citizens == len(connected)
    order = {line["call_id"]: n for n, line in enumerate(connected)}
    assert sorted(order.values()) == list(range(citizens))
    # the journal keeps the masked caller: its last two digits name the citizen
    by_call = {e["call_id"]: e for e in served}
    served_order = [by_call[c]["caller"][-2:] for c in sorted(order, key=order.get)]
    assert served_order == arrival, served_order


def test_given_two_instances_when_one_is_killed_then_the_other_takes_its_waiting_citizens_over_in_order(
    people, apps, redis_url, trace_dir
):
    """kill -9 of one instance while its citizens wait: within 5 s of its heartbeat expiring the other instance
    takes them over (one `instance_taken_over` line with the counts), keeps them at their place, and serves them
    all; nobody is lost and no agent ever has two calls."""
    files = config_files(whisper=["beep"], wrap_up=0, overflow_when_nobody=False, max_wait=90)
    env = {"CALLCONTROL_HEARTBEAT_TTL": str(HEARTBEAT_TTL)}
    config = apps.config(files)
    app_a = apps.start(config_dir=config, app="callcontrol", env=env)
    app_b = apps.start(config_dir=apps.config(files, name="config-b"), app="callcontrol-b", env=env)
    citizens = 10
    for i in range(citizens):
        people.citizen(f"06123456{i:02d}", hangup_after=80, send_audio=False)
        wait_until(lambda n=i + 1: len(waiting(redis_url)) >= n, 5, f"citizen {i} queued")
    held = owners(redis_url)
    assert held["callcontrol-b"] > 0, f"no citizen waits on callcontrol-b: {held}"
    arrival = callers_in_queue(redis_url)
    killed_at = time.time()
    app_b.kill()
    expired_by = killed_at + HEARTBEAT_TTL
    [taken] = app_a.wait_for("instance_taken_over", dead="callcontrol-b", timeout=HEARTBEAT_TTL + 6)
    taken_at = datetime.fromisoformat(taken["timestamp"].replace("Z", "+00:00")).timestamp()
    assert taken_at - expired_by < 5, (taken_at - expired_by, taken)
    assert taken["calls"] == held["callcontrol-b"] and taken["moved"] == held["callcontrol-b"], taken
    wait_until(lambda: owners(redis_url) == Counter({"callcontrol": citizens}), 5, "all citizens owned by A")
    assert callers_in_queue(redis_url) == arrival  # at their place
    assert len(app_a.events("call_started", resumed=True)) >= held["callcontrol-b"]

    watch = ReservationWatch(redis_url)
    watch.start()
    phones = hanging_up_agents(people, trace_dir, ("1001", "1002"), answer_after=0.05, hangup_after=1.0)
    try:
        logins(config, redis_url, ("alice", "bruno"))
        wait_until(lambda: len(journal(redis_url)) >= citizens, 50, "every citizen served", interval=0.2)
    finally:
        watch.stop()
    outcomes = Counter(e["outcome"] for e in journal(redis_url))
    assert outcomes == Counter({"answered": citizens}), outcomes
    assert not watch.violations, watch.violations[:10]
    for phone in phones:
        spans = dialogs(phone.messages())
        assert not overlaps(spans.get("phone", [])), (phone.name, overlaps(spans["phone"]))
    (trace_dir / "takeover-report.json").write_text(json.dumps({"taken": taken, "held": dict(held)}, indent=1))


# The test set (item 4): two instances, three hotlines of three strategies sharing seven agents (three
# softphones, four mobiles), citizens arriving at 4/s, one instance killed when half of them have called. The
# agents' capacity (~3 citizens/s: 1 s of talk, 0.3 s of wrap-up) against 4/s keeps a queue on every hotline, and
# the citizens' patience (max_wait, and their own hang-up) is far beyond the longest wait one instance alone
# would give them (the whole run): nobody may be lost, so any loss is the instances' fault. 60 citizens in CI
# (~45 s); the 200 of the issue are the same test, marked slow (scripts/test --slow, docs/testing.md).
SHARE = {"etat-civil": (3, 2), "standard": (1, 1), "urbanisme": (1, 1)}  # hotline -> (share of the calls, per s)


# Seconds each agent talks: with the whisper, the answer and the wrap-up an agent serves at most one citizen every
# ~2.8 s, so seven agents serve < 2.6 citizens/s of the 4/s arriving: queues build up whatever the machine's speed,
# and the instance killed at half-time surely holds waiting citizens (at 1 s, a fast machine kept every queue empty).
TALK = 2.0


@pytest.mark.parametrize("calls", [pytest.param(60, id="60"), pytest.param(200, id="200", marks=pytest.mark.slow)])
def test_given_two_instances_three_hotlines_and_a_crowd_when_one_is_killed_then_all_served_first_come_first_served(
    calls, people, apps, redis_url, trace_dir
):
    """Two instances, three hotlines (longest idle, ring all, linear) sharing agents, a crowd of citizens, one
    instance killed mid-run: its citizens are taken over within 5 s of its heartbeat expiring, every citizen is
    served, in arrival order within their hotline, no agent ever has two calls and no call is offered twice."""
    patience = 40 + calls // 2  # seconds: more than the whole run takes
    files = three_hotlines_files(
        whisper=["beep"], ring_timeout=4, accept_timeout=3, wrap_up=0.3, max_wait=patience, max_misses=0,
        overflow_when_nobody=False,
    )  # fmt: skip
    env = {"CALLCONTROL_HEARTBEAT_TTL": str(HEARTBEAT_TTL)}
    config = apps.config(files)
    app_a = apps.start(config_dir=config, app="callcontrol", env=env)
    app_b = apps.start(config_dir=apps.config(files, name="config-b"), app="callcontrol-b", env=env)
    phones = [
        hanging_up_agent(trace_dir, ext, answer_after=after, hangup_after=TALK)
        for ext, after in zip(SOFTPHONES.values(), (0.05, 0.25, 0.45), strict=True)
    ]  # they pick up one after the other: a ring-all call is mostly won before the others answer
    for phone in phones:
        people.processes.append(phone)
        people.registered.append(phone.name.removeprefix("agent-"))
    carrier = people.carrier(answer_after=0.2, hangup_after=TALK, dtmf_after_answer=[(0.2, "1")], send_audio=False)
    logins(config, redis_url, SOFTPHONES)
    logins(config, redis_url, MOBILES, "mobile")

    watch, events = ReservationWatch(redis_url), EventLog(redis_url)
    watch.start()
    events.start()
    began = time.time()
    total = sum(share for share, _rate in SHARE.values())
    counts = {h: calls * share // total for h, (share, _rate) in SHARE.items()}
    counts["etat-civil"] += calls - sum(counts.values())
    crowds = [
        citizen_crowd(trace_dir, counts[h], rate=rate, hangup_after=patience + 10, caller=HOTLINES[h][1], name=h)
        for h, (_share, rate) in SHARE.items()
    ]
    people.processes.extend(crowds)
    started = lambda: len(app_a.events("call_started")) + len(app_b.events("call_started"))  # noqa: E731
    try:
        wait_until(lambda: started() >= calls // 2 and owners(redis_url)["callcontrol-b"] > 0, 60, "half called")
        held = owners(redis_url)["callcontrol-b"]
        killed_at = time.time()
        app_b.kill()
        [taken] = app_a.wait_for("instance_taken_over", dead="callcontrol-b", timeout=HEARTBEAT_TTL + 6)
        rcs = [crowd.wait(patience + 30) for crowd in crowds]
        wait_until(lambda: len(events.calls("connected")) >= calls, 5, "every citizen connected", interval=0.2)
    finally:
        watch.stop()
        events.stop()
    elapsed = time.time() - began
    (trace_dir / "events.json").write_text(json.dumps({"events": events.events, "scores": events.scores}))
    taken_at = _t(taken["timestamp"].replace("Z", "+00:00"))
    assert taken_at - (killed_at + HEARTBEAT_TTL) < 5, (taken_at - killed_at, taken)
    assert taken["moved"] == taken["calls"] >= 1 and taken["gone"] == 0, (held, taken)
    assert rcs == [0, 0, 0], [crowd.describe()[-2000:] for crowd, rc in zip(crowds, rcs, strict=True) if rc]
    # Nobody lost: every citizen reached an agent, once, and nobody left the queue.
    served = Counter(e["call"] for e in events.calls("connected"))
    assert len(served) == calls and set(served.values()) == {1}, served.most_common(3)
    assert not events.calls("left"), events.calls("left")[:5]
    outcomes = Counter(e["outcome"] for e in journal(redis_url))
    assert set(outcomes) <= {"answered"}, outcomes
    # Never an agent with two calls: Redis' reservations and every phone's SIP trace.
    assert not watch.violations, watch.violations[:10]
    for phone in phones:
        assert not overlaps(dialogs(phone.messages()).get("phone", [])), (phone.name, phone.describe()[-2000:])
    for mobile, spans in dialogs(carrier.messages(), key=lambda m: (m.request_uri or "").split("@")[0]).items():
        assert not overlaps(spans), (mobile, overlaps(spans))
    assert not offered_twice(events), offered_twice(events)[:5]
    for app in (app_a, app_b):
        offered = Counter(line["call_id"] for line in app.events("call_offered"))
        assert not [c for c, n in offered.items() if n > 1], (app.app, offered.most_common(3))
    # First come, first served within each hotline. Excused: passing the dead instance's citizens between its
    # death and their adoption (a dead instance's calls are skipped once its heartbeat expired, not waited for).
    of_b = {line["call_id"] for line in app_b.events("call_started")}
    window = (killed_at, taken_at + 1.0)
    passed, unscored = passed_over(events, lambda c, at: c in of_b and window[0] <= at <= window[1])
    assert not unscored, unscored[:5]
    assert not passed, [str(p) for p in passed[:5]]
    offers = {h: sum(1 for e in events.calls("offered") if e["hotline"] == h) for h in counts}
    waits = sorted(e["wait"] for e in journal(redis_url) if e.get("wait") is not None)
    report = {
        "calls": counts, "elapsed_s": round(elapsed, 1), "held_by_b_at_kill": held, "taken": taken,
        "taken_after_expiry_s": round(taken_at - killed_at - HEARTBEAT_TTL, 2), "offers": offers,
        "calls_per_instance": [len(app_a.events("call_started")), len(app_b.events("call_started"))],
        "journal": dict(outcomes), "wait_p50_s": waits[len(waits) // 2] if waits else None,
        "wait_max_s": waits[-1] if waits else None, "redis_samples": watch.samples,
        "max_calls_seen": watch.max_calls_seen, "events": len(events.events),
    }  # fmt: skip
    (trace_dir / "instances-report.json").write_text(json.dumps(report, indent=1))
    print(f"instances: {report}")
