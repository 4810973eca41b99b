"""`schedule`: looks at a schedule of schedules.yaml now (and the "closed now" switch) and branches on it."""

from __future__ import annotations

from callcontrol.flows.context import Context, Outcome, media
from callcontrol.flows.verbs.base import Name, Path, Problem, Refs, Target, Verb, branch, unknown


class Schedule(Verb):
    shorthand = "name"
    name: Name
    open: Target | None = None
    closed: Target | None = None
    holiday: Target | None = None  # default: closed
    closure: Target | None = None  # a local closure from schedules.yaml; default: closed
    manual_closed: Target | None = None  # the "closed now" switch; default: closed

    def branches(self) -> list[tuple[Path, str]]:
        kinds = ("open", "closed", "holiday", "closure", "manual_closed")
        return [b for k in kinds for b in branch(k, getattr(self, k))]

    def falls_through(self) -> bool:
        return self.open is None or self.closed is None

    def problems(self, refs: Refs) -> list[Problem]:
        return [] if self.name in refs.schedules else [(("name",), unknown("schedule", self.name, refs.schedules))]

    def target_for(self, kind: str) -> str | None:
        target = getattr(self, kind)
        if target is None and kind in ("holiday", "closure", "manual_closed"):
            return self.closed
        return target


async def run(ctx: Context, verb: Schedule, label: str) -> Outcome:
    call = ctx.call
    hours = ctx.flows.schedules[verb.name]
    manual = None
    try:
        manual = await ctx.manual_closures.get_closed(hours.manual_scope)
    except (ConnectionError, TimeoutError) as exc:  # Redis away: the hours still decide; one line, no traceback
        ctx.log.warning("manual_closures_unavailable", schedule=verb.name, error=str(exc) or type(exc).__name__)
    except Exception:  # a bug: its traceback, and the hours still decide (a hiccup must not cut citizens off)
        ctx.log.warning("manual_closures_unavailable", schedule=verb.name, exc_info=True)
    state = ctx.evaluate(hours, call.now(), manual)
    call.note(f"schedule:{state.kind}", schedule=verb.name, reason=state.reason)
    if state.message_sound:
        await call.play(media([state.message_sound]))
    return verb.target_for(state.kind)
