"""`enqueue`: queues the caller for a hotline of hotlines.yaml (routing/ does the waiting) and branches on the
outcome.

The Enqueuer (flows/ports.py) answers one of ENQUEUE_OUTCOMES. A flow's `on:` may only list outcomes that can
reach it for that hotline: `closed` needs the hotline to keep a `schedule:`, `full` needs a `max_length`; an
`abandoned` call has no caller left to branch. `unavailable` is always possible (no agent, or Redis away).
`callback` needs the hotline's `callback:`; a callback kept ends the flow like `answered` (the citizen heard they
may hang up) unless `on:` names a step.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from callcontrol.calls.errors import CallEnded
from callcontrol.flows.context import END, Context, Outcome
from callcontrol.flows.verbs.base import Name, Path, Problem, Refs, Target, Verb, unknown

# What the Enqueuer may answer; `enqueue.on` keys must be among them (a typo would silently never match).
# "voicemail": the switchboard sent the waiting caller to the mailbox; without that branch, the `timeout` one.
# "callback": the citizen chose to be called back at their place (the flow ends unless listed).
ENQUEUE_OUTCOMES = ("answered", "closed", "timeout", "full", "unavailable", "abandoned", "voicemail", "callback")


class Enqueue(Verb):
    shorthand = "hotline"
    hotline: Name
    on: dict[str, Target] = Field(default_factory=dict)  # outcome -> target; "answered" defaults to the end

    @field_validator("on")
    @classmethod
    def _outcomes(cls, value: dict[str, str]) -> dict[str, str]:
        for outcome in value:
            if outcome not in ENQUEUE_OUTCOMES:
                raise ValueError(f"unknown outcome {outcome!r}; use one of: {', '.join(ENQUEUE_OUTCOMES)}")
        return value

    def branches(self) -> list[tuple[Path, str]]:
        return [(("on", k), t) for k, t in self.on.items()]

    def problems(self, refs: Refs) -> list[Problem]:
        """The hotline must exist, and each `on:` branch must be able to fire for it."""
        hotline = refs.hotlines.get(self.hotline)
        out: list[Problem] = [] if hotline else [(("hotline",), unknown("hotline", self.hotline, refs.hotlines))]
        never = {"abandoned": "no branch can follow 'abandoned': the caller has hung up by then; remove this branch"}
        if hotline and hotline.schedule is None:
            never["closed"] = (
                f"hotline {self.hotline!r} keeps no schedule, so it is never closed: give it schedule: NAME in "
                "config/hotlines.yaml or remove this branch"
            )
        if hotline and hotline.max_length == 0:
            never["full"] = (
                f"hotline {self.hotline!r} has no max_length (0: unlimited), so its queue is never full: "
                "set max_length in config/hotlines.yaml or remove this branch"
            )
        if hotline and hotline.callback is None:
            never["callback"] = (
                f"hotline {self.hotline!r} offers no callback: give it callback: {{offer_after: 60}} in "
                "config/hotlines.yaml or remove this branch"
            )
        return out + [(("on", outcome), never[outcome]) for outcome in self.on if outcome in never]


async def run(ctx: Context, verb: Enqueue, label: str) -> Outcome:
    call = ctx.call
    call.note(f"enqueue:{verb.hotline}")
    try:
        outcome = await ctx.enqueuer.enqueue(call, verb.hotline)
    except CallEnded:
        raise
    except Exception:  # Redis down, a routing bug: the flow's "unavailable" branch, never a dropped citizen
        ctx.log.error("enqueue_failed", hotline=verb.hotline, exc_info=True)
        outcome = "unavailable"
    if not (call.path and call.path[-1].step == f"queue:{outcome}"):  # the router may have noted it, with details
        call.note(f"queue:{outcome}", hotline=verb.hotline)
    if outcome in verb.on:
        return verb.on[outcome]
    if outcome == "voicemail" and "timeout" in verb.on:
        return verb.on["timeout"]
    return END if outcome in ("answered", "callback") else None  # callback: told they may hang up
