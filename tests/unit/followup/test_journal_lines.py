"""The journal line says, for the follow-up: the result, queue entry and exit, agents offered, who answered and
for how long (calls/summary.py through journal_entry)."""

from __future__ import annotations

from .calls import abandoned, answered, closed, voicemail
from .conftest import T0


def test_answered_call_lists_offered_agents_queue_times_and_talk_time() -> None:
    """An answered call: queue entered and left, every agent offered in order, who answered, talk time."""
    entry = answered("c1", T0, wait=12.0, talk=60.0)
    assert entry["result"] == "answered"
    assert (entry["queue_entered"], entry["queue_left"], entry["queue_wait"]) == (2.5, 14.5, 12.0)
    assert entry["offered"] == ["bob", "alice"] and entry["answered_by"] == "alice"
    assert entry["talk_time"] == 60.0
    assert "612345678" not in str(entry)


def test_abandon_says_after_how_long() -> None:
    """A citizen hanging up in the queue is `abandoned`, with the seconds waited."""
    entry = abandoned("c2", T0, after=40.0)
    assert (entry["result"], entry["abandoned_after"], entry["queue_left"]) == ("abandoned", 40.0, 42.5)


def test_voicemail_and_closed_results() -> None:
    """A message after the queue let go is `voicemail` (with its recording); the closed flow is `closed`."""
    entry = voicemail("c3", T0, seconds=6.0)
    assert entry["result"] == "voicemail" and entry["voicemail"] == {"name": "callcontrol-c3-abc", "duration": 6.0}
    assert entry["queue_wait"] == 10.0
    assert closed("c4", T0)["result"] == "closed"


def test_a_one_second_message_is_no_voicemail() -> None:
    """An empty or 1-second recording does not make the call a voicemail: the queue's overflow it stays."""
    entry = voicemail("c5", T0, seconds=1.0)
    assert entry["result"] == "overflow" and "voicemail" not in entry
