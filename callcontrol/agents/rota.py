"""The on-call rota (config/rota.yaml): who holds each on-call hotline's duty, per week, day and time range.

    rota:
      astreinte:
        - {days: [mon, tue, wed, thu], from: "08:00", to: "18:00", agent: damien}
        - {days: [mon, tue, wed, thu], from: "18:00", to: "08:00", agent: emma}   # overnight: to the next day
        - {days: [fri, sat, sun], from: "00:00", to: "24:00", agent: [emma, damien], weeks: odd}
        - {days: [fri, sat, sun], from: "00:00", to: "24:00", agent: damien, weeks: even}

Or from the city's calendar export: `ical: {astreinte: astreinte.ics}` (agents/rota_ical.py; a hotline is in
`rota:` or in `ical:`, not both).
`agent` is one agent id or a list (the first rings first, the others are the back-up, by their penalty); `weeks`:
`odd` / `even` ISO weeks, or omitted (every week). A rota must cover every minute of the week (both week parities
when it uses them) exactly once: a gap or an overlap is a config error naming it (file:line: key.path: reason).
Membership follows it at each shift change (agents/rota_keeper.py); a handover overrides it until the next shift.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from callcontrol.yamlsource import ConfigError, ConfigIssue, YamlDoc, load_yaml, pydantic_issues

if TYPE_CHECKING:
    from callcontrol.agents.rota_ical import IcalRota

ROTA_FILE = "rota.yaml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEK_MINUTES = 7 * 24 * 60
_TIME = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def _minutes(value: str) -> int:
    match = _TIME.match(value)
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        raise ValueError(f"{value!r} is not a time of day HH:MM (00:00 to 24:00)")
    return int(match.group(1)) * 60 + int(match.group(2))


class RotaEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = Field(min_length=1)
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    agent: tuple[str, ...] = Field(min_length=1)
    weeks: Literal["odd", "even"] | None = None

    @field_validator("agent", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("start", "end")
    @classmethod
    def _time(cls, value: str) -> str:
        _minutes(value)
        return value

    def spans(self) -> list[tuple[int, int]]:
        """(start, end) minutes of the week this entry covers (an end before the start runs into the next day)."""
        start, end = _minutes(self.start), _minutes(self.end)
        length = (end - start) % (24 * 60) or 24 * 60
        return [(DAYS.index(d) * 1440 + start, DAYS.index(d) * 1440 + start + length) for d in self.days]


@dataclass(frozen=True, slots=True)
class Shift:
    hotline: str
    start: datetime  # when this shift began (city time)
    agents: tuple[str, ...]


@dataclass(frozen=True)
class Rota:
    entries: Mapping[str, tuple[RotaEntry, ...]]  # on-call hotline id -> its entries
    calendars: Mapping[str, IcalRota] = field(default_factory=dict)  # or -> its iCalendar

    @classmethod
    def empty(cls) -> Rota:
        return cls({})

    @property
    def hotlines(self) -> list[str]:
        return sorted({*self.entries, *self.calendars})

    def shift_at(self, hotline: str, at: datetime) -> Shift | None:
        """The shift of `hotline` running at `at` (aware, city time), with the moment it began."""
        if hotline in self.calendars:
            running = self.calendars[hotline].shift_at(at)
            return Shift(hotline, running.start, running.agents) if running and running.agents else None
        minute = at.weekday() * 1440 + at.hour * 60 + at.minute
        monday = (at - timedelta(days=at.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        for entry in self.entries.get(hotline, ()):
            for start, end in entry.spans():
                for shift in (0, WEEK_MINUTES):  # a Sunday-night shift runs into Monday
                    if start - shift <= minute < end - shift:
                        began = monday + timedelta(minutes=start - shift)
                        if entry.weeks is None or _parity(began) == entry.weeks:
                            return Shift(hotline, began, entry.agent)
        return None


def _parity(day: datetime) -> str:
    return "odd" if day.isocalendar().week % 2 else "even"


def _clock(minute: int) -> str:
    minute %= WEEK_MINUTES
    return f"{DAY_NAMES[minute // 1440]} {minute % 1440 // 60:02d}:{minute % 60:02d}"


def _coverage_issues(entries: list[RotaEntry]) -> list[str]:
    """Gaps and overlaps of a hotline's rota, as sentences (at most a few of each)."""
    parities = ("odd", "even") if any(e.weeks for e in entries) else (None,)
    problems: list[str] = []
    for parity in parities:
        count = [0] * WEEK_MINUTES
        for e in entries:
            if e.weeks is not None and e.weeks != parity:
                continue
            for start, end in e.spans():
                for m in range(start, end):
                    count[m % WEEK_MINUTES] += 1
        suffix = f" ({parity} weeks)" if parity else ""
        for kind, bad in (("nobody is on duty", 0), ("two shifts overlap", 2)):
            runs = _runs([c == 0 if bad == 0 else c >= 2 for c in count])
            problems += [f"{kind} from {_clock(a)} to {_clock(b)}{suffix}" for a, b in runs[:3]]
    return problems


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    runs, start = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    return runs


def read_rota(
    directory: Path,
    on_call: Iterable[str],
    members: Mapping[str, Iterable[str]] | None = None,
    *,
    zone: ZoneInfo | None = None,
    display_name: str | None = None,
) -> tuple[Rota, list[ConfigIssue]]:
    """config/rota.yaml (optional) and its problems: unknown or not on-call hotlines, agents not members of the
    hotline (`members`: hotline -> configured agent ids; None: not checked), gaps and overlaps."""
    path = directory / ROTA_FILE
    if not path.exists():
        return Rota.empty(), []
    try:
        doc = load_yaml(path, display_name=display_name)
    except ConfigError as exc:
        return Rota.empty(), exc.issues
    top = doc.data if isinstance(doc.data, dict) else {}
    data = top.get("rota", {} if "ical" in top else None)
    if not isinstance(data, dict):
        return Rota.empty(), [doc.issue((), "expected a top-level rota: mapping on-call hotline ids to shifts")]
    on_call = set(on_call)
    issues: list[ConfigIssue] = []
    calendars = _calendars(doc, top.get("ical"), directory, on_call, members, zone or ZoneInfo("UTC"), issues)
    entries: dict[str, tuple[RotaEntry, ...]] = {}
    for hotline, body in data.items():
        at = ("rota", hotline)
        if str(hotline) not in on_call:
            issues.append(doc.issue(at, f"{hotline!r} is not an on-call hotline (on_call: true in hotlines.yaml)"))
            continue
        if not isinstance(body, list) or not body:
            issues.append(doc.issue(at, "expected a list of shifts ({days, from, to, agent})"))
            continue
        parsed: list[RotaEntry] = []
        for i, item in enumerate(body):
            try:
                entry = RotaEntry.model_validate(item)
            except ValidationError as exc:
                issues += pydantic_issues(doc, exc, prefix=(*at, i))
                continue
            allowed = set(members.get(str(hotline), ())) if members is not None else None
            for agent in entry.agent:
                if allowed is not None and agent not in allowed:
                    message = f"{agent!r} is not a member of {hotline} in agents.yaml"
                    issues.append(doc.issue((*at, i, "agent"), message))
            parsed.append(entry)
        if len(parsed) == len(body):
            issues += [doc.issue(at, problem) for problem in _coverage_issues(parsed)]
        entries[str(hotline)] = tuple(parsed)
        if str(hotline) in calendars:
            issues.append(doc.issue(at, f"{hotline} also has an ical: calendar: keep one of them"))
    return Rota(entries, calendars), issues


def _calendars(
    doc: YamlDoc, data: object, directory: Path, on_call: set[str], members: Mapping[str, Iterable[str]] | None,
    zone: ZoneInfo, issues: list[ConfigIssue],
) -> dict[str, IcalRota]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        issues.append(doc.issue(("ical",), "expected a mapping of on-call hotline ids to .ics files"))
        return {}
    from callcontrol.agents.rota_ical import IcalRota  # icalendar costs ~0.1 s: only for a rota that has ical:

    calendars: dict[str, IcalRota] = {}
    now = datetime.now(zone).replace(second=0, microsecond=0)
    for hotline, name in data.items():
        at = ("ical", hotline)
        if str(hotline) not in on_call:
            issues.append(doc.issue(at, f"{hotline!r} is not an on-call hotline (on_call: true in hotlines.yaml)"))
            continue
        try:
            calendar = IcalRota.read(directory / str(name), zone)
        except ValueError as exc:
            issues.append(doc.issue(at, str(exc)))
            continue
        allowed = set(members.get(str(hotline), ())) if members is not None else None
        issues += [doc.issue(at, problem) for problem in calendar.problems(now, allowed)]
        calendars[str(hotline)] = calendar
    return calendars
