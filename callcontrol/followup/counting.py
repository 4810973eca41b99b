"""What one finished call adds to its hotline's figures (a pure mapping from its journal line).

Definitions (docs/followup.md): a call is *offered* to a hotline when it reached it while it was open (queued,
or turned away because it was full or nobody was there; a message left straight away is not); it *needs an
agent* unless it was a short abandon (hung up within `short_abandon` seconds: a misdial). The *taux de
décroché* (Services Publics+) is handled / needing an agent, where handled = answered by an agent or called back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from callcontrol.settings_sections import FollowUpSettings

ALL = "all"  # the pseudo-hotline summing every citizen call


@dataclass(frozen=True)
class Counts:
    counts: dict[str, float] = field(default_factory=dict)
    maxima: dict[str, float] = field(default_factory=dict)


def counts_of(entry: Mapping[str, Any], settings: FollowUpSettings) -> Counts:
    """The counters and maxima a finished call adds (to its hotline and to `all`). Agents' own calls add none, nor
    a callback's agent leg (kind `callback`: the callback is counted once as it ends, FollowUp.callback_ended)."""
    if entry.get("kind") in ("internal", "callback"):
        return Counts()
    result = entry.get("result", "")
    counts: dict[str, float] = {"calls": 1}
    maxima: dict[str, float] = {}
    wait = entry.get("queue_wait")
    hotline = entry.get("hotline")
    reached = entry.get("queue_entered") is not None or entry.get("queue_result") in ("full", "unavailable")
    if hotline and reached and result not in ("closed", "fallback"):
        counts["offered"] = 1
        short = result == "abandoned" and wait is not None and wait < settings.short_abandon
        if short:
            counts["short_abandoned"] = 1
        else:
            counts["needing_agent"] = 1
            if wait is not None:
                counts["wait_sum"] = wait
                counts["wait_n"] = 1
                maxima["wait_max"] = wait
        if result == "abandoned" and not short:
            counts["abandoned"] = 1
    if result == "answered":
        counts["answered"] = 1
        counts["handled"] = 1
        for level in settings.service_levels:
            if wait is not None and wait <= level:
                counts[f"answered_{level}"] = 1
        if entry.get("talk_time") is not None:
            counts["talk_sum"] = entry["talk_time"]
            counts["talk_n"] = 1
    if result in ("overflow", "voicemail", "closed", "fallback", "redirected", "callback_requested"):
        counts[result] = 1
    return Counts(counts, maxima)


def callback_counts(outcome: str, on_time: bool) -> Counts:
    """What a callback's end adds (on the day it ended): done (on time or not), late, failed."""
    if outcome == "done":
        return Counts({"callbacks_done": 1, "handled": 1, **({"callbacks_on_time": 1} if on_time else {})})
    return Counts({f"callbacks_{outcome}": 1})
