"""The runner drives a scripted caller through the flows, branch by branch, on a virtual clock."""

from __future__ import annotations

import time

import pytest
from flow_fakes import (
    MONDAY_10,
    REPO,
    Closed,
    FakeCall,
    FakeClosures,
    FakeEnqueuer,
    make_config,
    paris,
    settings,
)
from structlog.testing import capture_logs

from callcontrol.calls.errors import CallEnded
from callcontrol.flows import FlowRunner, load_flows

MENU = "sound:callcontrol/main-menu"
CLOSED = "sound:callcontrol/closed"


@pytest.fixture(scope="module")
def demo():
    return load_flows(REPO / "config", settings())


async def run(flows, call, *, enqueuer=None, closures=None, entry="inbound", **kw):
    enqueuer = enqueuer or FakeEnqueuer()
    runner = FlowRunner(flows, enqueuer=enqueuer, manual_closures=closures or FakeClosures(), **kw)
    await runner.run(call, entry)
    return enqueuer


def inline(tmp_path, text: str):
    return load_flows(make_config(tmp_path, texts={"flows/t.yaml": text}), settings())


# ------------------------------------------------------------------------------------------------ the demo city


async def test_digit_one_reaches_the_civil_registry(demo):
    """Open hours, key 1: the caller is queued for etat-civil and the path records every branch."""
    call = FakeCall(["1"])
    enqueuer = await run(demo, call)
    assert enqueuer.calls == [("etat-civil", "fr")]
    assert call.steps == [
        "flow:main",
        "schedule:open",
        "gather:main-menu",
        "digit:1",
        "enqueue:etat-civil",
        "queue:answered",
    ]
    assert call.hung_up == "normal"
    assert call.sounds()[:3] == ["sound:callcontrol/welcome", "sound:callcontrol/for-english", MENU]


@pytest.mark.parametrize(
    ("key", "hotline"),
    [("2", "urbanisme"), ("3", "services-techniques"), ("4", "ccas"), ("0", "standard")],
)
async def test_each_menu_key_reaches_its_service(demo, key, hotline):
    """Keys 2, 3, 4 and 0 queue the caller for town planning, technical services, social services, switchboard."""
    enqueuer = await run(demo, FakeCall([key]))
    assert enqueuer.calls == [(hotline, "fr")]


async def test_invalid_digit_replays_the_menu(demo):
    """A key with no branch says so, replays the menu (one retry used) and the next key is honoured."""
    call = FakeCall(["7", "2"])
    enqueuer = await run(demo, call)
    assert call.sounds().count(MENU) == 2
    assert "sound:callcontrol/invalid-choice" in call.sounds()
    assert "invalid:7" in call.steps and "digit:2" in call.steps
    assert enqueuer.calls == [("urbanisme", "fr")]


async def test_no_input_takes_the_default_branch_after_retries(demo):
    """Silence: the menu is played 1 + retries (2) times, then no_input leads to the switchboard."""
    call = FakeCall([])
    enqueuer = await run(demo, call)
    assert call.sounds().count(MENU) == 3
    assert call.steps.count("no_input") == 3
    assert "gather_failed:no_input" in call.steps
    assert enqueuer.calls == [("standard", "fr")]
    assert call.read_timeouts == [5.0, 5.0, 5.0]


async def test_wrong_keys_every_time_take_the_default_branch(demo):
    """Three wrong keys: with no `invalid` branch, the no_input branch (switchboard) is taken."""
    call = FakeCall(["7", "7", "7"])
    enqueuer = await run(demo, call)
    assert call.steps.count("invalid:7") == 3
    assert "gather_failed:invalid" in call.steps
    assert enqueuer.calls == [("standard", "fr")]


async def test_eight_switches_to_english_and_replays_the_menu(demo):
    """8 switches prompts to English and replays the menu in English; the service is reached in English."""
    call = FakeCall([None, "8", "3"])  # silent during the English hint, then 8 at the menu
    enqueuer = await run(demo, call)
    assert ("fr", MENU) in call.played and ("en", MENU) in call.played
    assert "language:en" in call.steps
    assert enqueuer.calls == [("services-techniques", "en")]


async def test_eight_during_the_english_hint_skips_the_french_menu(demo):
    """The English hint is interruptible by 8: the key goes straight to the menu, the French menu is not played."""
    call = FakeCall(["8", "1"])
    enqueuer = await run(demo, call)
    assert ("en", "sound:callcontrol/for-english") in call.played
    assert ("fr", MENU) not in call.played
    assert call.sounds("en").count(MENU) == 1
    assert enqueuer.calls == [("etat-civil", "en")]


@pytest.mark.parametrize(
    ("when", "manual", "state", "message"),
    [
        (paris(2026, 3, 1, 10, 0), None, "schedule:closed", None),  # Sunday
        (paris(2026, 12, 25, 10, 0), None, "schedule:holiday", None),  # Christmas Day
        (paris(2026, 12, 24, 15, 0), None, "schedule:closure", "sound:callcontrol/closed-afternoon"),
        (MONDAY_10, Closed("callcontrol/closed-today"), "schedule:manual_closed", "sound:callcontrol/closed-today"),
    ],
    ids=["sunday", "holiday", "local-closure", "manual-closure"],
)
async def test_out_of_hours_callers_take_the_closed_branch(demo, when, manual, state, message):
    """Sunday, a public holiday, a local closure, the manual switch: message, then 9 reaches the on-call agent."""
    call = FakeCall(["9"], now=when)
    closures = FakeClosures({"mairie": manual} if manual else {})
    enqueuer = await run(demo, call, closures=closures)
    assert call.steps[:3] == ["flow:main", state, "flow:closed"]
    assert "gather:closed-menu" in call.steps and "digit:9" in call.steps
    assert MENU not in call.sounds()
    assert CLOSED in call.sounds()
    if message:
        assert call.sounds().index(message) < call.sounds().index(CLOSED)
    assert enqueuer.calls == [("astreinte", "fr")]


async def test_closed_and_silent_caller_hears_goodbye(demo):
    """Out of hours with no key: the closed menu is played twice, then goodbye and hang up."""
    call = FakeCall([], now=paris(2026, 3, 1, 10, 0))
    enqueuer = await run(demo, call)
    assert call.sounds().count(CLOSED) == 2
    assert call.sounds()[-1] == "sound:callcontrol/goodbye"
    assert call.steps[-1] == "hangup"
    assert call.hung_up == "normal" and enqueuer.calls == []


async def test_unavailable_service_apologises(demo):
    """A queue outcome other than answered continues the flow: apology, goodbye, hang up."""
    call = FakeCall(["4"])
    await run(demo, call, enqueuer=FakeEnqueuer({"ccas": "unavailable"}))
    assert call.sounds()[-2:] == ["sound:callcontrol/service-unavailable", "sound:callcontrol/goodbye"]
    assert call.steps[-2:] == ["queue:unavailable", "hangup"]


class HangsUpWhileQueued:
    """A citizen who gives up while waiting: the queue hangs up their channel."""

    async def enqueue(self, call, hotline_id: str) -> str:
        await call.hangup("normal")
        raise CallEnded()


async def test_caller_who_hangs_up_while_queued_ends_the_run_quietly(demo):
    """The caller hangs up in the queue: nothing more is played and the runner stops quietly."""
    call = FakeCall(["1"])
    with capture_logs() as logs:
        await FlowRunner(demo, enqueuer=HangsUpWhileQueued(), manual_closures=FakeClosures()).run(call)
    assert call.sounds()[-1] == MENU
    assert call.hung_up == "normal"
    assert call.steps[-1] == "enqueue:etat-civil"
    assert [e["event"] for e in logs] == ["flow_started", "flow_caller_left"]


async def test_redis_failure_does_not_close_the_town_hall(demo):
    """If the manual closures cannot be read, the hours decide and a warning is logged."""
    call = FakeCall(["1"])
    with capture_logs() as logs:
        enqueuer = await run(demo, call, closures=FakeClosures(fail=True))
    assert "schedule:open" in call.steps and enqueuer.calls == [("etat-civil", "fr")]
    warning = next(e for e in logs if e["event"] == "manual_closures_unavailable")
    assert warning["log_level"] == "warning" and warning["schedule"] == "mairie"


async def test_caller_hanging_up_ends_the_run_quietly(demo):
    """CallEnded from the port (the caller left) ends run() without an exception."""
    call = FakeCall([], leaves_after=3)
    await run(demo, call)
    assert call.hung_up is None
    assert call.steps[-1] == "gather:main-menu"


async def test_runner_logs_snake_case_events_with_fields(demo):
    """flow_started and flow_ended carry the call id, entry and flow as keyword fields."""
    with capture_logs() as logs:
        await run(demo, FakeCall(["1"]))
    assert logs[0] == {"event": "flow_started", "log_level": "info", "call_id": "call-1", "entry": "inbound",
                       "flow": "main"}  # fmt: skip
    assert logs[-1]["event"] == "flow_ended" and logs[-1]["reason"] == "enqueue"


async def test_no_real_time_passes(demo):
    """Menus and timeouts run on the call's clock: a caller silent for 15 virtual seconds takes milliseconds."""
    call = FakeCall([])
    started = time.perf_counter()
    await run(demo, call)
    assert time.perf_counter() - started < 0.5
    assert (call.clock - MONDAY_10).total_seconds() >= 15


async def test_unknown_entry_is_refused(demo):
    """run() with an entry no file declares raises ValueError naming the declared ones."""
    with pytest.raises(ValueError, match="no flow for entry 'feature'; declared: inbound"):
        await run(demo, FakeCall([]), entry="feature")


# ------------------------------------------------------------------------------------------------ every verb


EVERY_VERB = """
entry: {inbound: start}
allow_transfer_to: ["+33612000001"]
caller_lists: {elus: ["+33612000002"]}
flows:
  start:
    - when_caller:
        withheld: flow:withheld
        known: {elus: flow:vip, "+33612000009": flow:vip}
        else: menu
    - id: menu
      gather:
        prompt: callcontrol/main-menu
        max_digits: 3
        retries: 0
        on: {1: flow:say, 12: flow:record, 123: flow:queue, "*": flow:pause}
        no_input: flow:end
  withheld:
    - play: {sounds: callcontrol/welcome, language: en}
    - play: callcontrol/goodbye
    - hangup: withheld
  vip:
    - transfer: {number: "+33612000001", no_answer: sorry}
    - id: sorry
      play: callcontrol/goodbye
  say:
    - say: {number: 42}
    - say: {digits: "0556"}
    - say: {date: 2026-12-25}
    - say: {date: 2026-12-25, with_year: true}
    - goto: flow:end
  record:
    - record: {max_seconds: 60, beep: false}
    - goto: flow:end
  queue:
    - enqueue: {hotline: help, on: {timeout: after-timeout}}
    - play: callcontrol/goodbye
    - id: after-timeout
      play: callcontrol/welcome
  pause:
    - pause: 2
    - gather: {prompt: callcontrol/main-menu, retries: 0, on: {5: flow:end}}
  end:
    - play: callcontrol/goodbye
"""


@pytest.fixture
def verbs_flows(tmp_path):
    return inline(tmp_path, EVERY_VERB)


async def test_when_caller_withheld(verbs_flows):
    """A withheld number takes the withheld branch; play's language applies to that play only."""
    call = FakeCall([], caller=None)
    await run(verbs_flows, call)
    assert call.steps == ["flow:start", "caller:withheld", "flow:withheld", "hangup"]
    assert call.played == [("en", "sound:callcontrol/welcome"), ("fr", "sound:callcontrol/goodbye")]
    assert call.hung_up == "withheld"


@pytest.mark.parametrize("caller", ["+33612000002", "+33612000009"])
async def test_when_caller_known_by_list_or_number(verbs_flows, caller):
    """A caller in a caller list, or matching a listed number, takes the known branch (here: a transfer)."""
    call = FakeCall([], caller=caller, transfer_answered=True)
    await run(verbs_flows, call)
    assert "caller:known" in call.steps and call.transfers == ["+33612000001"]
    assert call.steps[-1] == "transfer:answered" and call.hung_up == "normal"


async def test_transfer_not_answered_takes_no_answer(verbs_flows):
    """An unanswered transfer goes to no_answer, then the flow runs off its end and hangs up politely."""
    call = FakeCall([], caller="+33612000002", transfer_answered=False)
    await run(verbs_flows, call)
    assert call.steps[-2:] == ["transfer:no_answer", "end_of_flow"]
    assert call.sounds() == ["sound:callcontrol/goodbye"] and call.hung_up == "normal"


async def test_transfer_outside_the_runner_allow_list_is_refused(verbs_flows):
    """The runner re-checks the allow-list: a number not allowed is never dialled."""
    call = FakeCall([], caller="+33612000002")
    with capture_logs() as logs:
        await run(verbs_flows, call, allowed_numbers=set())
    assert call.transfers == [] and "transfer:refused" in call.steps
    assert any(e["event"] == "transfer_refused" and e["log_level"] == "error" for e in logs)


async def test_other_callers_take_else_and_say_speaks_values(verbs_flows):
    """else leads to the menu; say renders numbers, digits and dates as ARI media."""
    call = FakeCall(["1", None])  # 1, then silence: a three-digit menu waits for more before settling on "1"
    await run(verbs_flows, call)
    assert "caller:other" in call.steps and "digit:1" in call.steps
    assert call.sounds()[1:8] == [
        "number:42",
        "digits:0556",
        "number:25",
        "sound:digits/mon-11",
        "number:25",
        "sound:digits/mon-11",
        "number:2026",
    ]


async def test_multi_digit_menu_stops_early_on_a_complete_key(verbs_flows):
    """With keys 1, 12 and 123, typing 1-2-3 matches 123 at once; no terminator or timeout needed."""
    call = FakeCall(["1", "2", "3"])
    enqueuer = await run(verbs_flows, call)
    assert "digit:123" in call.steps and enqueuer.calls == [("help", "fr")]
    assert call.read_timeouts == [5.0, 5.0]


async def test_terminator_ends_a_multi_digit_entry(verbs_flows):
    """1-2-# enters 12 (the record branch) without waiting for a third digit."""
    call = FakeCall(["1", "2", "#"])
    await run(verbs_flows, call)
    assert "digit:12" in call.steps
    record = next(p for p in call.path if p.step == "record")
    assert record.detail == {"name": "rec-60-False", "duration": 10.0, "ended_by": "silence"}


async def test_enqueue_outcome_branches(verbs_flows):
    """An enqueue outcome listed under on: jumps to its target."""
    call = FakeCall(["1", "2", "3"])
    await run(verbs_flows, call, enqueuer=FakeEnqueuer({"help": "timeout"}))
    assert "queue:timeout" in call.steps
    assert call.sounds()[-1] == "sound:callcontrol/welcome"


async def test_key_pressed_during_a_pause_reaches_the_next_menu(verbs_flows):
    """pause waits on the call (no sleep); a key pressed meanwhile is the next menu's answer."""
    call = FakeCall(["*", "5"])
    await run(verbs_flows, call)
    assert call.read_timeouts == [2.0]  # "*" cut the menu prompt short; "5" came during the pause
    assert call.steps[-5:] == ["flow:pause", "gather:pause[1]", "digit:5", "flow:end", "end_of_flow"]
    assert call.sounds().count("sound:callcontrol/main-menu") == 1  # the pending key skipped the prompt


async def test_no_input_with_zero_retries_branches_at_once(verbs_flows):
    """retries: 0 means one attempt; silence goes straight to no_input."""
    call = FakeCall([])
    await run(verbs_flows, call)
    assert call.steps == ["flow:start", "caller:other", "gather:menu", "no_input", "gather_failed:no_input",
                          "flow:end", "end_of_flow"]  # fmt: skip


async def test_runaway_flows_are_cut_off(tmp_path):
    """A menu that replays itself forever is ended after max_steps, with an error logged."""
    flows = inline(tmp_path, "entry: {inbound: m}\nflows:\n  m:\n    - id: a\n      gather: {prompt: x, no_input: a}\n")
    call = FakeCall([], leaves_after=10_000)
    with capture_logs() as logs:
        await run(flows, call, max_steps=5)
    assert call.steps.count("gather:a") == 5 and call.hung_up == "normal"
    assert logs[-1]["event"] == "flow_step_limit"
