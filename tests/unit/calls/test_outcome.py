"""One outcome per call (calls/outcome.py): how the task stopped and what routing recorded decide it, and the
journal keeps the path, the facts and only a masked, hashed caller."""

from __future__ import annotations

import pytest

from callcontrol.calls.outcome import CallFacts, Ending, FinishedCall, Outcome, decide, journal_entry
from callcontrol.calls.port import PathStep


@pytest.mark.parametrize(
    ("ending", "facts", "outcome"),
    [
        (Ending.FLOW_DONE, CallFacts(), Outcome.COMPLETED),
        (Ending.CALLER_LEFT, CallFacts(), Outcome.CALLER_HANGUP),
        (Ending.CALLER_LEFT, CallFacts(hotline="etat-civil", waiting=True), Outcome.ABANDONED),
        (Ending.CALLER_LEFT, CallFacts(hotline="etat-civil", queue_result="timeout"), Outcome.CALLER_HANGUP),
        (Ending.CALLER_LEFT, CallFacts(hotline="etat-civil", agent="alice"), Outcome.ANSWERED),
        (Ending.FLOW_DONE, CallFacts(hotline="etat-civil", agent="alice"), Outcome.ANSWERED),
        (Ending.FLOW_DONE, CallFacts(hotline="etat-civil", queue_result="timeout"), Outcome.COMPLETED),
        (Ending.CRASH, CallFacts(agent="alice"), Outcome.ERROR),
        (Ending.SHUTDOWN, CallFacts(agent="alice"), Outcome.INTERRUPTED),
    ],
)
def test_outcome_follows_from_how_the_call_ended_and_what_routing_recorded(ending, facts, outcome):
    """Answered whenever an agent talked; abandoned only when the citizen hung up while queued; a restart
    (interrupted) or a crash (error) whatever happened before."""
    assert decide(ending, facts) is outcome


def test_interrupted_calls_are_not_journaled_the_next_instance_does_it():
    """A call cut by callcontrol's own restart is journaled once, by the instance that adopts it."""
    assert [o for o in Outcome if not o.journaled] == [Outcome.INTERRUPTED]


def test_journal_entry_keeps_path_and_facts_and_never_the_full_caller_number():
    """The journal line: times, path with offsets, hotline/wait/agent; the caller masked plus a salted hash."""
    started = 1_790_000_000.0
    call = FinishedCall(
        call_id="c1",
        kind="inbound",
        caller_raw="0612345678",
        dialled="0556000000",
        started_at=started,
        duration=42.5,
        outcome=Outcome.ANSWERED,
        path=[PathStep(started + 1.5, "digit:1"), PathStep(started + 2.0, "queue:waiting", {"position": 1})],
        facts=CallFacts(hotline="etat-civil", waiting=False, wait=12.25, agent="alice", device="softphone"),
    )
    entry = journal_entry(call, salt="s3cret", region="FR")
    assert entry["outcome"] == "answered" and entry["duration"] == 42.5
    assert entry["path"] == [{"at": 1.5, "step": "digit:1"}, {"at": 2.0, "step": "queue:waiting", "position": 1}]
    facts = (entry["hotline"], entry["wait"], entry["agent"], entry["device"])
    assert facts == ("etat-civil", 12.25, "alice", "softphone")
    assert "waiting" not in entry and "queue_result" not in entry  # unset / transient facts are left out
    assert "612345678" not in str(entry) and entry["caller"].endswith("78")
    other_salt = journal_entry(call, salt="other", region="FR")
    assert entry["caller_hash"] and entry["caller_hash"] != other_salt["caller_hash"]
