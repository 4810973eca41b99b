"""Reading config/schedules.yaml (the format is described in flows/schedules.py) into WeeklySchedules, every
problem located by file, line and key path."""

from __future__ import annotations

import datetime as dt
import difflib
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import holidays

from callcontrol.config import Settings
from callcontrol.flows.schedules import CLOSURE_KEYS, DAY_MINUTES, DAYS, SCHEDULE_KEYS, Closure, WeeklySchedule
from callcontrol.yamlsource import ConfigError, ConfigIssue, KeyPath, YamlDoc, load_yaml

_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
_CLOSURE_TEXT = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s+(from|until|to)\s+(\S+))?$")

# ---------------------------------------------------------------------------------------------------- loading


@dataclass
class PublicHolidays:
    """A country's public holidays (WeeklySchedule.public_holidays), its calendar built at the first question or
    by load(): building one imports every country the holidays package knows (~0.1 s), which a command that
    never asks (agent login, stats...) does not pay. `run` loads them before its event loop (Flows.load_calendars)."""

    country: str
    subdivision: str | None = None
    _calendar: holidays.HolidayBase | None = field(default=None, init=False, repr=False, compare=False)

    def load(self) -> holidays.HolidayBase:
        """The calendar; NotImplementedError for a subdivision the holidays package does not know."""
        if self._calendar is None:
            self._calendar = holidays.country_holidays(self.country, subdiv=self.subdivision)
        return self._calendar

    def get(self, day: dt.date) -> str | None:
        """The holiday's name on `day`, None on a working day."""
        return self.load().get(day)


@dataclass
class _Parser:
    doc: YamlDoc
    settings: Settings
    issues: list[ConfigIssue] = field(default_factory=list)

    def fail(self, path: KeyPath, message: str) -> None:
        self.issues.append(self.doc.issue(path, message))

    def schedules(self) -> dict[str, WeeklySchedule]:
        data = self.doc.data
        if data is None:
            return {}
        if not isinstance(data, dict) or set(data) - {"schedules"}:
            self.fail((), "expected one top-level key, schedules:, mapping names to schedules")
            return {}
        out: dict[str, WeeklySchedule] = {}
        for name, body in (data.get("schedules") or {}).items():
            schedule = self.schedule(str(name), body, ("schedules", name))
            if schedule is not None:
                out[str(name)] = schedule
        return out

    def schedule(self, name: str, body: Any, path: KeyPath) -> WeeklySchedule | None:
        if not isinstance(body, dict):
            self.fail(path, "expected a mapping with hours: (and optionally closures:, timezone:, holidays:)")
            return None
        before = len(self.issues)
        for key in body:
            if key not in SCHEDULE_KEYS:
                self.fail((*path, key), _unknown_key(key, SCHEDULE_KEYS))
        zone = self.zone(body.get("timezone") or self.settings.city.timezone, (*path, "timezone"))
        hours = self.hours(body.get("hours"), (*path, "hours"))
        closures = [self.closure(c, (*path, "closures", i)) for i, c in enumerate(body.get("closures") or [])]
        calendar = None
        if body.get("holidays", True) is True:
            calendar = self.calendar((*path, "holidays"))
        elif body.get("holidays") is not False:
            self.fail((*path, "holidays"), "holidays must be true (public holidays close) or false")
        if len(self.issues) > before or zone is None:
            return None
        return WeeklySchedule(
            name=name,
            zone=zone,
            hours=hours,
            closures=tuple(c for c in closures if c is not None),
            public_holidays=calendar,
            manual_scope=str(body.get("manual_scope") or name),
            file=self.doc.file,
            line=self.doc.line_of(path),
        )

    def zone(self, value: Any, path: KeyPath) -> zoneinfo.ZoneInfo | None:
        try:
            return zoneinfo.ZoneInfo(str(value))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.fail(path, f"unknown time zone {value!r}; use an IANA name such as Europe/Paris")
            return None

    def calendar(self, path: KeyPath) -> PublicHolidays | None:
        city = self.settings.city
        calendar = PublicHolidays(city.country, city.subdivision)
        if city.subdivision is None:  # the country is known (settings checked it): the calendar can wait
            return calendar
        try:
            calendar.load()  # whether the subdivision exists is known only by building its calendar
        except NotImplementedError:
            self.fail(path, f"no public-holiday calendar for {city.country} subdivision {city.subdivision!r}")
            return None
        return calendar

    def hours(self, value: Any, path: KeyPath) -> dict[int, tuple[tuple[int, int], ...]]:
        if not isinstance(value, dict):
            self.fail(path, 'expected days mapped to time ranges, e.g. mon-fri: ["08:30-12:00", "13:30-17:30"]')
            return {}
        out: dict[int, tuple[tuple[int, int], ...]] = {}
        for key, ranges in value.items():
            days = self.days(str(key), (*path, key))
            parsed = self.ranges(ranges, (*path, key))
            for day in days:
                if day in out:
                    self.fail((*path, key), f"{DAYS[day]} is given hours twice; keep one line per day")
                out[day] = parsed
        return out

    def days(self, text: str, path: KeyPath) -> list[int]:
        days: list[int] = []
        for part in text.replace(" ", "").lower().split(","):
            first, _, last = part.partition("-")
            if first not in DAYS or (last and last not in DAYS):
                self.fail(path, f"{text!r} is not a day or day range; use mon, tue, wed, thu, fri, sat, sun, mon-fri")
                return []
            a, b = DAYS.index(first), DAYS.index(last or first)
            if b < a:
                self.fail(path, f"day range {part!r} runs backwards; write it Monday first (e.g. mon-fri)")
                return []
            days += range(a, b + 1)
        return days

    def ranges(self, value: Any, path: KeyPath) -> tuple[tuple[int, int], ...]:
        if value is None:
            return ()  # `sun: []` or `sun:` = closed all day
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.fail(path, 'expected a list of time ranges, e.g. ["08:30-12:00", "13:30-17:30"]')
            return ()
        out: list[tuple[int, int]] = []
        for i, text in enumerate(value):
            start_text, sep, end_text = str(text).replace(" ", "").partition("-")
            start, end = _minutes(start_text), _minutes(end_text)
            if not sep or start is None or end is None:
                self.fail((*path, i), f"{text!r} is not a time range; write HH:MM-HH:MM, e.g. 08:30-12:00")
            elif end <= start:
                self.fail((*path, i), f"time range {text!r} ends before it starts")
            elif out and start < out[-1][1]:
                self.fail((*path, i), f"time range {text!r} overlaps or comes before the previous one")
            else:
                out.append((start, end))
        return tuple(out)

    def closure(self, value: Any, path: KeyPath) -> Closure | None:
        if isinstance(value, dt.date | str):
            value = _closure_text(value)
            if value is None:
                self.fail(path, "write a closure as DATE, DATE from HH:MM, DATE until HH:MM or DATE to DATE")
                return None
        if not isinstance(value, dict):
            self.fail(path, "expected a date, a text such as '2026-12-24 from 12:00', or a mapping with date:")
            return None
        before = len(self.issues)
        for key in value:
            if key not in CLOSURE_KEYS:
                self.fail((*path, key), _unknown_key(key, CLOSURE_KEYS))
        start = self.date(value.get("date"), (*path, "date"))
        end = self.date(value["to"], (*path, "to")) if value.get("to") is not None else start
        from_minute = self.time(value.get("from"), (*path, "from"), 0)
        until_minute = self.time(value.get("until"), (*path, "until"), DAY_MINUTES)
        if len(self.issues) > before or start is None or end is None:
            return None
        if end < start:
            self.fail((*path, "to"), f"closure ends ({end}) before it starts ({start})")
        if until_minute <= from_minute:
            self.fail((*path, "until"), "closure ends before it starts")
        if end != start and (from_minute, until_minute) != (0, DAY_MINUTES):
            self.fail(path, "from/until apply to a single date; split the closure in two")
        if len(self.issues) > before:
            return None
        message = value.get("message")
        reason = str(value.get("reason") or "local closure")
        return Closure(start, end, from_minute, until_minute, reason, str(message) if message else None)

    def date(self, value: Any, path: KeyPath) -> dt.date | None:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(path, f"{value!r} is not a date; write YYYY-MM-DD, e.g. 2026-12-24")
            return None

    def time(self, value: Any, path: KeyPath, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, int):  # YAML 1.1 reads an unquoted 12:00 as the sexagesimal number 720
            minutes: int | None = value if 0 <= value <= DAY_MINUTES else None
        else:
            minutes = _minutes(str(value))
        if minutes is None:
            self.fail(path, f"{value!r} is not a time; write HH:MM, e.g. 12:00")
            return default
        return minutes


def _minutes(text: str) -> int | None:
    match = _TIME.match(text)
    if not match:
        return None
    minutes = int(match[1]) * 60 + int(match[2])
    return minutes if minutes <= DAY_MINUTES else None


def _closure_text(value: dt.date | str) -> dict[str, Any] | None:
    if isinstance(value, dt.date):
        return {"date": value}
    match = _CLOSURE_TEXT.match(value.strip())
    if not match:
        return None
    out: dict[str, Any] = {"date": match[1]}
    if match[2]:
        out[match[2]] = match[3]
    return out


def _unknown_key(key: Any, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}; allowed: {', '.join(allowed)}"


def parse_schedules(doc: YamlDoc, settings: Settings) -> tuple[dict[str, WeeklySchedule], list[ConfigIssue]]:
    parser = _Parser(doc, settings)
    schedules = parser.schedules()
    return schedules, parser.issues


def load_schedules(path: Path, settings: Settings, *, display_name: str | None = None) -> dict[str, WeeklySchedule]:
    """Read config/schedules.yaml (absent = no schedules); raise ConfigError listing every problem."""
    if not path.exists():
        return {}
    schedules, issues = parse_schedules(load_yaml(path, display_name=display_name), settings)
    if issues:
        raise ConfigError(issues)
    return schedules
