"""How a call ended: one typed outcome, decided in one place (`decide`), and what the journal keeps of it.

The call's code never sets an outcome. Routing records facts as they happen (the hotline, the wait, the agent:
`CallFacts`, through the call port); the dispatcher knows how the call's task stopped (`Ending`); `decide` turns
both into the `Outcome`, and `journal_entry` is the one mapping from a finished call to its journal line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from callcontrol import numbers
from callcontrol.calls.port import PathStep
from callcontrol.calls.summary import summarise


class Ending(StrEnum):
    """How the call's task stopped."""

    FLOW_DONE = "flow_done"  # the handler returned: the flow ended or hung up the call itself
    CALLER_LEFT = "caller_left"  # the citizen's channel went away (hung up, vanished)
    SHUTDOWN = "shutdown"  # callcontrol is stopping: Asterisk keeps the channel, the next instance adopts it
    CRASH = "crash"  # a bug in callcontrol's code for this call


class Outcome(StrEnum):
    ANSWERED = "answered"  # an agent talked with the citizen
    ABANDONED = "abandoned"  # the citizen hung up while waiting in a hotline
    CALLER_HANGUP = "caller_hangup"  # the citizen hung up elsewhere (menus, messages), before reaching anyone
    COMPLETED = "completed"  # the flow ended the call (goodbye, voicemail left, transfer over)
    ERROR = "error"  # callcontrol failed on this call (logged as call_failed)
    INTERRUPTED = "interrupted"  # callcontrol stopped under the call: not journaled, the next instance goes on

    @property
    def journaled(self) -> bool:
        return self is not Outcome.INTERRUPTED


@dataclass
class CallFacts:
    """What routing learnt about a call while it ran; the journal keeps every field that is set."""

    hotline: str | None = None  # the last hotline the citizen was queued in
    queue_result: str | None = None  # how that queue let go: answered, timeout, full, closed, unavailable
    waiting: bool = False  # in a hotline's queue right now (a hangup then is an abandon)
    wait: float | None = None  # seconds queued before the agent who answered was offered the call
    agent: str | None = None  # the agent who answered
    device: str | None = None  # softphone | mobile
    # An agent's own call (kind internal): `agent` is the agent who placed it, `callee` the colleague's agent id or
    # the masked outside number, `reached` whether that side answered (None on citizens' calls).
    callee: str | None = None
    reached: bool | None = None


def decide(ending: Ending, facts: CallFacts) -> Outcome:
    """The call's outcome from how its task stopped and what routing recorded."""
    if ending is Ending.SHUTDOWN:
        return Outcome.INTERRUPTED
    if ending is Ending.CRASH:
        return Outcome.ERROR
    if facts.agent and facts.reached is not False:  # an own call nobody answered is no conversation
        return Outcome.ANSWERED
    if ending is Ending.CALLER_LEFT:
        return Outcome.ABANDONED if facts.waiting else Outcome.CALLER_HANGUP
    return Outcome.COMPLETED


@dataclass(frozen=True)
class FinishedCall:
    """A call at its end, as the journal sees it."""

    call_id: str
    kind: str
    caller_raw: str
    dialled: str
    started_at: float  # epoch seconds on the city clock
    duration: float
    outcome: Outcome
    path: Sequence[PathStep]
    facts: CallFacts


def journal_entry(call: FinishedCall, *, salt: str, region: str, min_message: float = 1.5) -> dict[str, Any]:
    """The journal's line for a finished call: path, wait, agent, outcome; the citizen only masked and hashed.
    The follow-up fields (calls/summary.py: result, queue entry and exit, agents offered, talk time, voicemail)
    are read from the path."""
    summary = summarise(
        call.path, started_at=call.started_at, duration=call.duration, outcome=call.outcome.value, kind=call.kind,
        agent=call.facts.agent, min_message=min_message,
    )
    return {
        "call_id": call.call_id,
        "kind": call.kind,
        "started_at": round(call.started_at, 3),
        "duration": round(call.duration, 3),
        "caller": numbers.mask(call.caller_raw, region),
        "caller_hash": numbers.fingerprint(call.caller_raw, salt, region) or "",
        "dialled": _dialled(call, region),
        "outcome": call.outcome.value,
        # The path with its timestamps (seconds from the start of the call) and details (digits, hotline, agent,
        # recording name...): what happened, in order, for the follow-up and the statistics.
        "path": [{"at": round(step.at - call.started_at, 3), "step": step.step, **step.detail} for step in call.path],
        **{k: v for k, v in asdict(call.facts).items() if v is not None and k != "waiting"},
        **({"hotline": summary.hotline} if summary.hotline and not call.facts.hotline else {}),
        **summary.fields(),
    }


def _dialled(call: FinishedCall, region: str) -> str:
    """What was dialled: a citizen's or public number as is, but the outside number an agent dialled (kind
    internal) only masked; extensions stay readable."""
    if call.kind == "internal" and numbers.normalise(call.dialled, region) is not None:
        return numbers.mask(call.dialled, region)
    return call.dialled
