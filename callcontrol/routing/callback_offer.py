"""The callback offered to a waiting citizen: "tapez 1 pour être rappelé", the number, and the place kept.

The number is the caller's own (confirmed with 1) or one keyed in (ended with #). It must pass the dial-out
allow-list the agents' calls and transfers use (routing/dial_out.py) and be a national number: premium-rate,
shared-cost, international and short numbers are refused with a prompt (no toll fraud). Once accepted, the queue
entry becomes a callback (state/callbacks.py): the citizen may hang up and keeps their place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Protocol

import phonenumbers
import structlog

from callcontrol import numbers
from callcontrol.calls.errors import CallEnded
from callcontrol.calls.port import RoutedCall
from callcontrol.clock import Clock
from callcontrol.routing.callback_slots import Appointments
from callcontrol.routing.dial_out import DialOutPolicy
from callcontrol.routing.hotlines import CallbackSettings, HotlineRouting
from callcontrol.state.errors import StateError
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.routing")

PROMPT_OFFER = "callcontrol/callback-offer"  # "Pour être rappelé sans perdre votre place, tapez 1."
PROMPT_OWN_NUMBER = "callcontrol/callback-own-number"  # "Nous vous rappellerons au"
PROMPT_CONFIRM = "callcontrol/callback-confirm"  # "Pour confirmer, tapez 1. Pour un autre numéro, tapez 2."
PROMPT_ENTER = "callcontrol/callback-enter-number"  # "Tapez le numéro ... suivi de la touche dièse."
PROMPT_REFUSED = "callcontrol/callback-number-refused"  # "Ce numéro ne peut pas être rappelé."
PROMPT_KEPT = "callcontrol/callback-kept"  # "Votre place est gardée, ... vous pouvez raccrocher."
PROMPT_SLOT_KEPT = "callcontrol/callback-slot-kept"  # "C'est noté: nous vous rappellerons au créneau choisi."
PROMPT_TOO_LATE = "callcontrol/callback-too-late"  # "Le rappel n'est plus possible aujourd'hui."

OFFER_KEY_SECONDS = 4.0  # after the offer prompt, how long a 1 is waited for
DIGIT_SECONDS = 6.0  # between two digits of a number keyed in
MAX_DIGITS = 16
NUMBER_TRIES = 2


class DayEnd(Protocol):
    """When the hotline's opening day ends (flows/hours.py ScheduleHours); None without a schedule."""

    def day_ends_at(self, hotline: HotlineRouting) -> float | None: ...


class CallbackOffers:
    def __init__(
        self,
        *,
        state: StateLayer,
        policy: DialOutPolicy,
        clock: Clock,
        day_end: DayEnd | None = None,
        appointments: Appointments | None = None,
    ):
        self._state = state
        self._policy = policy
        self._clock = clock
        self._day_end = day_end
        self._appointments = appointments

    def national(self, dialled: str) -> tuple[str | None, str]:
        """The E.164 number to call back, or None and why it is refused (the dial-out allow-list, national only)."""
        decision = self._policy.decide(dialled)
        if not decision.allowed:
            return None, decision.reason
        if decision.reason == "short_number" or not decision.number.startswith("+"):
            return None, "short_number"
        try:
            parsed = phonenumbers.parse(decision.number)
        except phonenumbers.NumberParseException:
            return None, "not_a_number"
        if parsed.country_code != phonenumbers.country_code_for_region(self._policy.region):
            return None, "international"
        return decision.number, decision.reason

    def deadline(self, hotline: HotlineRouting, settings: CallbackSettings) -> float:
        now = self._clock.time()
        if isinstance(settings.deadline, int):
            return now + settings.deadline
        ends = self._day_end.day_ends_at(hotline) if self._day_end is not None else None
        if ends is not None and ends > now:
            return ends
        today = self._clock.now()
        midnight = dt.datetime.combine(today.date() + dt.timedelta(days=1), dt.time(), tzinfo=today.tzinfo)
        return midnight.timestamp()

    async def offer(self, call: RoutedCall, hotline: HotlineRouting) -> bool:
        """Offer the callback once (the caller of this stops the music first). True when the citizen took it: the
        entry is a callback now and the citizen heard they may hang up."""
        settings = hotline.callback
        if settings is None:
            return False
        call.note("callback:offered", hotline=hotline.id)
        digit = await call.play([PROMPT_OFFER], interrupt="1")
        if digit is None:
            digit = await call.read_digit(OFFER_KEY_SECONDS)
        if digit != "1":
            return False
        call.note("callback:asked", hotline=hotline.id)
        number = await self.number(call, hotline)
        return number is not None and await self.keep(call, hotline, number)

    async def number(self, call: RoutedCall, hotline: HotlineRouting) -> str | None:
        """The number to call back (own, confirmed, or keyed in and allowed); None when the citizen gave none."""
        number = await self._number(call)
        if number is None:
            call.note("callback:no_number", hotline=hotline.id)
        return number

    async def keep(self, call: RoutedCall, hotline: HotlineRouting, number: str) -> bool:
        """The call's queue entry becomes a callback at its place; the citizen hears they may hang up."""
        settings = hotline.callback
        if settings is None:
            return False
        slot = await self._appointments.choose(call, hotline) if self._appointments is not None else None
        deadline = slot.end if slot is not None else self.deadline(hotline, settings)
        if deadline <= self._clock.time() + 1:
            await call.play([PROMPT_TOO_LATE])
            return False
        try:
            position = await self._state.callbacks.keep(
                call.call_id, number, deadline=deadline, retries=settings.retries, retry_delay=settings.retry_delay,
                due=slot.start if slot is not None else None,
            )  # fmt: skip
        except StateError as exc:
            log.warning("callback_keep_failed", error=str(exc))
            return False
        call.facts.queue_result = "callback"
        call.note("callback:requested", hotline=hotline.id, number=numbers.mask(number), position=position,
                  deadline=round(deadline), slot=slot.name if slot is not None else None)
        with contextlib.suppress(CallEnded):  # kept either way: they may hang up during the prompt
            await call.play([PROMPT_SLOT_KEPT if slot is not None else PROMPT_KEPT])
        return True

    def arrival(self, call: RoutedCall) -> float:
        """A callback asked from the flow (the `callback` verb) queues as of the call's start, on the real clock the
        queue scores use (a demo clock's offset taken off)."""
        return call.started_at - self._clock.offset

    async def _number(self, call: RoutedCall) -> str | None:
        own, _why = self.national(call.caller) if call.caller else (None, "withheld")
        if own is not None:
            digit = await call.play(
                [PROMPT_OWN_NUMBER, f"digits:{_national_digits(own)}", PROMPT_CONFIRM], interrupt="12"
            )
            if digit is None:
                digit = await call.read_digit(OFFER_KEY_SECONDS)
            if digit == "1":
                call.note("callback:own_number")
                return own
            if digit != "2":
                return None
        for _ in range(NUMBER_TRIES):
            keyed = await self._keyed(call)
            if not keyed:
                return None
            number, reason = self.national(keyed)
            if number is not None:
                call.note("callback:keyed_number", number=numbers.mask(number))
                return number
            call.note("callback:number_refused", number=numbers.mask(keyed), reason=reason)
            await call.play([PROMPT_REFUSED])
        return None

    async def _keyed(self, call: RoutedCall) -> str:
        """Digits up to # (or a pause); "" when nothing was keyed."""
        first = await call.play([PROMPT_ENTER], interrupt="0123456789#")
        digits = "" if first in (None, "#") else first
        if first == "#":
            return digits
        while len(digits) < MAX_DIGITS:
            digit = await call.read_digit(DIGIT_SECONDS)
            if digit is None or digit == "#":
                break
            if digit.isdigit():
                digits += digit
        return digits


def _national_digits(e164: str) -> str:
    parsed = phonenumbers.parse(e164)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL).replace(" ", "")
