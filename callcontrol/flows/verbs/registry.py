"""Every verb a flow may use, in one table: its YAML key, its model (the options) and its run.

Adding a verb = one module in this package (a Verb subclass and `async def run(ctx, verb, label)`) and one line
here; the Step union (flows/schema.py), the loader's checks and the runner derive from this table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from callcontrol.flows.context import Context, Outcome
from callcontrol.flows.verbs import (
    callback,
    enqueue,
    gather,
    goto,
    hangup,
    language,
    pause,
    play,
    record,
    say,
    schedule,
    transfer,
    when_caller,
)
from callcontrol.flows.verbs.base import Verb

Run = Callable[[Context, Any, str], Awaitable[Outcome]]


@dataclass(frozen=True)
class VerbSpec:
    name: str  # the YAML key of the step
    model: type[Verb]
    run: Run


SPECS = (
    VerbSpec("play", play.Play, play.run),
    VerbSpec("say", say.Say, say.run),
    VerbSpec("gather", gather.Gather, gather.run),
    VerbSpec("goto", goto.Goto, goto.run),
    VerbSpec("schedule", schedule.Schedule, schedule.run),
    VerbSpec("when_caller", when_caller.WhenCaller, when_caller.run),
    VerbSpec("language", language.Language, language.run),
    VerbSpec("record", record.Record, record.run),
    VerbSpec("transfer", transfer.Transfer, transfer.run),
    VerbSpec("enqueue", enqueue.Enqueue, enqueue.run),
    VerbSpec("callback", callback.Callback, callback.run),
    VerbSpec("pause", pause.Pause, pause.run),
    VerbSpec("hangup", hangup.Hangup, hangup.run),
)
VERBS: dict[str, VerbSpec] = {spec.name: spec for spec in SPECS}  # in the order error messages list them
