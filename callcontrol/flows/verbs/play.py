"""`play`: plays sounds; a key among `interruptible` cuts it short and answers the next gather."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, field_validator

from callcontrol.flows.context import Context, Outcome, media
from callcontrol.flows.verbs.base import Path, Sounds, Verb, dtmf


class Play(Verb):
    waits = True
    shorthand = "sounds"
    sounds: Sounds
    language: str | None = None
    interruptible: Annotated[str, BeforeValidator(str)] = ""  # keys that cut the prompt short (kept for the gather)

    @field_validator("interruptible")
    @classmethod
    def _interrupt_keys(cls, value: str) -> str:
        return dtmf(value, "interruptible")

    def sound_refs(self) -> list[tuple[Path, str]]:
        return [(("sounds", i), s) for i, s in enumerate(self.sounds)]


async def run(ctx: Context, verb: Play, label: str) -> Outcome:
    call = ctx.call
    previous = call.language
    if verb.language:
        call.language = verb.language
    try:
        digit = await call.play(media(verb.sounds), interrupt=verb.interruptible)
    finally:
        call.language = previous
    if digit is not None:
        ctx.pending.append(digit)
    return None
