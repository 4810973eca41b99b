"""`transfer`: connects the caller to an allowed external number (the toll-fraud guard is checked twice)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BeforeValidator, Field

from callcontrol.flows.context import END, Context, Outcome
from callcontrol.flows.verbs.base import Path, Problem, Refs, Target, Verb, branch
from callcontrol.numbers import normalise


class Transfer(Verb):
    shorthand = "number"
    number: Annotated[str, BeforeValidator(str)]
    timeout: float = Field(default=30.0, gt=0, le=120)
    no_answer: Target | None = None  # default: next step

    def branches(self) -> list[tuple[Path, str]]:
        return branch("no_answer", self.no_answer)

    def problems(self, refs: Refs) -> list[Problem]:
        number = normalise(self.number, refs.region)
        if number is None:
            return [(("number",), f"{self.number!r} is not a phone number")]
        if number not in refs.allowed_numbers:
            return [
                (
                    ("number",),
                    f"transfer to {number} is not allowed: add it to allow_transfer_to in {refs.file}"
                    " (only listed numbers may be dialled out, against toll fraud)",
                )
            ]
        return []

    def resolved(self, refs: Refs) -> Self:
        """The number in E.164, like the allow-list."""
        return self.model_copy(update={"number": normalise(self.number, refs.region)})


async def run(ctx: Context, verb: Transfer, label: str) -> Outcome:
    call = ctx.call
    if verb.number not in ctx.allowed_numbers:  # checked at load too; this guards a runner wired by hand
        ctx.log.error("transfer_refused", step=label, reason="number not in allow-list")
        call.note("transfer:refused")
        return verb.no_answer
    answered = await call.transfer(verb.number, timeout=verb.timeout)
    call.note("transfer:answered" if answered else "transfer:no_answer", label=label)
    return END if answered else verb.no_answer
