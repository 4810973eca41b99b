"""What the journal and the figures need to know of a call, read from its path: queue entry and exit, the agents
offered and who answered, talk time, and the one follow-up result (answered, abandoned, overflow, voicemail...).

Routing and flows note each step as it happens (`call.note`); this reads those notes once, at the end of the call,
so that no stage of the call has to know about the journal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from callcontrol.calls.port import PathStep

_OFFERED = ("agent:no_answer", "agent:skipped", "agent:unreachable", "connected", "connected:resumed")
_OVERFLOW = ("queue:timeout", "queue:full", "queue:unavailable")
_CALLBACK = {  # steps the callback notes (routing's callback offer and the callback's own task)
    "callback:requested": "callback_requested",
    "callback:done": "callback_done",
    "callback:late": "callback_late",
    "callback:failed": "callback_failed",
}


class Result(StrEnum):
    """The one follow-up result of a call, as the town reads its journal."""

    ANSWERED = "answered"  # an agent talked with the citizen
    ABANDONED = "abandoned"  # hung up while waiting in a hotline (after `abandoned_after` seconds)
    OVERFLOW = "overflow"  # the hotline let go (too long, full, nobody there) and the flow went on elsewhere
    VOICEMAIL = "voicemail"  # a message was left
    CALLBACK_REQUESTED = "callback_requested"
    CALLBACK_DONE = "callback_done"
    CALLBACK_LATE = "callback_late"
    CALLBACK_FAILED = "callback_failed"
    CLOSED = "closed"  # the town hall or the hotline was closed
    FALLBACK = "fallback"  # Redis away: handed back to the dialplan's degraded route
    REDIRECTED = "redirected"  # put through to an outside number (the on-call phone, a transfer)
    SELF_SERVICE = "self_service"  # the flow answered the citizen itself (messages, menus) and ended the call
    HUNG_UP = "hung_up"  # the citizen hung up in the menus, before reaching a hotline
    ERROR = "error"
    OWN_CALL = "own_call"  # an agent's own call (kind internal)


@dataclass(frozen=True)
class Summary:
    result: Result
    hotline: str | None = None
    queue_entered: float | None = None  # seconds from the start of the call
    queue_left: float | None = None
    wait: float | None = None  # seconds queued: until an agent answered, or the citizen or the queue let go
    offered: tuple[str, ...] = ()  # every agent the call was offered to, in order
    answered_by: str | None = None
    talk_time: float | None = None  # seconds with the agent (until the end of the call)
    voicemail: dict[str, Any] | None = None  # the last message left: name, duration
    extra: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """The journal's fields (None left out)."""
        out: dict[str, Any] = {"result": self.result.value}
        if self.result is Result.ABANDONED and self.wait is not None:
            out["abandoned_after"] = round(self.wait, 1)
        for key, value in (("queue_entered", self.queue_entered), ("queue_left", self.queue_left),
                           ("queue_wait", self.wait), ("talk_time", self.talk_time)):
            if value is not None:
                out[key] = round(value, 3)
        if self.offered:
            out["offered"] = list(self.offered)
        if self.answered_by:
            out["answered_by"] = self.answered_by
        if self.voicemail:
            out["voicemail"] = self.voicemail
        return {**out, **self.extra}


def summarise(
    path: Sequence[PathStep], *, started_at: float, duration: float, outcome: str, kind: str, agent: str | None,
    min_message: float = 1.5,
) -> Summary:
    """Read the path of a finished call (`outcome`: calls.outcome.Outcome's value). A message of `min_message`
    seconds or less (empty, a breath) does not count as a voicemail."""
    steps = [(s.step, s.at - started_at, s.detail) for s in path]
    hotline = entered = left = None
    offered: list[str] = []
    answered_by, connected_at = None, None
    last_queue_end: str | None = None
    voicemail: dict[str, Any] | None = None
    callback: str | None = None
    for step, at, detail in steps:
        if step == "queue:waiting" or step == "queue:resumed":
            hotline = detail.get("hotline", hotline)
            entered = at if entered is None else entered
        elif step.startswith("queue:") and step not in ("queue:announce", "queue:answered"):
            hotline = detail.get("hotline", hotline)
            last_queue_end = step
            if entered is not None and left is None:
                left = at
        if step in _OFFERED and detail.get("agent") and detail["agent"] not in offered:
            offered.append(detail["agent"])
        if step in ("connected", "connected:resumed"):
            answered_by, connected_at = detail.get("agent"), at
            if entered is not None and left is None:
                left = at
        if step == "record" and float(detail.get("duration") or 0) > min_message:
            voicemail = {"name": detail.get("name"), "duration": detail.get("duration")}
            if detail.get("hotline"):
                voicemail["hotline"] = detail["hotline"]
        if step == "record:again" and voicemail and voicemail.get("name") == detail.get("name"):
            voicemail = None  # recorded again: the next take is the message
        if step in _CALLBACK:
            callback = _CALLBACK[step]
    if entered is not None and left is None:  # still queued when the call ended: the citizen left
        left = duration
    queued = round(left - entered, 3) if entered is not None and left is not None else None
    talk = round(duration - connected_at, 3) if connected_at is not None else None
    if hotline is None and voicemail and voicemail.get("hotline"):
        hotline = voicemail["hotline"]
    result = _result(kind, outcome, steps, answered_by or agent, last_queue_end, voicemail, callback, entered)
    return Summary(
        result=result, hotline=hotline, queue_entered=entered, queue_left=left,
        wait=queued, offered=tuple(offered),
        answered_by=answered_by, talk_time=talk, voicemail=voicemail,
    )


def _result(
    kind: str, outcome: str, steps: list[tuple[str, float, dict[str, Any]]], agent: str | None,
    queue_end: str | None, voicemail: dict[str, Any] | None, callback: str | None, entered: float | None,
) -> Result:
    names = [s for s, _, _ in steps]
    if kind == "internal":
        return Result.OWN_CALL
    if outcome == "error":
        return Result.ERROR
    if callback:
        return Result(callback)
    if outcome == "answered" and agent:
        return Result.ANSWERED
    if voicemail:
        return Result.VOICEMAIL
    if outcome == "abandoned":
        return Result.ABANDONED
    if "queue:degraded" in names:
        return Result.FALLBACK
    if "transfer:connected" in names:
        return Result.REDIRECTED
    if queue_end == "queue:closed" or "flow:closed" in names:
        return Result.CLOSED
    if queue_end in _OVERFLOW:
        return Result.OVERFLOW
    if outcome == "caller_hangup":
        return Result.ABANDONED if entered is not None else Result.HUNG_UP
    return Result.SELF_SERVICE
