"""`goto`: jumps to a target."""

from __future__ import annotations

from callcontrol.flows.context import Context, Outcome
from callcontrol.flows.verbs.base import Path, Target, Verb


class Goto(Verb):
    shorthand = "target"
    target: Target

    def falls_through(self) -> bool:
        return False

    def branches(self) -> list[tuple[Path, str]]:
        return [((), self.target)]


async def run(ctx: Context, verb: Goto, label: str) -> Outcome:
    return verb.target
