"""Opening hours in the city's zone, public holidays, local closures and the manual "closed now" switch."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from flow_fakes import REPO, Closed, paris, settings

from callcontrol.flows.schedule_file import load_schedules, parse_schedules
from callcontrol.flows.schedules import evaluate
from callcontrol.yamlsource import ConfigError, parse_yaml

UTC = dt.UTC


@pytest.fixture(scope="module")
def mairie():
    return load_schedules(REPO / "config" / "schedules.yaml", settings())["mairie"]


def kind(schedule, when, manual=None) -> str:
    return evaluate(schedule, when, manual).kind


def test_open_during_weekday_hours(mairie):
    """Monday 08:30 to 12:00 and 13:30 to 17:30 is open; start included, end excluded."""
    assert kind(mairie, paris(2026, 3, 2, 8, 30)) == "open"
    assert kind(mairie, paris(2026, 3, 2, 11, 59)) == "open"
    assert kind(mairie, paris(2026, 3, 2, 12, 0)) == "closed"
    assert kind(mairie, paris(2026, 3, 2, 13, 30)) == "open"
    assert kind(mairie, paris(2026, 3, 2, 17, 30)) == "closed"


def test_closed_at_lunch_at_night_and_before_opening(mairie):
    """Between the ranges and outside them, the state is closed with a reason."""
    state = evaluate(mairie, paris(2026, 3, 2, 12, 45))
    assert (state.kind, state.reason, state.message_sound) == ("closed", "outside opening hours", None)
    assert kind(mairie, paris(2026, 3, 2, 8, 29)) == "closed"
    assert kind(mairie, paris(2026, 3, 3, 22, 0)) == "closed"


def test_saturday_morning_only_and_sunday_closed(mairie):
    """Saturday 09:00-12:00 opens; Saturday afternoon and all of Sunday are closed."""
    assert kind(mairie, paris(2026, 3, 7, 10, 0)) == "open"
    assert kind(mairie, paris(2026, 3, 7, 14, 0)) == "closed"
    assert kind(mairie, paris(2026, 3, 1, 10, 0)) == "closed"


def test_french_public_holiday(mairie):
    """Christmas Day (a Friday in 2026) is a holiday, with its name as the reason."""
    state = evaluate(mairie, paris(2026, 12, 25, 10, 0))
    assert (state.kind, state.reason) == ("holiday", "Christmas Day")
    assert kind(mairie, paris(2026, 7, 14, 10, 0)) == "holiday"


def test_subdivision_holidays_follow_city_settings():
    """Alsace-Moselle (subdivision 57) also closes on 26 December; the rest of France does not."""
    text = "schedules:\n  m:\n    hours: {mon-sat: ['09:00-12:00']}\n"
    moselle, issues = parse_schedules(parse_yaml(text, "s.yaml"), settings(subdivision="57"))
    france, _ = parse_schedules(parse_yaml(text, "s.yaml"), settings())
    assert not issues
    assert kind(moselle["m"], paris(2026, 12, 26, 10, 0)) == "holiday"
    assert kind(france["m"], paris(2026, 12, 26, 10, 0)) == "open"


def test_half_day_closure_from_noon(mairie):
    """'2026-12-24 from 12:00': open that morning, closed afterwards with the closure's message."""
    assert kind(mairie, paris(2026, 12, 24, 10, 0)) == "open"
    state = evaluate(mairie, paris(2026, 12, 24, 14, 0))
    assert (state.kind, state.reason, state.message_sound) == (
        "closure",
        "veille de Noël",
        "callcontrol/closed-afternoon",
    )


def test_whole_day_closure(mairie):
    """A closure date closes the whole day, even within opening hours."""
    state = evaluate(mairie, paris(2026, 5, 15, 10, 0))
    assert (state.kind, state.message_sound) == ("closure", "callcontrol/closed-today")


def test_closure_text_forms_ranges_and_until():
    """Closures as text: DATE, DATE to DATE (both days included), DATE until HH:MM."""
    text = (
        "schedules:\n  m:\n    hours: {mon-sun: ['08:00-18:00']}\n    holidays: false\n    closures:\n"
        "      - 2026-08-10 to 2026-08-21\n      - 2026-09-01 until 10:00\n      - 2026-09-07\n"
    )
    schedules, issues = parse_schedules(parse_yaml(text, "s.yaml"), settings())
    assert not issues
    m = schedules["m"]
    assert kind(m, paris(2026, 8, 9, 9, 0)) == "open"
    assert kind(m, paris(2026, 8, 10, 9, 0)) == "closure"
    assert kind(m, paris(2026, 8, 21, 17, 0)) == "closure"
    assert kind(m, paris(2026, 8, 22, 9, 0)) == "open"
    assert kind(m, paris(2026, 9, 1, 9, 59)) == "closure"
    assert kind(m, paris(2026, 9, 1, 10, 0)) == "open"
    assert kind(m, paris(2026, 9, 7, 12, 0)) == "closure"
    assert kind(m, paris(2026, 12, 25, 12, 0)) == "open"  # holidays: false


def test_manual_closure_wins_over_open_hours(mairie):
    """The "closed now" switch closes even during opening hours, with its own message."""
    state = evaluate(mairie, paris(2026, 3, 2, 10, 0), Closed("callcontrol/closed-today", "strike"))
    assert (state.kind, state.reason, state.message_sound) == ("manual_closed", "strike", "callcontrol/closed-today")


def test_opening_hours_are_wall_clock_across_dst(mairie):
    """08:45 in Paris is 07:45 UTC in winter and 06:45 UTC in summer: open at both, whatever zone `now` is in."""
    assert kind(mairie, dt.datetime(2026, 1, 5, 7, 45, tzinfo=UTC)) == "open"
    assert kind(mairie, dt.datetime(2026, 1, 5, 6, 45, tzinfo=UTC)) == "closed"
    assert kind(mairie, dt.datetime(2026, 7, 6, 6, 45, tzinfo=UTC)) == "open"
    assert kind(mairie, dt.datetime(2026, 7, 6, 6, 15, tzinfo=UTC)) == "closed"
    # Monday after the spring change (29 March 2026): 08:30 Paris = 06:30 UTC.
    assert kind(mairie, dt.datetime(2026, 3, 30, 6, 30, tzinfo=UTC)) == "open"
    assert kind(mairie, dt.datetime(2026, 3, 30, 8, 30, tzinfo=ZoneInfo("Europe/London"))) == "open"


def test_schedule_zone_overrides_city_zone():
    """A schedule's own timezone: applies to its hours (e.g. an overseas annex)."""
    text = "schedules:\n  r:\n    timezone: Indian/Reunion\n    hours: {mon-fri: ['08:00-12:00']}\n"
    schedules, issues = parse_schedules(parse_yaml(text, "s.yaml"), settings())
    assert not issues
    assert kind(schedules["r"], dt.datetime(2026, 3, 2, 5, 0, tzinfo=UTC)) == "open"  # 09:00 in Réunion
    assert kind(schedules["r"], paris(2026, 3, 2, 10, 0)) == "closed"  # 13:00 in Réunion


def test_naive_datetimes_are_refused(mairie):
    """evaluate() needs an aware datetime: a naive one would silently use the server's zone."""
    with pytest.raises(ValueError, match="aware"):
        evaluate(mairie, dt.datetime(2026, 3, 2, 10, 0))


def test_load_schedules_raises_every_issue(tmp_path):
    """load_schedules raises ConfigError naming file, line and key path."""
    path = tmp_path / "schedules.yaml"
    path.write_text("schedules:\n  m:\n    hours: {mon: ['12:00-08:00']}\n    timezone: Mars/Olympus\n")
    with pytest.raises(ConfigError) as caught:
        load_schedules(path, settings(), display_name="config/schedules.yaml")
    assert [str(i) for i in caught.value.issues] == [
        "config/schedules.yaml:4: schedules.m.timezone: unknown time zone 'Mars/Olympus'; use an IANA name such as "
        "Europe/Paris",
        "config/schedules.yaml:3: schedules.m.hours.mon[0]: time range '12:00-08:00' ends before it starts",
    ]


def test_unquoted_yaml_times_are_understood():
    """`from: 12:00` unquoted (YAML reads it as 720) means noon, like the quoted form."""
    text = (
        "schedules:\n  m:\n    hours: {mon-fri: ['08:00-18:00']}\n"
        "    closures:\n      - {date: 2026-03-02, from: 12:00}\n"
    )
    schedules, issues = parse_schedules(parse_yaml(text, "s.yaml"), settings())
    assert not issues
    assert kind(schedules["m"], paris(2026, 3, 2, 11, 0)) == "open"
    assert kind(schedules["m"], paris(2026, 3, 2, 12, 0)) == "closure"
