"""`language`: switches the prompts' language for the rest of the call (and the language it is queued with)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from callcontrol.flows.context import Context, Outcome
from callcontrol.flows.verbs.base import Verb


class Language(Verb):
    shorthand = "code"
    code: Annotated[str, Field(pattern=r"^[a-z]{2}(_[A-Z]{2})?$")]


async def run(ctx: Context, verb: Language, label: str) -> Outcome:
    ctx.call.language = verb.code
    ctx.call.note(f"language:{verb.code}")
    return None
