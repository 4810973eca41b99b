"""The rota moves the on-call duty at each shift change, once for all instances; a handover lasts until the next."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import fakeredis
import pytest

from callcontrol.agents.rota import Rota, RotaEntry
from callcontrol.agents.rota_keeper import RotaKeeper
from callcontrol.clock import Clock
from callcontrol.state import AgentRecord, AgentStatus, Device, StateLayer

PARIS = ZoneInfo("Europe/Paris")
ONCALL = "astreinte"
ROTA = Rota({ONCALL: (
    RotaEntry.model_validate({"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "08:00",
                              "to": "20:00", "agent": "damien"}),
    RotaEntry.model_validate({"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "20:00",
                              "to": "08:00", "agent": "emma"}),
)})


@pytest.fixture
async def layer():
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    state = StateLayer.create(redis)
    await state.agents.sync_agents([
        AgentRecord(id="damien", name="Damien", mobile="+33612000001", hotlines={ONCALL: 0}),
        AgentRecord(id="emma", name="Emma", mobile="+33612000002", hotlines={ONCALL: 1}),
    ], on_call=[ONCALL])
    yield state
    await redis.aclose()


def at(hour: int, minute: int = 0, day: int = 2) -> Clock:
    return Clock(zone=PARIS, start_at=datetime(2026, 12, day, hour, minute, tzinfo=PARIS))


async def holders(layer: StateLayer) -> list[str]:
    return [r.agent_id for r in await layer.duty.holders(ONCALL)]


async def test_the_night_shift_starts_once_for_two_instances(layer: StateLayer) -> None:
    """At 20:05 both instances tick: Emma takes the duty (logged in on her mobile), applied by one of them only."""
    one, two = RotaKeeper(layer, ROTA, at(20, 5)), RotaKeeper(layer, ROTA, at(20, 5))
    assert await one.tick() == [ONCALL]
    assert await two.tick() == []
    assert await holders(layer) == ["emma"]
    emma = await layer.agents.get_state("emma")
    assert (emma.status, emma.device) == (AgentStatus.AVAILABLE, Device.MOBILE)


async def test_a_handover_holds_until_the_next_shift(layer: StateLayer) -> None:
    """Emma hands her night to Damien at 23:00: the rota does not take it back that night, the day shift is his."""
    await RotaKeeper(layer, ROTA, at(20, 5)).tick()
    await layer.duty.handover("emma", "damien")
    assert await RotaKeeper(layer, ROTA, at(23, 0)).tick() == []
    assert await holders(layer) == ["damien"]
    await RotaKeeper(layer, ROTA, at(20, 1, day=3)).tick()  # the next night: Emma again
    assert await holders(layer) == ["emma"]


async def test_a_shift_nobody_can_take_keeps_the_previous_holder(layer: StateLayer) -> None:
    """Damien's mobile is unreachable at 08:00: Emma stays on duty (never nobody), said in an error line."""
    await RotaKeeper(layer, ROTA, at(20, 5)).tick()
    await layer.agents.set_reachable("damien", Device.MOBILE, False)
    assert await RotaKeeper(layer, ROTA, at(8, 0, day=3)).tick() == [ONCALL]
    assert await holders(layer) == ["emma"]


def test_a_sunday_night_shift_runs_into_monday() -> None:
    """Monday 03:00 belongs to the shift that began on Sunday 20:00."""
    shift = ROTA.shift_at(ONCALL, datetime(2026, 11, 30, 3, 0, tzinfo=PARIS))
    assert shift is not None and shift.agents == ("emma",)
    assert shift.start == datetime(2026, 11, 29, 20, 0, tzinfo=PARIS)


async def test_the_rota_can_come_from_the_citys_calendar(layer: StateLayer, tmp_path) -> None:
    """An iCalendar rota (daily recurring night event naming emma): at 21:00 Emma takes the duty."""
    from callcontrol.agents.rota_ical import IcalRota

    (tmp_path / "a.ics").write_text("\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//FR", "BEGIN:VEVENT", "UID:n@t", "DTSTAMP:20260101T000000Z",
        "SUMMARY:emma", "DTSTART;TZID=Europe/Paris:20260105T200000", "DTEND;TZID=Europe/Paris:20260106T080000",
        "RRULE:FREQ=DAILY", "END:VEVENT", "END:VCALENDAR", "",
    ]))
    rota = Rota({}, {ONCALL: IcalRota.read(tmp_path / "a.ics", PARIS)})
    assert await RotaKeeper(layer, rota, at(21, 0)).tick() == [ONCALL]
    assert await holders(layer) == ["emma"]
