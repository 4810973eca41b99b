"""Logs as ops read them: one JSON object per line, call_id per call task, citizen numbers never in full."""

import asyncio
import io
import json
from collections.abc import Iterator

import pytest
import structlog
from fakes import JsonLogs

from callcontrol import logs

MASKED = "+33 6•• •• •• 78"


@pytest.fixture
def json_logs() -> Iterator[JsonLogs]:
    capture = JsonLogs(level="info")
    yield capture
    capture.close()


def test_one_json_object_per_line(json_logs: JsonLogs):
    """Each event is one JSON line with event, level and an ISO UTC timestamp."""
    log = structlog.get_logger("t")
    log.info("call_started", kind="inbound")
    log.warning("ari_disconnected", close_code=1006)
    log.debug("too_chatty")  # below the configured level
    lines = json_logs.lines
    assert len(json_logs.raw.splitlines()) == len(lines) == 2
    assert [(line["event"], line["level"]) for line in lines] == [
        ("call_started", "info"),
        ("ari_disconnected", "warning"),
    ]
    assert lines[0]["kind"] == "inbound" and lines[0]["timestamp"].endswith("Z")


async def test_call_id_is_bound_per_task(json_logs: JsonLogs):
    """Lines logged from a call's task carry that call's call_id, and only that one."""
    log = structlog.get_logger("t")

    async def call(call_id: str) -> None:
        structlog.contextvars.bind_contextvars(call_id=call_id)
        log.info("call_step", step="start")
        await asyncio.sleep(0)
        log.info("call_step", step="end")

    await asyncio.gather(call("a1"), call("b2"))
    log.info("app_line")
    by_call = {(line.get("call_id"), line["step"]) for line in json_logs.lines if line["event"] == "call_step"}
    assert by_call == {("a1", "start"), ("a1", "end"), ("b2", "start"), ("b2", "end")}
    [app_line] = json_logs.events("app_line")
    assert "call_id" not in app_line


@pytest.mark.parametrize("raw", ["0612345678", "06 12 34 56 78", "06.12.34.56.78", "+33612345678", "0033612345678"])
def test_caller_number_is_masked(json_logs: JsonLogs, raw: str):
    """A citizen number in a number field is logged only in its masked form, whatever its spelling."""
    structlog.get_logger("t").info("call_started", caller=raw, callback_number=raw)
    [line] = json_logs.lines
    assert line["caller"] == line["callback_number"] == MASKED
    assert "612345678" not in json_logs.raw
    assert "12 34 56" not in json_logs.raw


def test_withheld_caller_is_logged_as_anonymous(json_logs: JsonLogs):
    """A withheld caller shows as 'anonymous', not as an empty or raw value."""
    structlog.get_logger("t").info("call_started", caller="")
    assert json_logs.lines[0]["caller"] == "anonymous"


def test_number_inside_exception_text_is_masked(json_logs: JsonLogs):
    """A number inside an exception message or traceback never reaches the log in full."""
    log = structlog.get_logger("t")
    try:
        raise RuntimeError("cannot call back 0612345678 (busy)")
    except RuntimeError:
        log.exception("call_failed")
    [line] = json_logs.lines
    assert "RuntimeError: cannot call back " + MASKED + " (busy)" in line["exception"]
    assert "0612345678" not in json_logs.raw


def test_number_inside_free_text_fields_is_masked(json_logs: JsonLogs):
    """Numbers inside error/reason/message texts are masked; the rest of the sentence stays readable."""
    structlog.get_logger("t").warning(
        "transfer_failed", error="Asterisk refused 06 12 34 56 78", reason="busy", message="from +33612345678"
    )
    [line] = json_logs.lines
    assert line["error"] == "Asterisk refused " + MASKED
    assert line["message"] == "from " + MASKED
    assert line["reason"] == "busy"


def test_ip_addresses_and_channel_ids_in_error_text_stay_readable(json_logs: JsonLogs):
    """Masking hides phone numbers in free text but keeps the host that failed and Asterisk's channel ids."""
    structlog.get_logger("t").warning(
        "redis_lost", error="Error connecting to 127.0.0.1:6390 for 1715003456.123 (caller 0612345678)"
    )
    error = json_logs.lines[0]["error"]
    assert "127.0.0.1:6390" in error and "1715003456.123" in error
    assert "0612345678" not in error and MASKED in error


def test_playback_and_leg_ids_in_error_text_stay_readable(json_logs: JsonLogs):
    """A request's playback id (uuid hex) and an agent leg's id are ids, not numbers: kept whole; a number is not."""
    structlog.get_logger("t").warning(
        "call_failed",
        error="POST /channels/1796222460.17492/play/b37a333524bfcaf33a588ec2d4959ab -> 0: Asterisk unreachable",
        detail="leg 1796211499.20-956f4ef0 for 0612345678",
    )
    [line] = json_logs.lines
    assert "play/b37a333524bfcaf33a588ec2d4959ab" in line["error"]
    assert line["detail"] == "leg 1796211499.20-956f4ef0 for " + MASKED


@pytest.mark.parametrize("ns", [1_796_197_277_652_353_123, 1_796_197_277_000_000_999, 1_796_169_599_999_999_000])
def test_timestamp_is_structlogs_iso_utc_form(monkeypatch, ns: int):
    """The cheaper stamper writes exactly what structlog's TimeStamper(fmt="iso", utc=True) writes: microseconds,
    none when they are 0, and a `Z`; across a second's and a day's boundary."""
    import datetime as dt
    import time

    from callcontrol.logs import iso_utc_stamper

    stamp = iso_utc_stamper()
    for t in (ns - 1_000_000_000, ns):  # a cached second, then the next
        monkeypatch.setattr(time, "time_ns", lambda t=t: t)
        moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=t // 1000)
        assert stamp(None, "info", {})["timestamp"] == moment.isoformat().replace("+00:00", "Z")


async def test_deferred_lines_are_written_once_the_loop_ran_what_was_ready_in_order_and_masked():
    """The service's writer (defer=True): a line logged in the event loop is not formatted on the spot (the digit
    goes to Redis first) but right after, in order, masked, one JSON object per line."""
    stream = io.StringIO()
    writer = logs.configure("json", "info", stream=stream, defer=True)
    try:
        log = structlog.get_logger("t")
        log.info("call_step", step="digit:1", caller="+33612345678")
        log.info("call_step", step="enqueue:etat-civil")
        assert stream.getvalue() == ""
        await asyncio.sleep(0)
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [line["step"] for line in lines] == ["digit:1", "enqueue:etat-civil"]
        assert lines[0]["caller"] == MASKED and lines[0]["level"] == "info"
    finally:
        structlog.reset_defaults()
    assert writer is not None


def test_deferred_lines_outside_the_loop_are_written_at_once():
    """Before the loop starts or after it stopped, a line is written as it is logged; flush() writes what a last
    turn of the loop left."""
    stream = io.StringIO()
    writer = logs.configure("json", "info", stream=stream, defer=True)
    try:
        structlog.get_logger("t").info("callcontrol_stopped")
        assert json.loads(stream.getvalue())["event"] == "callcontrol_stopped"
        assert writer is not None
        writer.flush()
        assert len(stream.getvalue().splitlines()) == 1
    finally:
        structlog.reset_defaults()


async def test_a_deferred_line_that_cannot_be_rendered_leaves_the_others_of_its_batch():
    """A value that breaks the renderer gives one `log_line_unrenderable` line; the lines around it are written."""
    stream = io.StringIO()
    logs.configure("json", "info", stream=stream, defer=True)

    class Unprintable:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    try:
        log = structlog.get_logger("t")
        log.info("before")
        log.info("odd", value=Unprintable())
        log.info("after")
        await asyncio.sleep(0)
        events = [json.loads(line)["event"] for line in stream.getvalue().splitlines()]
        assert events == ["before", "log_line_unrenderable", "after"]
    finally:
        structlog.reset_defaults()
