"""CallSession through the dispatcher and the fake ARI: prompts, digits, the channel going away."""

from fakes import FakeAri, JsonLogs

from callcontrol.ari.media import media_uri
from callcontrol.calls.session import CallSession
from calls.harness import eventually


def recording(results: dict[str, object], body):
    """A handler running `body(call)` and keeping what it returns (or the exception type) in results."""

    async def handler(call: CallSession) -> str:
        await call.answer()
        try:
            results["value"] = await body(call)
        except BaseException as exc:
            results["raised"] = type(exc).__name__
            raise
        return "completed"

    return handler


async def test_play_returns_interrupting_digit_and_stops_playback(harness, fake_ari: FakeAri):
    """A digit among `interrupt` ends the prompt at once: play() returns it and the playback is stopped."""
    results: dict[str, object] = {}
    h = await harness({"inbound": recording(results, lambda call: call.play(["callcontrol/menu"], interrupt="12"))})
    await h.call("c1")
    await eventually(lambda: fake_ari.find("POST", "/channels/c1/play/*"))
    play = fake_ari.last("POST", "/channels/c1/play/*")
    assert play.query == {"media": "sound:callcontrol/menu", "lang": "fr"}
    await fake_ari.push(fake_ari.dtmf("c1", "5"))  # not a menu choice: the prompt goes on
    await fake_ari.push(fake_ari.dtmf("c1", "2"))
    await h.wait_ended("c1")
    assert results == {"value": "2"}
    playback_id = play.path.rsplit("/", 1)[1]
    assert fake_ari.find("DELETE", f"/playbacks/{playback_id}")


async def test_a_key_that_cuts_a_prompt_short_is_acted_on_before_asterisk_answers_the_stop(harness, fake_ari: FakeAri):
    """The citizen's choice goes on at once: play() returns the key while Asterisk has not yet answered the stop."""
    results: dict[str, object] = {}
    stop = fake_ari.hold("DELETE", "/playbacks/*")
    h = await harness({"inbound": recording(results, lambda call: call.play(["callcontrol/menu"], interrupt="1"))})
    await h.call("c1")
    await eventually(lambda: fake_ari.find("POST", "/channels/c1/play/*"))
    await fake_ari.push(fake_ari.dtmf("c1", "1"))
    await eventually(lambda: results)
    assert results == {"value": "1"} and fake_ari.find("DELETE", "/playbacks/*")  # asked, not answered yet
    stop.set()
    await h.wait_ended("c1")


async def test_prompt_that_finishes_returns_none(harness):
    """A prompt played to its end (PlaybackFinished) returns None and stops nothing."""
    results: dict[str, object] = {}
    h = await harness({"inbound": recording(results, lambda call: call.play(["a", "digits:12"], interrupt="1"))})
    h.fake.playback_seconds = 0.01
    await h.call("c1")
    await h.wait_ended("c1")
    assert results == {"value": None}
    assert h.fake.last("POST", "/channels/c1/play/*").query["media"] == "sound:a,digits:12"
    assert not h.fake.find("DELETE", "/playbacks/*")


async def test_digits_during_uninterruptible_prompt_are_read_next(harness, fake_ari: FakeAri):
    """Digits typed during a prompt that cannot be interrupted are read, in order, by the next read_digit()."""
    results: dict[str, object] = {}

    async def body(call: CallSession):
        await call.play(["callcontrol/welcome"])
        return [await call.read_digit(timeout=0.5), await call.read_digit(timeout=0.5)]

    h = await harness({"inbound": recording(results, body)})
    fake_ari.playback_seconds = 0.05
    await h.call("c1")
    await eventually(lambda: fake_ari.find("POST", "/channels/c1/play/*"))
    await fake_ari.push(fake_ari.dtmf("c1", "4"), fake_ari.dtmf("c1", "2"))
    await h.wait_ended("c1")
    assert results == {"value": ["4", "2"]}
    assert not fake_ari.find("DELETE", "/playbacks/*")  # the welcome was played to its end


async def test_digit_typed_ahead_answers_the_next_menu_at_once(harness, fake_ari: FakeAri):
    """A menu choice typed during the welcome answers the following menu without playing it."""
    results: dict[str, object] = {}

    async def body(call: CallSession):
        await call.play(["callcontrol/welcome"])
        return await call.play(["callcontrol/menu"], interrupt="123")

    h = await harness({"inbound": recording(results, body)})
    fake_ari.playback_seconds = 0.05
    await h.call("c1")
    await eventually(lambda: fake_ari.find("POST", "/channels/c1/play/*"))
    await fake_ari.push(fake_ari.dtmf("c1", "3"))
    await h.wait_ended("c1")
    assert results == {"value": "3"}
    assert [r.query["media"] for r in fake_ari.find("POST", "/channels/c1/play/*")] == ["sound:callcontrol/welcome"]


async def test_read_digit_times_out_with_none(harness):
    """read_digit() returns None when the citizen types nothing within the timeout."""
    results: dict[str, object] = {}
    h = await harness({"inbound": recording(results, lambda call: call.read_digit(timeout=0.02))})
    await h.call("c1")
    await h.wait_ended("c1")
    assert results == {"value": None}


async def test_hangup_during_prompt_ends_call_as_caller_hangup(harness, fake_ari: FakeAri, json_logs: JsonLogs):
    """A citizen hanging up in the middle of a prompt ends the call as caller_hangup, not as an error."""
    results: dict[str, object] = {}
    h = await harness({"inbound": recording(results, lambda call: call.play(["callcontrol/menu"], interrupt="1"))})
    await h.call("c1")
    await eventually(lambda: fake_ari.find("POST", "/channels/c1/play/*"))
    await fake_ari.push(fake_ari.hangup_request("c1"))
    session, _ = await h.wait_ended("c1")
    assert session.outcome == "caller_hangup"
    assert results["raised"] in {"CancelledError", "CallEnded"}
    assert json_logs.events("call_failed") == []


async def test_channel_gone_on_play_is_caller_hangup(harness, fake_ari: FakeAri, json_logs: JsonLogs):
    """A 404 when starting a prompt (channel just vanished) ends the call as caller_hangup, no hangup sent."""
    results: dict[str, object] = {}
    h = await harness({"inbound": recording(results, lambda call: call.play(["callcontrol/menu"]))})
    fake_ari.fail("POST", "/channels/c1/play/*", 404, "Channel not found")
    await h.call("c1")
    session, _ = await h.wait_ended("c1")
    assert (session.outcome, results["raised"]) == ("caller_hangup", "CallEnded")
    assert not fake_ari.find("DELETE", "/channels/c1")
    assert json_logs.events("call_failed") == []


async def test_handler_hanging_up_itself_completes_normally(harness, fake_ari: FakeAri):
    """A flow that hangs up itself ends as its own outcome; the hangup events that follow cancel nothing."""

    async def handler(call: CallSession) -> str:
        await call.answer()
        await call.hangup()
        await eventually(lambda: call.hung_up)  # StasisEnd/ChannelDestroyed came back
        return "completed"

    h = await harness({"inbound": handler})
    await h.call("c1")
    session, _ = await h.wait_ended("c1")
    assert session.outcome == "completed"
    assert len(fake_ari.find("DELETE", "/channels/c1")) == 1


def test_media_uri_defaults_to_sound():
    """A bare prompt name means a sound; URIs with a scheme pass unchanged."""
    assert media_uri("vm-intro") == "sound:vm-intro"
    assert media_uri("digits:42") == "digits:42"


async def test_recording_asterisk_cannot_make_is_reported_and_the_call_goes_on(harness, fake_ari: FakeAri):
    """When Asterisk refuses to record (500), record() reports "failed" instead of ending the citizen's call."""
    results: dict[str, object] = {}
    fake_ari.fail("POST", "/channels/*/record", 500, message="Internal Server Error", times=None)
    h = await harness({"inbound": recording(results, lambda call: call.record(max_seconds=5))})
    await h.call("c1")
    await h.wait_ended("c1")
    result = results["value"]
    assert result.ended_by == "failed" and result.duration == 0.0
