"""`enqueue`: queues the caller for a hotline of hotlines.yaml (routing/ does the waiting) and branches on the
outcome (one of ENQUEUE_OUTCOMES, see flows/ports.py)."""

from __future__ import annotations

from pydantic import Field, field_validator

from callcontrol.calls.errors import CallEnded
from callcontrol.flows.context import END, Context, Outcome
from callcontrol.flows.verbs.base import Name, Path, Problem, Refs, Target, Verb, unknown

# What the Enqueuer may answer; `enqueue.on` keys must be among them (a typo would silently never match).
ENQUEUE_OUTCOMES = ("answered", "closed", "timeout", "full", "unavailable", "abandoned")


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
        if self.hotline not in refs.hotlines:
            return [(("hotline",), unknown("hotline", self.hotline, refs.hotlines))]
        return []


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
    return END if outcome == "answered" else None
