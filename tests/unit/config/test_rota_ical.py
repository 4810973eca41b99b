"""The rota from the city's calendar (iCalendar): recurring shifts drive the duty; gaps are refused by check-config."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from config_kit import check, clean_env, problems, town  # noqa: F401 (clean_env: autouse fixture)

from callcontrol.__main__ import EXIT_CONFIG
from callcontrol.agents.rota_ical import IcalRota

PARIS = ZoneInfo("Europe/Paris")


def calendar(night_start: str = "200000") -> str:
    """Every day: Damien 08:00-20:00, Emma (then Damien) 20:00-08:00 the next day, since 2026-01-05."""
    return "\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Mairie//Astreinte//FR",
        "BEGIN:VEVENT", "UID:day@mairie", "DTSTAMP:20260101T000000Z", "SUMMARY:damien",
        "DTSTART;TZID=Europe/Paris:20260105T080000", "DTEND;TZID=Europe/Paris:20260105T200000",
        "RRULE:FREQ=DAILY", "END:VEVENT",
        "BEGIN:VEVENT", "UID:night@mairie", "DTSTAMP:20260101T000000Z", "SUMMARY:emma, damien",
        f"DTSTART;TZID=Europe/Paris:20260105T{night_start}", "DTEND;TZID=Europe/Paris:20260106T080000",
        "RRULE:FREQ=DAILY", "END:VEVENT",
        "END:VCALENDAR", "",
    ])


def test_a_calendar_covering_every_day_is_accepted_and_gives_the_shift(tmp_path, monkeypatch, capsys):
    """Daily recurring day and night events: valid; at 23:00 the night shift (Emma first) runs since 20:00."""
    config = town(tmp_path, monkeypatch)
    (config / "astreinte.ics").write_text(calendar())
    (config / "rota.yaml").write_text("ical:\n  astreinte: astreinte.ics\n")
    code, _, err = check(config, capsys, "--no-ari")
    assert code == 0, err
    rota = IcalRota.read(config / "astreinte.ics", PARIS)
    shift = rota.shift_at(datetime(2026, 12, 2, 23, 0, tzinfo=PARIS))
    assert shift is not None and shift.agents == ("emma", "damien")
    assert shift.start == datetime(2026, 12, 2, 20, 0, tzinfo=PARIS)


def test_a_calendar_with_a_gap_is_refused_naming_it(tmp_path, monkeypatch, capsys):
    """Nights starting at 21:00: check-config names the 20:00-21:00 gap at the ical: key."""
    config = town(tmp_path, monkeypatch)
    (config / "astreinte.ics").write_text(calendar(night_start="210000"))
    (config / "rota.yaml").write_text("ical:\n  astreinte: astreinte.ics\n")
    code, _, err = check(config, capsys, "--no-ari")
    assert code == EXIT_CONFIG
    first = problems(err)[0]
    assert first.startswith("config/rota.yaml:2: ical.astreinte: nobody is on duty from "), first
    assert first.endswith(" 21:00"), first  # from 20:00 (or from now, when checked during the gap)
