"""Journal lines of typical calls, built the way the app builds them (calls/outcome.py journal_entry)."""

from __future__ import annotations

from typing import Any

from callcontrol.calls.outcome import CallFacts, FinishedCall, Outcome, journal_entry
from callcontrol.calls.port import PathStep


def line(
    call_id: str, started: float, steps: list[tuple[float, str, dict[str, Any]]], *, outcome: Outcome,
    duration: float, caller: str = "0612345678", **facts: Any,
) -> dict[str, Any]:
    call = FinishedCall(
        call_id=call_id, kind="inbound", caller_raw=caller, dialled="0556000000", started_at=started,
        duration=duration, outcome=outcome, path=[PathStep(started + at, s, d) for at, s, d in steps],
        facts=CallFacts(**facts),
    )
    return journal_entry(call, salt="salt", region="FR")


def answered(call_id: str, started: float, wait: float, talk: float, hotline: str = "etat-civil",
             caller: str = "0612345678") -> dict[str, Any]:
    steps = [(0.0, "flow:main", {}), (2.0, "digit:1", {}), (2.5, "queue:waiting", {"hotline": hotline}),
             (2.5 + wait - 1, "agent:no_answer", {"agent": "bob"}),
             (2.5 + wait, "connected", {"agent": "alice", "hotline": hotline})]
    return line(call_id, started, steps, outcome=Outcome.ANSWERED, duration=2.5 + wait + talk, caller=caller,
                hotline=hotline, agent="alice", device="softphone", wait=wait)


def abandoned(call_id: str, started: float, after: float, hotline: str = "etat-civil") -> dict[str, Any]:
    steps = [(0.0, "flow:main", {}), (2.5, "queue:waiting", {"hotline": hotline})]
    return line(call_id, started, steps, outcome=Outcome.ABANDONED, duration=2.5 + after, hotline=hotline,
                caller="0698765432")


def voicemail(call_id: str, started: float, seconds: float, hotline: str = "etat-civil") -> dict[str, Any]:
    steps = [(0.0, "flow:main", {}), (2.5, "queue:waiting", {"hotline": hotline}),
             (12.5, "queue:timeout", {"hotline": hotline, "waited": 10}), (12.5, "flow:voicemail", {}),
             (14.0, "record", {"name": f"callcontrol-{call_id}-abc", "duration": seconds, "ended_by": "dtmf"})]
    return line(call_id, started, steps, outcome=Outcome.COMPLETED, duration=16 + seconds, hotline=hotline,
                queue_result="timeout", caller="0611111111")


def closed(call_id: str, started: float) -> dict[str, Any]:
    steps = [(0.0, "flow:main", {}), (1.0, "flow:closed", {}), (5.0, "hangup", {})]
    return line(call_id, started, steps, outcome=Outcome.COMPLETED, duration=6.0, caller="0622222222")
