"""`pause`: silence; a key pressed meanwhile ends it and answers the next gather."""

from __future__ import annotations

from pydantic import Field

from callcontrol.flows.context import Context, Outcome
from callcontrol.flows.verbs.base import Verb


class Pause(Verb):
    waits = True
    shorthand = "seconds"
    seconds: float = Field(gt=0, le=60)


async def run(ctx: Context, verb: Pause, label: str) -> Outcome:
    # Waiting for a key (rather than sleeping) keeps the port's clock in charge and the key for the next menu.
    digit = await ctx.call.read_digit(verb.seconds)
    if digit is not None:
        ctx.pending.append(digit)
    return None
