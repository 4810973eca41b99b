"""One call's run through the flows, as every verb's `run(ctx, verb, label)` sees it, and what a run returns.

A run returns where the call goes next: None (the next step), a target (step id or flow:ID), END (the flow is
done; the runner hangs up) or STOP (the call is already hung up).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from callcontrol.flows.verbs.base import MEDIA_PREFIXES

if TYPE_CHECKING:
    from callcontrol.calls.port import CallPort, RecordingResult
    from callcontrol.flows.loader import Flows
    from callcontrol.flows.ports import Enqueuer, ManualClosure, ManualClosures
    from callcontrol.flows.schedules import ScheduleState, WeeklySchedule

END = "@end"
STOP = "@stop"
Outcome = str | None
Evaluate = Callable[["WeeklySchedule", dt.datetime, "ManualClosure | None"], "ScheduleState"]


@dataclass
class Context:
    """One call's run: the call, what the runner was given, and what the flow has gathered so far."""

    call: CallPort
    flows: Flows
    enqueuer: Enqueuer
    manual_closures: ManualClosures
    evaluate: Evaluate
    allowed_numbers: frozenset[str]
    log: Any
    pending: list[str] = field(default_factory=list)  # keys pressed during an interruptible prompt
    recordings: list[RecordingResult] = field(default_factory=list)


def media(sounds: Sequence[str]) -> list[str]:
    """ARI media URIs: a bare sound name becomes sound:NAME."""
    return [s if s.startswith(MEDIA_PREFIXES) else f"sound:{s}" for s in sounds]
