"""The on-call rota from an iCalendar file, as the city's calendar exports it (config/rota.yaml `ical:`).

    ical:
      astreinte: astreinte.ics     # relative to the config directory

Each event is a shift: its SUMMARY names the agent ids on duty ("emma" or "emma, damien": the first rings first),
DTSTART / DTEND its time range; recurrences (RRULE, EXDATE, moved occurrences) are expanded by
`recurring-ical-events`. check-config refuses unknown agents and any gap or overlap over the next `HORIZON_DAYS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

HORIZON_DAYS = 28


@dataclass(frozen=True)
class IcalShift:
    start: datetime
    end: datetime
    agents: tuple[str, ...]


def _aware(value: datetime | date, zone: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value if value.tzinfo else value.replace(tzinfo=zone)


@dataclass(frozen=True)
class IcalRota:
    """One hotline's calendar."""

    calendar: icalendar.Calendar
    zone: ZoneInfo

    @classmethod
    def read(cls, path: Path, zone: ZoneInfo) -> IcalRota:
        """ValueError with a readable reason when the file is not an iCalendar."""
        try:
            return cls(icalendar.Calendar.from_ical(path.read_bytes()), zone)
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ValueError(f"{path.name} is not an iCalendar file: {exc}") from None

    def shifts(self, start: datetime, end: datetime) -> list[IcalShift]:
        out = []
        for event in recurring_ical_events.of(self.calendar).between(start, end):
            agents = tuple(a.strip() for a in str(event.get("SUMMARY", "")).split(",") if a.strip())
            begin = _aware(event.decoded("DTSTART"), self.zone)
            finish = _aware(event.decoded("DTEND"), self.zone) if event.get("DTEND") else begin + timedelta(days=1)
            out.append(IcalShift(begin, finish, agents))
        return sorted(out, key=lambda s: s.start)

    def shift_at(self, at: datetime) -> IcalShift | None:
        running = [s for s in self.shifts(at, at + timedelta(seconds=1)) if s.start <= at < s.end]
        return running[0] if running else None

    def problems(self, now: datetime, members: set[str] | None) -> list[str]:
        """Unknown agents, gaps and overlaps over the next HORIZON_DAYS from `now` (at most a few of each)."""
        end = now + timedelta(days=HORIZON_DAYS)
        shifts = self.shifts(now, end)
        found: list[str] = []
        for s in shifts:
            if not s.agents:
                found.append(f"the event at {s.start:%Y-%m-%d %H:%M} names no agent (SUMMARY: agent ids)")
            for agent in s.agents:
                if members is not None and agent not in members:
                    found.append(f"{agent!r} (event at {s.start:%Y-%m-%d %H:%M}) is not a member in agents.yaml")
        cursor, gaps, overlaps = now, [], []
        for s in shifts:
            if s.start > cursor:
                gaps.append(f"nobody is on duty from {cursor:%Y-%m-%d %H:%M} to {s.start:%Y-%m-%d %H:%M}")
            elif s.start < cursor and s.end > s.start and cursor > now:
                overlaps.append(f"two shifts overlap from {s.start:%Y-%m-%d %H:%M} to {min(cursor, s.end):%H:%M}")
            cursor = max(cursor, s.end)
        if cursor < end:
            gaps.append(f"nobody is on duty from {cursor:%Y-%m-%d %H:%M} (the calendar ends)")
        return found[:3] + gaps[:3] + overlaps[:3]
