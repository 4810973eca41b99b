"""Rendez-vous téléphonique: instead of "as soon as possible", the citizen picks tomorrow morning or afternoon.

A slot is the hotline's opening hours of the next day before noon (morning) or after it (afternoon), from its
schedule (public holidays and local closures have none); each holds `callback.appointments` rendez-vous, counted in
Redis across instances, and a full or missing slot is refused with a prompt. The callback then leaves the queue
until the slot starts and comes back at its place (state/callbacks.py), with the slot's end as its deadline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

import structlog
from redis.exceptions import RedisError

from callcontrol.calls.port import RoutedCall
from callcontrol.clock import Clock
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.state.errors import StateError
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.routing")

PROMPT_WHEN = "callcontrol/callback-when"  # "dès que possible 1, demain matin 2, demain après-midi 3"
PROMPT_SLOT_FULL = "callcontrol/callback-slot-full"  # "Ce créneau n'est pas disponible."
WHEN_KEY_SECONDS = 5.0
NOON_MINUTES = 12 * 60
CHOICES = 2  # how many times the citizen may pick a slot that turns out full before "as soon as possible"


class OpeningRanges(Protocol):
    """The hotline's opening hours on a day (flows/hours.py ScheduleHours)."""

    def open_ranges(self, hotline: HotlineRouting, day: dt.date) -> list[tuple[float, float]]: ...


@dataclass(frozen=True)
class Slot:
    name: str  # e.g. "2026-12-03-am"
    start: float  # epoch seconds
    end: float


class Appointments:
    def __init__(self, *, state: StateLayer, clock: Clock, days: OpeningRanges):
        self._state = state
        self._clock = clock
        self._days = days

    def slots(self, hotline: HotlineRouting) -> dict[str, Slot]:
        """Tomorrow's slots within opening hours: key "2" (morning) and "3" (afternoon), when they exist."""
        tomorrow = self._clock.now().date() + dt.timedelta(days=1)
        noon = dt.datetime.combine(tomorrow, dt.time(12), tzinfo=self._clock.zone).timestamp()
        ranges = self._days.open_ranges(hotline, tomorrow)
        halves = {
            "2": ("am", [(s, min(e, noon)) for s, e in ranges if s < noon]),
            "3": ("pm", [(max(s, noon), e) for s, e in ranges if e > noon]),
        }
        return {
            key: Slot(f"{tomorrow.isoformat()}-{half}", min(s for s, _ in parts), max(e for _, e in parts))
            for key, (half, parts) in halves.items()
            if parts
        }

    async def choose(self, call: RoutedCall, hotline: HotlineRouting) -> Slot | None:
        """The slot the citizen picked and got a place in; None for "as soon as possible" (1, or no key)."""
        capacity = hotline.callback.appointments if hotline.callback else 0
        slots = self.slots(hotline) if capacity else {}
        if not slots:
            return None
        for _ in range(CHOICES):
            digit = await call.play([PROMPT_WHEN], interrupt="123")
            if digit is None:
                digit = await call.read_digit(WHEN_KEY_SECONDS)
            if digit not in ("2", "3"):
                return None
            slot = slots.get(digit)
            if slot is not None and await self._take(hotline, slot, capacity):
                call.note("callback:appointment", slot=slot.name)
                return slot
            call.note("callback:slot_refused", slot=slot.name if slot else digit, reason="full" if slot else "closed")
            await call.play([PROMPT_SLOT_FULL])
        return None

    async def _take(self, hotline: HotlineRouting, slot: Slot, capacity: int) -> bool:
        try:
            return await self._state.callbacks.take_slot(hotline.id, slot.name, capacity, expire_at=slot.end + 86400)
        except (StateError, RedisError) as exc:
            log.warning("callback_slot_unavailable", error=str(exc))
            return False
