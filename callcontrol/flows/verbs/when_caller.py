"""`when_caller`: branches on the caller's number (withheld, in a caller list, a given number, else)."""

from __future__ import annotations

from pydantic import Field

from callcontrol.flows.context import Context, Outcome
from callcontrol.flows.verbs.base import Path, Problem, Refs, Target, Verb, branch, unknown
from callcontrol.numbers import normalise


class WhenCaller(Verb):
    withheld: Target | None = None
    known: dict[str, Target] = Field(default_factory=dict)  # caller list name or E.164 number -> target
    else_: Target | None = Field(default=None, alias="else")

    def branches(self) -> list[tuple[Path, str]]:
        out = branch("withheld", self.withheld) + [(("known", k), t) for k, t in self.known.items()]
        return out + branch("else", self.else_)

    def falls_through(self) -> bool:
        return self.else_ is None

    def problems(self, refs: Refs) -> list[Problem]:
        out: list[Problem] = []
        for key in self.known:
            if not key.startswith("+") and key not in refs.caller_lists and refs.complete:
                out.append((("known", key), unknown("caller list", key, refs.caller_lists)))
            elif key.startswith("+") and normalise(key, refs.region) is None:
                out.append((("known", key), f"{key!r} is not a phone number"))
        return out


async def run(ctx: Context, verb: WhenCaller, label: str) -> Outcome:
    call = ctx.call
    if call.caller is None:
        call.note("caller:withheld")
        return verb.withheld or verb.else_
    for key, target in verb.known.items():
        numbers = ctx.flows.caller_lists.get(key, frozenset({key}))
        if call.caller in numbers:
            call.note("caller:known", list=key)
            return target
    call.note("caller:other")
    return verb.else_
