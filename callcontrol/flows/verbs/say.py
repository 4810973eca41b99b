"""`say`: speaks a value: exactly one of digits, number or date ("le 25 décembre")."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BeforeValidator, model_validator

from callcontrol.flows.context import Context, Outcome
from callcontrol.flows.verbs.base import Verb


class Say(Verb):
    waits = True
    digits: Annotated[str, BeforeValidator(str)] | None = None
    number: int | None = None
    date: dt.date | None = None
    with_year: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> Say:
        given = [k for k in ("digits", "number", "date") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("say needs exactly one of digits, number or date")
        if self.digits is not None and not self.digits.isdigit():
            raise ValueError(f"digits must be digits only, not {self.digits!r}")
        return self

    def media(self) -> list[str]:
        if self.digits is not None:
            return [f"digits:{self.digits}"]
        if self.number is not None:
            return [f"number:{self.number}"]
        assert self.date is not None
        media = [f"number:{self.date.day}", f"sound:digits/mon-{self.date.month - 1}"]
        return [*media, f"number:{self.date.year}"] if self.with_year else media


async def run(ctx: Context, verb: Say, label: str) -> Outcome:
    await ctx.call.play(verb.media())
    return None
