"""A call's cleanup with Redis away: one clean `call_cleanup_failed` line (the error, no traceback) per failed
action, the other actions still run; a genuine bug in a cleanup still logs its traceback."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from redis.exceptions import ConnectionError as RedisConnectionError

from callcontrol.ari.errors import AriUnavailable
from callcontrol.ari.models import Channel, ChannelDestroyed, ChannelHangupRequest, StasisEnd
from callcontrol.calls.session import CallSession
from callcontrol.clock import Clock


class HangupOnlyAri:
    def __init__(self) -> None:
        self.hung_up: list[str] = []

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.hung_up.append(channel_id)


def session(ari: HangupOnlyAri) -> CallSession:
    return CallSession(
        channel=Channel(id="c1"), kind="inbound", dialled="0556000000", ari=ari,  # type: ignore[arg-type]
        clock=Clock(zone=ZoneInfo("Europe/Paris")),
    )  # fmt: skip


async def test_given_redis_away_when_cleanup_fails_then_one_line_without_traceback_and_the_rest_runs(json_logs):
    """Redis refusing in a cleanup action: the error text, no traceback; the citizen's channel is still hung up."""
    ari = HangupOnlyAri()
    call = session(ari)
    ran: list[str] = []

    async def release() -> None:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    async def destroy_bridge() -> None:
        ran.append("bridge")

    call.on_cleanup(destroy_bridge)
    call.on_cleanup(release)
    await call.cleanup()
    failed = json_logs.events("call_cleanup_failed")
    assert len(failed) == 1 and "Connection refused" in failed[0]["error"], failed
    assert "Traceback" not in json_logs.raw and "exception" not in failed[0]
    assert ran == ["bridge"] and ari.hung_up == ["c1"]


async def test_given_a_bug_when_cleanup_fails_then_its_traceback_is_logged(json_logs):
    """A cleanup action failing for any other reason is a bug: its traceback is in the log line."""
    call = session(HangupOnlyAri())

    async def broken() -> None:
        raise KeyError("oops")

    call.on_cleanup(broken)
    await call.cleanup()
    failed = json_logs.events("call_cleanup_failed")
    assert len(failed) == 1 and "KeyError" in failed[0].get("exception", ""), failed


async def test_given_a_leg_ending_or_gone_when_the_call_ends_then_only_the_legs_still_up_are_hung_up():
    """A leg that asked to hang up, left Stasis or is destroyed (the agent hung up) gets no hangup request at the
    end; a leg Asterisk said nothing about, and the citizen, still do."""
    ari = HangupOnlyAri()
    call = session(ari)
    for leg in ("c1-gone", "c1-left", "c1-ending", "c1-up"):
        call.attach_leg(leg)
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="c1-gone")))
    call.deliver(StasisEnd(type="StasisEnd", channel=Channel(id="c1-left")))
    call.deliver(ChannelHangupRequest(type="ChannelHangupRequest", channel=Channel(id="c1-ending")))
    await call.cleanup()
    assert ari.hung_up == ["c1-up", "c1"]


async def test_given_the_flow_hung_the_citizen_up_when_the_call_ends_then_no_second_hangup_is_sent():
    """The flow's hangup was accepted by Asterisk: the cleanup does not send another before its events come."""
    ari = HangupOnlyAri()
    call = session(ari)
    await call.hangup("normal")
    await call.cleanup()
    assert ari.hung_up == ["c1"]


async def test_given_the_flow_hangup_failed_when_the_call_ends_then_the_cleanup_hangs_up_again():
    """Asterisk did not take the flow's hangup (unreachable a moment): the cleanup still sends one."""

    class FailingOnce(HangupOnlyAri):
        async def hangup(self, channel_id: str, reason: str = "normal") -> None:
            if not self.hung_up:
                self.hung_up.append("failed")
                raise AriUnavailable(0, "Asterisk unreachable", "DELETE", f"/channels/{channel_id}")
            await super().hangup(channel_id, reason)

    ari = FailingOnce()
    call = session(ari)
    await call.hangup("normal")
    await call.cleanup()
    assert ari.hung_up == ["failed", "c1"]
