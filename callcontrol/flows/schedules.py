"""Opening hours: weekly hours, public holidays, local closures and the manual "closed now" switch.

config/schedules.yaml:

    schedules:
      mairie:
        hours:
          mon-fri: ["08:30-12:00", "13:30-17:30"]
          sat: ["09:00-12:00"]
        closures:
          - 2026-11-02                          # a whole day
          - 2026-12-24 from 12:00               # a half-day (also: "DATE until HH:MM")
          - 2026-08-10 to 2026-08-21            # a range of days, both included
          - {date: 2026-07-13, reason: pont, message: callcontrol/closed-bridge-day}

Times are wall-clock times in the city's time zone (settings city.timezone, or `timezone:` per schedule);
`now` is converted from whatever aware datetime the caller passes, so DST changes need no special care.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any, Literal

from callcontrol.flows.ports import ManualClosure

StateKind = Literal["open", "closed", "holiday", "closure", "manual_closed"]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
SCHEDULE_KEYS = ("hours", "timezone", "holidays", "closures", "manual_scope")
CLOSURE_KEYS = ("date", "to", "from", "until", "reason", "message")


@dataclass(frozen=True)
class Closure:
    """A local closure: days `start`..`end` (inclusive), optionally only from / until a time of day."""

    start: dt.date
    end: dt.date
    from_minute: int = 0
    until_minute: int = DAY_MINUTES
    reason: str = "closure"
    message_sound: str | None = None

    def covers(self, day: dt.date, minute: int) -> bool:
        return self.start <= day <= self.end and self.from_minute <= minute < self.until_minute


@dataclass(frozen=True)
class WeeklySchedule:
    name: str
    zone: zoneinfo.ZoneInfo
    hours: dict[int, tuple[tuple[int, int], ...]]  # weekday (0 = Monday) -> (start, end) minutes since midnight
    closures: tuple[Closure, ...] = ()
    public_holidays: Any = None  # .get(day) -> holiday name (schedule_file.PublicHolidays); None: ignores them
    manual_scope: str = ""
    file: str = ""
    line: int | None = None


@dataclass(frozen=True)
class ScheduleState:
    kind: StateKind
    reason: str
    message_sound: str | None = None

    @property
    def is_open(self) -> bool:
        return self.kind == "open"


def evaluate(schedule: WeeklySchedule, now: dt.datetime, manual: ManualClosure | None = None) -> ScheduleState:
    """The state of `schedule` at `now` (aware). Precedence: manual switch, local closure, public holiday, hours."""
    if now.tzinfo is None:
        raise ValueError("evaluate() needs an aware datetime")
    if manual is not None:
        return ScheduleState(
            "manual_closed", getattr(manual, "reason", None) or "closed by staff", manual.message_sound
        )
    local = now.astimezone(schedule.zone)
    day, minute = local.date(), local.hour * 60 + local.minute
    for closure in schedule.closures:
        if closure.covers(day, minute):
            return ScheduleState("closure", closure.reason, closure.message_sound)
    if schedule.public_holidays is not None:
        name = schedule.public_holidays.get(day)
        if name:
            return ScheduleState("holiday", str(name))
    for start, end in schedule.hours.get(day.weekday(), ()):
        if start <= minute < end:
            return ScheduleState("open", "opening hours")
    return ScheduleState("closed", "outside opening hours")
