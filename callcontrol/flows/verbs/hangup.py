"""`hangup`: ends the call."""

from __future__ import annotations

from callcontrol.flows.context import STOP, Context, Outcome
from callcontrol.flows.verbs.base import Verb


class Hangup(Verb):
    shorthand = "reason"
    reason: str = "normal"

    def falls_through(self) -> bool:
        return False


async def run(ctx: Context, verb: Hangup, label: str) -> Outcome:
    ctx.call.note("hangup", reason=verb.reason)
    await ctx.call.hangup(verb.reason)
    return STOP
