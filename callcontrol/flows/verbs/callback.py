"""`callback`: the citizen will be called back by the hotline (an overflow target, e.g. after `enqueue`'s timeout).

The number (the caller's own, confirmed with 1, or one keyed in and ended with #) must pass the dial-out allow-list
and be national (routing/callback_offer.py). The callback then waits in the hotline's queue as of the call's start:
an agent is rung first, then the citizen (routing/callback.py). Kept: the flow ends (the citizen heard they may
hang up). No number given (or routing away): `declined`, by default the next step.
"""

from __future__ import annotations

from callcontrol.calls.errors import CallEnded
from callcontrol.flows.context import END, Context, Outcome
from callcontrol.flows.verbs.base import Name, Path, Problem, Refs, Target, Verb, branch, unknown


class Callback(Verb):
    shorthand = "hotline"
    hotline: Name
    declined: Target | None = None  # default: next step

    def branches(self) -> list[tuple[Path, str]]:
        return branch("declined", self.declined)

    def problems(self, refs: Refs) -> list[Problem]:
        """The hotline must exist and keep callbacks (its `callback:` in hotlines.yaml)."""
        hotline = refs.hotlines.get(self.hotline)
        if hotline is None:
            return [(("hotline",), unknown("hotline", self.hotline, refs.hotlines))]
        if hotline.callback is None:
            return [(("hotline",), f"hotline {self.hotline!r} keeps no callbacks: give it callback: "
                     "{offer_after: 60} (offer_after: 0 for this verb only) in config/hotlines.yaml")]
        return []


async def run(ctx: Context, verb: Callback, label: str) -> Outcome:
    call = ctx.call
    try:
        outcome = await ctx.enqueuer.callback(call, verb.hotline)
    except CallEnded:
        raise
    except Exception:  # a routing bug: the flow goes on (declined), never a dropped citizen
        ctx.log.error("callback_failed", hotline=verb.hotline, exc_info=True)
        outcome = "declined"
    if outcome != "kept":  # a kept callback is noted by routing, with its place
        call.note("callback:declined", hotline=verb.hotline, label=label)
    return END if outcome == "kept" else verb.declined
