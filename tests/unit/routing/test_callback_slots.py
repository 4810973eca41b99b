"""Issue 11 (beyond the anchors): rendez-vous téléphonique, tomorrow morning or afternoon within opening hours,
refused when the slot is full (routing/callback_slots.py, flows/hours.py open_ranges)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from callcontrol.clock import Clock
from callcontrol.flows.hours import ScheduleHours
from callcontrol.flows.schedules import Closure, WeeklySchedule
from callcontrol.routing.callback_offer import PROMPT_SLOT_KEPT, CallbackOffers
from callcontrol.routing.callback_slots import PROMPT_SLOT_FULL, Appointments
from callcontrol.routing.dial_out import DialOutPolicy
from callcontrol.routing.hotlines import CallbackSettings, HotlineRouting
from callcontrol.state import CallStatus
from callcontrol.state.layer import StateLayer

from .kit import HOTLINE, INSTANCE
from .test_callbacks import KeyingCall

PARIS = ZoneInfo("Europe/Paris")
TODAY = dt.datetime(2026, 12, 2, 10, 0, tzinfo=PARIS)  # a Wednesday
MAIRIE = WeeklySchedule(
    "mairie", PARIS, {d: ((510, 720), (810, 1050)) for d in range(5)},
    closures=(Closure(dt.date(2026, 12, 4), dt.date(2026, 12, 4)),),
)  # fmt: skip
LINE = HotlineRouting(id=HOTLINE, schedule="mairie", callback=CallbackSettings(appointments=1))


class NoClosures:
    async def get_closed(self, scope: str):
        return None


def _at(day: int, hour: int, minute: int = 0) -> float:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=PARIS).timestamp()


def _city(redis) -> tuple[StateLayer, Appointments]:
    """The state layer and the appointments on one fixed city clock, as app.py builds them."""
    clock = Clock(zone=PARIS, start_at=TODAY)
    layer = StateLayer.create(redis, clock=clock.time)
    hours = ScheduleHours({"mairie": MAIRIE}, NoClosures(), clock.now)  # type: ignore[arg-type]
    return layer, Appointments(state=layer, clock=clock, days=hours)


def test_tomorrows_slots_are_its_opening_hours_before_and_after_noon(state):
    """Thursday 08:30-12:00 is the morning slot, 13:30-17:30 the afternoon one; none on a closure day."""
    _, appointments = _city(state[1])
    slots = appointments.slots(LINE)
    assert (slots["2"].name, slots["2"].start, slots["2"].end) == ("2026-12-03-am", _at(3, 8, 30), _at(3, 12))
    assert (slots["3"].start, slots["3"].end) == (_at(3, 13, 30), _at(3, 17, 30))
    hours = ScheduleHours({"mairie": MAIRIE}, NoClosures(), lambda: TODAY)  # type: ignore[arg-type]
    assert hours.open_ranges(LINE, dt.date(2026, 12, 4)) == []  # Friday: a local closure
    assert hours.open_ranges(LINE, dt.date(2026, 12, 6)) == []  # Sunday: no hours


async def test_a_full_slot_is_refused_with_a_prompt_and_another_can_be_chosen(state):
    """One place per slot: the second citizen asking for the morning hears it is not available, takes the
    afternoon; the callback leaves the queue until its slot and comes back at its place then."""
    layer, appointments = _city(state[1])
    offers = CallbackOffers(
        state=layer, policy=DialOutPolicy.build("FR", ["mobile"]), clock=appointments._clock,
        appointments=appointments,
    )  # fmt: skip
    await layer.queues.enqueue("c1", HOTLINE, owner=INSTANCE)
    await layer.queues.enqueue("c2", HOTLINE, owner=INSTANCE)
    first = KeyingCall(["2"], call_id="c1")
    assert await offers.keep(first, LINE, "+33612345678")  # type: ignore[arg-type]
    assert first.played[-1] == [PROMPT_SLOT_KEPT] and first.step("callback:appointment") == {"slot": "2026-12-03-am"}
    second = KeyingCall(["2", "3"], call_id="c2")
    assert await offers.keep(second, LINE, "+33698765432")  # type: ignore[arg-type]
    assert [PROMPT_SLOT_FULL] in second.played
    assert second.step("callback:appointment") == {"slot": "2026-12-03-pm"}
    assert await layer.queues.length(HOTLINE) == 0
    assert (await layer.queues.get_call("c1")).status is CallStatus.RETRY
    record = await layer.callbacks.get("c2")
    assert record is not None and record.deadline == _at(3, 17, 30)
    assert await layer.callbacks.due(now=_at(3, 8, 29)) == []
    assert await layer.callbacks.due(now=_at(3, 8, 30)) == [HOTLINE]
    assert await layer.queues.position("c1") == 1
