"""CallDispatcher on the fake ARI: one task per call, routing by channel id, hangup, crashes, reconcile."""

import asyncio

from fakes import FakeAri, JsonLogs

from callcontrol.ari.models import parse_event
from callcontrol.calls.session import CallSession
from calls.harness import Harness, eventually

MASKED = "+33 6•• •• •• 78"


def waiting_handler(log: dict[str, object] | None = None):
    """Answers, then waits for one digit; records it under the channel id."""

    async def handler(call: CallSession) -> str:
        await call.answer()
        digit = await call.read_digit(timeout=5)
        if log is not None:
            log[call.channel.id] = digit
        return "completed"

    return handler


async def test_stasis_start_starts_one_task_per_call(harness, fake_ari: FakeAri, json_logs: JsonLogs):
    """Each inbound StasisStart starts exactly one call task, answered, with its own call_id."""
    h = await harness({"inbound": waiting_handler()})
    await h.call("c1")
    await h.call("c2", caller="0698765432")
    await fake_ari.push(fake_ari.stasis_start("c1"))  # a repeated StasisStart for an owned channel starts nothing
    await eventually(lambda: len(fake_ari.find("POST", "/channels/*/answer")) == 2)
    calls = h.dispatcher.active_calls
    assert sorted(s.channel.id for s in calls) == ["c1", "c2"]
    assert len({s.call_id for s in calls}) == 2
    started = json_logs.events("call_started")
    assert sorted(line["channel"] for line in started) == ["c1", "c2"]
    assert {line["kind"] for line in started} == {"inbound"}


async def test_events_are_routed_by_channel_id_to_the_right_call(harness, fake_ari: FakeAri):
    """A digit pressed on one citizen's channel reaches that call only."""
    digits: dict[str, object] = {}
    h = await harness({"inbound": waiting_handler(digits)})
    await h.call("c1")
    await h.call("c2")
    await fake_ari.push(fake_ari.dtmf("c2", "7"))
    await h.wait_ended("c2")
    assert digits == {"c2": "7"}
    assert h.owns("c1")
    await fake_ari.push(fake_ari.dtmf("c1", "3"))
    await h.wait_ended("c1")
    assert digits == {"c2": "7", "c1": "3"}


async def test_hangup_cancels_the_call_and_logs_call_ended(harness, fake_ari: FakeAri, json_logs: JsonLogs):
    """A citizen hanging up cancels the call's task; call_ended says caller_hangup with a duration."""
    cleaned: list[str] = []

    async def handler(call: CallSession) -> str:
        await call.answer()
        try:
            await asyncio.sleep(10)  # in the middle of anything, e.g. waiting in a queue
        finally:
            cleaned.append(call.channel.id)
        return "completed"

    h = await harness({"inbound": handler})
    await h.call("c1")
    await eventually(lambda: fake_ari.find("POST", "/channels/c1/answer"))
    await fake_ari.push(fake_ari.hangup_request("c1"))
    session, duration = await h.wait_ended("c1")
    assert session.outcome == "caller_hangup"
    assert 0 <= duration < 1
    assert cleaned == ["c1"]
    assert h.dispatcher.active_calls == []
    [ended] = json_logs.events("call_ended")
    assert ended["outcome"] == "caller_hangup"
    assert isinstance(ended["duration"], float) and 0 <= ended["duration"] < 1
    assert ended["call_id"] == session.call_id and ended["channel"] == "c1"
    assert not fake_ari.find("DELETE", "/channels/c1")  # the citizen is already gone: nothing to hang up


async def test_handler_crash_ends_only_that_call(harness, fake_ari: FakeAri, json_logs: JsonLogs):
    """A bug in one call's handler ends that call (outcome error, the channel given back to the dialplan's fallback
    route, never hung up on or left in silence); the other call goes on."""

    async def handler(call: CallSession) -> None:
        await call.answer()
        if call.channel.id == "c1":
            raise RuntimeError("cannot route caller 0612345678")
        digit = await call.read_digit(timeout=5)
        call.note(f"got-{digit}")

    h = await harness({"inbound": handler})
    await h.call("c2")
    await h.call("c1")
    crashed, _ = await h.wait_ended("c1")
    assert crashed.outcome == "error"
    # Given back to the dialplan (its fallback route follows Stasis()) rather than hung up or left in silence.
    assert fake_ari.find("POST", "/channels/c1/continue") and not fake_ari.find("DELETE", "/channels/c1")
    assert h.owns("c2")
    await fake_ari.push(fake_ari.dtmf("c2", "1"))
    survivor, _ = await h.wait_ended("c2")
    assert survivor.outcome == "completed" and [step.step for step in survivor.path] == ["got-1"]
    [failed] = json_logs.events("call_failed")
    assert failed["channel"] == "c1" and "RuntimeError" in failed["exception"]
    assert "0612345678" not in json_logs.raw


async def test_unknown_stasis_kind_is_hung_up(harness, fake_ari: FakeAri, json_logs: JsonLogs):
    """A channel entering our app with a kind nobody handles is hung up, not left in silence."""
    h = await harness({"inbound": waiting_handler()})
    fake_ari.add_channel("x1", args=("mystery",))
    await fake_ari.push(fake_ari.stasis_start("x1"))
    await eventually(lambda: fake_ari.find("DELETE", "/channels/x1"))
    assert h.dispatcher.active_calls == []
    [line] = json_logs.events("call_unexpected")
    assert (line["channel"], line["kind"]) == ("x1", "mystery")


async def test_vanished_channel_on_answer_is_caller_hangup_not_crash(harness, fake_ari: FakeAri, json_logs: JsonLogs):
    """A 404 on answer (the citizen hung up first) ends the call as caller_hangup, without an error log."""
    h = await harness({"inbound": waiting_handler()})
    fake_ari.fail("POST", "/channels/c1/answer", 404, "Channel not found")
    await h.call("c1")
    session, _ = await h.wait_ended("c1")
    assert session.outcome == "caller_hangup"
    assert json_logs.events("call_failed") == []
    assert [line["outcome"] for line in json_logs.events("call_ended")] == ["caller_hangup"]


async def test_call_end_hook_failure_does_not_break_the_dispatcher(harness, fake_ari: FakeAri, json_logs: JsonLogs):
    """A failing call-end hook (journal) is logged; the next calls still start."""
    h = await harness({"inbound": waiting_handler()})

    async def broken_hook(session: CallSession, duration: float) -> None:
        raise RuntimeError("journal down")

    h.dispatcher._on_call_end = broken_hook
    await h.call("c1")
    await fake_ari.push(fake_ari.dtmf("c1", "1"))
    await eventually(lambda: json_logs.events("call_end_hook_failed"))
    await h.call("c2")
    assert h.owns("c2")


async def test_reconcile_ends_calls_whose_channel_vanished(harness, fake_ari: FakeAri, json_logs: JsonLogs):
    """After a reconnection, a call whose channel no longer exists in Asterisk ends as caller_hangup."""
    h = await harness({"inbound": waiting_handler()})
    await h.call("c1")
    await h.call("c2")
    del fake_ari.channels["c1"]  # Asterisk restarted (or the channel died while we were disconnected)
    await fake_ari.drop_websockets()
    session, _ = await h.wait_ended("c1")
    assert session.outcome == "caller_hangup"
    assert h.owns("c2")
    assert [line["channel"] for line in json_logs.events("call_channel_vanished")] == ["c1"]


async def test_reconcile_adopts_unowned_channels_of_our_app(harness, fake_ari: FakeAri, json_logs: JsonLogs):
    """On connect, channels already in our Stasis app that no task owns are adopted as resumed calls."""
    fake_ari.add_channel("old1", args=("inbound", "0556000000"))
    fake_ari.add_channel("other", app="someone-else", args=("inbound",))
    fake_ari.add_channel("dialplan", in_stasis=False)
    h = await harness({"inbound": waiting_handler()})
    await eventually(lambda: h.owns("old1"))
    session = h.session("old1")
    assert session.resumed is True
    assert session.dialled == "0556000000"
    assert [s.channel.id for s in h.dispatcher.active_calls] == ["old1"]
    await eventually(lambda: json_logs.events("call_started"))
    [started] = json_logs.events("call_started")
    assert started["resumed"] is True and started["channel"] == "old1"
    await fake_ari.drop_websockets()  # a second reconcile does not adopt it twice
    await h.wait_reconciled(2)
    assert len(json_logs.events("call_started")) == 1


async def test_call_logs_carry_call_id_and_mask_the_caller(harness, fake_ari: FakeAri, json_logs: JsonLogs):
    """Every line a call logs carries its call_id; the citizen's number appears only masked."""

    async def handler(call: CallSession) -> str:
        await call.answer()
        call.note("menu", choice="1")
        return "completed"

    h = await harness({"inbound": handler})
    await h.call("c1", caller="0612345678")
    session, _ = await h.wait_ended("c1")
    mine = [line for line in json_logs.lines if line.get("channel") == "c1"]
    assert [line["event"] for line in mine] == ["call_started", "call_step", "call_ended"]
    assert {line["call_id"] for line in mine} == {session.call_id}
    assert mine[0]["caller"] == MASKED
    assert "0612345678" not in json_logs.raw and "612345678" not in json_logs.raw


async def test_hangup_right_after_stasis_start_still_ends_the_call(fake_ari: FakeAri, http, json_logs: JsonLogs):
    """A citizen hanging up as the call enters Stasis (both events in one read) leaves no ghost call."""
    h = Harness(fake_ari, http, {"inbound": waiting_handler()})
    fake_ari.add_channel("c1")
    async with asyncio.TaskGroup() as tg:
        h.dispatcher.attach(tg)
        # Two events already buffered on the websocket are dispatched without the loop running in between.
        await h.dispatcher.on_event(parse_event(fake_ari.stasis_start("c1")))
        await h.dispatcher.on_event(parse_event(fake_ari.hangup_request("c1")))
    assert h.dispatcher.active_calls == []
    assert [line["outcome"] for line in json_logs.events("call_ended")] == ["caller_hangup"]


async def test_unknown_stasis_kind_gets_a_prompt_then_a_clean_hangup_never_a_bare_decline(
    harness, fake_ari: FakeAri, json_logs: JsonLogs
):
    """A call of a kind no flow serves (an agent dialling a number nobody configured) is answered, hears the
    "service unavailable" prompt and is hung up; the log says which kind was not served."""
    from callcontrol.wiring import unserved_handler

    h = await harness({"inbound": waiting_handler()})
    h.dispatcher._unserved = unserved_handler()
    fake_ari.playback_seconds = 0.01
    fake_ari.add_channel("x2", args=("internal", "1002"))
    await fake_ari.push(fake_ari.stasis_start("x2"))
    session, _ = await h.wait_ended("x2")
    play = fake_ari.last("POST", "/channels/x2/play/*")
    assert fake_ari.find("POST", "/channels/x2/answer") and play is not None
    assert "callcontrol/service-unavailable" in play.query["media"]
    assert fake_ari.find("DELETE", "/channels/x2") and session.outcome == "completed"
    [line] = json_logs.events("call_unexpected")
    assert line["kind"] == "internal"


async def test_leg_of_a_call_that_is_gone_is_hung_up_as_an_orphan(harness, fake_ari: FakeAri, json_logs: JsonLogs):
    """An agent leg entering our app for a call this instance does not hold is hung up at once (never played
    a prompt meant for citizens)."""
    h = await harness({"inbound": waiting_handler()})
    fake_ari.add_channel("c9-1a2b3c4d", args=("agent-leg", "c9"))
    await fake_ari.push(fake_ari.stasis_start("c9-1a2b3c4d"))
    await eventually(lambda: fake_ari.find("DELETE", "/channels/c9-1a2b3c4d"))
    assert not fake_ari.find("POST", "/channels/c9-1a2b3c4d/play/*") and h.dispatcher.active_calls == []
    assert json_logs.events("orphan_channel_hung_up")


async def test_fallback_request_unanswered_is_asked_again_never_a_hangup(
    harness, fake_ari: FakeAri, json_logs: JsonLogs, monkeypatch
):
    """A crashed call whose fallback request Asterisk did not answer (503, a storm) is not hung up (that hangup
    could end the fallback route once the first request runs): the request is made again."""
    monkeypatch.setattr("callcontrol.calls.channels.FALLBACK_LATE_SECONDS", 0.2)

    async def handler(call: CallSession) -> None:
        raise RuntimeError("routing bug")

    fake_ari.fail("POST", "/channels/c1/continue", 503, "overloaded", times=1)
    h = await harness({"inbound": handler})
    await h.call("c1")
    await h.wait_ended("c1")
    assert len(fake_ari.find("POST", "/channels/c1/continue")) == 2
    assert not fake_ari.find("DELETE", "/channels/c1")
    assert json_logs.events("call_fallback_late") and json_logs.events("call_handed_to_fallback")
