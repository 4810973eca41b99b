"""`record` with review: the citizen listens (1), records again (2) or sends (3 / nothing / hanging up); the last
take is the message."""

from __future__ import annotations

import datetime as dt

from flow_fakes import FIXTURE_SOUNDS, FakeCall, FakeClosures, FakeEnqueuer, make_config, settings

from callcontrol.calls.errors import CallEnded
from callcontrol.calls.port import RecordingResult
from callcontrol.calls.summary import summarise
from callcontrol.flows import FlowRunner, load_flows

FLOW = """
entry: {inbound: main}
flows:
  main:
    - record: {max_seconds: 60, review: true, review_prompt: callcontrol/goodbye}
    - play: callcontrol/welcome
"""


class TakingCall(FakeCall):
    """Each recording gets its own name (take-1, take-2...)."""

    takes = 0

    async def record(self, *, max_seconds: int, beep: bool = True, silence_seconds: int = 5) -> RecordingResult:
        self._op()
        self.takes += 1
        self.clock += dt.timedelta(seconds=8)
        return RecordingResult(name=f"take-{self.takes}", duration=6.0, ended_by="dtmf")


async def _run(tmp_path, call: FakeCall) -> None:
    flows = load_flows(make_config(tmp_path, texts={"flows/t.yaml": FLOW}), settings(), known_sounds=FIXTURE_SOUNDS)
    runner = FlowRunner(flows, enqueuer=FakeEnqueuer(), manual_closures=FakeClosures())
    try:
        await runner.run(call, "inbound")
    except CallEnded:
        pass


def _message(call: FakeCall) -> str | None:
    summary = summarise(call.path, started_at=call.path[0].at, duration=60, outcome="completed", kind="inbound",
                        agent=None)
    return summary.voicemail["name"] if summary.voicemail else None


async def test_listen_then_record_again_then_send_keeps_the_second_take(tmp_path) -> None:
    """1 plays the message back (again and again), 2 records it again even during playback, 3 sends: the
    message is the second take."""
    call = TakingCall(["1", "1", "2", "3"])  # listen, listen again (cut short by 2: record again), send
    await _run(tmp_path, call)
    assert call.sounds().count("recording:take-1") == 2
    assert call.takes == 2 and _message(call) == "take-2"
    assert call.sounds()[-1] == "sound:callcontrol/welcome"  # the flow went on after the message


async def test_nothing_pressed_sends_the_message(tmp_path) -> None:
    """Silence after the review prompt sends the first take."""
    call = TakingCall([None])
    await _run(tmp_path, call)
    assert call.takes == 1 and _message(call) == "take-1"


async def test_hanging_up_during_the_review_still_leaves_the_message(tmp_path) -> None:
    """A citizen who hangs up instead of pressing 3 has left the message all the same."""
    call = TakingCall([], leaves_after=2)
    await _run(tmp_path, call)
    assert _message(call) == "take-1"
