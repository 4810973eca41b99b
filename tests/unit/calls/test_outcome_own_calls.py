"""An agent's own call in the journal (calls/outcome.py): internal, who called whom, the outside number masked."""

from __future__ import annotations

from callcontrol.calls.outcome import CallFacts, Ending, FinishedCall, Outcome, decide, journal_entry


def own_call(dialled: str, facts: CallFacts, outcome: Outcome = Outcome.ANSWERED) -> FinishedCall:
    return FinishedCall(
        call_id="c1", kind="internal", caller_raw="1001", dialled=dialled, started_at=1_790_000_000.0,
        duration=61.25, outcome=outcome, path=[], facts=facts,
    )  # fmt: skip


def test_an_own_call_nobody_answered_is_completed_not_answered():
    """The calling agent is recorded (`agent`), but only a call the other side answered counts as answered."""
    assert decide(Ending.FLOW_DONE, CallFacts(agent="alice", callee="bruno", reached=False)) is Outcome.COMPLETED
    assert decide(Ending.CALLER_LEFT, CallFacts(agent="alice", reached=False)) is Outcome.CALLER_HANGUP
    assert decide(Ending.FLOW_DONE, CallFacts(agent="alice", callee="bruno", reached=True)) is Outcome.ANSWERED


def test_journal_keeps_agent_callee_and_duration_and_masks_the_number_dialled_out():
    """Calling a citizen back: the journal line has the agent, the masked number, the duration, never the number;
    a colleague's extension stays readable."""
    entry = journal_entry(
        own_call("0612345678", CallFacts(agent="alice", callee="+33 6•• •• •• 78", reached=True)), salt="s", region="FR"
    )
    assert (entry["kind"], entry["agent"], entry["callee"], entry["duration"]) == (
        "internal",
        "alice",
        "+33 6•• •• •• 78",
        61.25,
    )
    assert "612345678" not in str(entry) and entry["dialled"].endswith("78")
    colleague = journal_entry(
        own_call("1002", CallFacts(agent="alice", callee="bruno", reached=True)), salt="s", region="FR"
    )
    assert (colleague["dialled"], colleague["callee"], colleague["reached"]) == ("1002", "bruno", True)
