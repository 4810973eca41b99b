"""`record`: records a message (beep, `#` ends it, silence ends it, a maximum length), then continues.

With `review: true` the citizen may then listen to the message (1), record it again (2) or send it (3, nothing
pressed, or hanging up; not `#`, which already ended the recording). `hotline:` names the hotline whose follow-up
tickets get the message (otherwise the hotline the citizen last queued in). Each take is noted (`record` step) as
soon as it ends, so hanging up during the review sends it; a take recorded again is noted `record:again` and the
last `record` is the message (calls/summary.py).
"""

from __future__ import annotations

from pydantic import Field

from callcontrol.flows.context import Context, Outcome, media
from callcontrol.flows.verbs.base import Name, Path, Problem, Refs, Sounds, Verb, unknown

LISTEN, AGAIN, SEND = "1", "2", "3"


class Record(Verb):
    waits = True
    shorthand = "max_seconds"
    max_seconds: int = Field(default=120, ge=1, le=600)
    beep: bool = True
    silence_seconds: int = Field(default=5, ge=1, le=60)
    hotline: Name | None = None
    review: bool = False
    review_prompt: Sounds = ["callcontrol/record-review"]  # noqa: RUF012 - pydantic copies field defaults
    review_timeout: float = Field(default=5.0, gt=0, le=30)
    max_takes: int = Field(default=3, ge=1, le=10)  # recordings at most (the first and the re-recordings)

    def sound_refs(self) -> list[tuple[Path, str]]:
        return [(("review_prompt", i), s) for i, s in enumerate(self.review_prompt)] if self.review else []

    def problems(self, refs: Refs) -> list[Problem]:
        if self.hotline is not None and self.hotline not in refs.hotlines:
            return [(("hotline",), unknown("hotline", self.hotline, refs.hotlines))]
        return []


async def run(ctx: Context, verb: Record, label: str) -> Outcome:
    call = ctx.call
    detail = {"hotline": verb.hotline} if verb.hotline else {}
    for take in range(1, verb.max_takes + 1):
        result = await call.record(max_seconds=verb.max_seconds, beep=verb.beep, silence_seconds=verb.silence_seconds)
        call.note("record", name=result.name, duration=result.duration, ended_by=result.ended_by, **detail)
        if not verb.review or result.duration <= 0 or take == verb.max_takes:
            break
        if await _review(ctx, verb, result.name) != AGAIN:
            break
        call.note("record:again", name=result.name)
    ctx.recordings.append(result)
    return None


async def _review(ctx: Context, verb: Record, name: str) -> str | None:
    """Listen (as often as asked), record again, or send: the key chosen (None = nothing pressed: send)."""
    while True:
        key = await ctx.call.play(media(verb.review_prompt), interrupt=LISTEN + AGAIN + SEND)
        key = key or await ctx.call.read_digit(verb.review_timeout)
        if key != LISTEN:
            return key
        key = await ctx.call.play([f"recording:{name}"], interrupt=AGAIN + SEND)  # 2 or 3 cut the playback short
        if key:
            return key
