"""A hotline's own opening hours, from the schedules the flows use (routing.ports.HotlineHours).

A hotline with `schedule: NAME` in hotlines.yaml is closed when that schedule is (hours, public holidays, local
closures), when staff switched "closed now" on for the schedule's scope, for the hotline itself, or for the whole
town hall. Without a schedule it is always open.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping

import structlog

from callcontrol.flows.ports import ManualClosure, ManualClosures
from callcontrol.flows.schedules import WeeklySchedule, evaluate
from callcontrol.routing.hotlines import HotlineRouting

log = structlog.get_logger("callcontrol.flows")


MANUAL_RECHECK_SECONDS = 15.0  # a "closed now" switch reaches citizens already waiting within this time


class ScheduleHours:
    def __init__(
        self,
        schedules: Mapping[str, WeeklySchedule],
        closures: ManualClosures,
        now: Callable[[], dt.datetime],
    ):
        self._schedules = schedules
        self._closures = closures
        self._now = now

    async def closed_reason(self, hotline: HotlineRouting) -> str | None:
        if hotline.schedule is None:
            return None
        schedule = self._schedules[hotline.schedule]  # checked at load
        state = evaluate(schedule, self._now(), await self._manual(schedule, hotline.id))
        return None if state.is_open else f"{state.kind}: {state.reason}"

    def recheck_in(self, hotline: HotlineRouting) -> float:
        """Hours change on the minute (just after it, so that the new minute is seen); "closed now" any time."""
        if hotline.schedule is None:
            return math.inf
        now = self._now()
        to_next_minute = 60.0 - (now.second + now.microsecond / 1e6) + 0.05
        return min(to_next_minute, MANUAL_RECHECK_SECONDS)

    def day_ends_at(self, hotline: HotlineRouting) -> float | None:
        """Epoch seconds of today's last closing time by the hotline's weekly hours (routing/callback_offer.py's
        `deadline: end_of_day`); None without a schedule or without hours today."""
        if hotline.schedule is None:
            return None
        schedule = self._schedules[hotline.schedule]
        local = self._now().astimezone(schedule.zone)
        ends = [end for _start, end in schedule.hours.get(local.weekday(), ())]
        if not ends:
            return None
        midnight = dt.datetime.combine(local.date(), dt.time(), tzinfo=schedule.zone)
        return (midnight + dt.timedelta(minutes=max(ends))).timestamp()

    def open_ranges(self, hotline: HotlineRouting, day: dt.date) -> list[tuple[float, float]]:
        """The hotline's opening hours on `day` as epoch ranges (rendez-vous slots, routing/callback_slots.py): its
        weekly hours, none on a public holiday or a local closure that day. Empty without a schedule."""
        if hotline.schedule is None:
            return []
        schedule = self._schedules[hotline.schedule]
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=schedule.zone)
        ranges = []
        for start, end in schedule.hours.get(day.weekday(), ()):
            begins = midnight + dt.timedelta(minutes=start)
            if evaluate(schedule, begins).is_open:
                ranges.append((begins.timestamp(), (midnight + dt.timedelta(minutes=end)).timestamp()))
        return ranges

    async def _manual(self, schedule: WeeklySchedule, hotline_id: str) -> ManualClosure | None:
        try:
            for scope in dict.fromkeys((schedule.manual_scope or schedule.name, hotline_id)):
                closure = await self._closures.get_closed(scope)
                if closure is not None:
                    return closure
        except Exception as exc:  # Redis away: the hours still decide; a hiccup must not cut citizens off
            log.warning("manual_closures_unavailable", schedule=schedule.name, error=str(exc) or type(exc).__name__)
        return None
