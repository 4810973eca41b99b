"""`record`: records a message (`#` ends it), then continues."""

from __future__ import annotations

from pydantic import Field

from callcontrol.flows.context import Context, Outcome
from callcontrol.flows.verbs.base import Verb


class Record(Verb):
    waits = True
    shorthand = "max_seconds"
    max_seconds: int = Field(default=120, ge=1, le=600)
    beep: bool = True
    silence_seconds: int = Field(default=5, ge=1, le=60)


async def run(ctx: Context, verb: Record, label: str) -> Outcome:
    result = await ctx.call.record(max_seconds=verb.max_seconds, beep=verb.beep, silence_seconds=verb.silence_seconds)
    ctx.recordings.append(result)
    ctx.call.note("record", name=result.name, duration=result.duration, ended_by=result.ended_by)
    return None
