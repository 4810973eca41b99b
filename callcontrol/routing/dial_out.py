"""Which outside numbers an agent may call from her softphone: the dial-out allow-list (a toll-fraud guard).

A number is allowed when it is listed (the transfers' `city.transfer_allow` and `dial_out.numbers`, or a configured
short number such as 112), or when it is a valid national number of a type the configuration allows
(`dial_out.allow`, phonenumbers' number types: fixed_line, mobile, voip, ...). Premium-rate (08 9x), shared-cost,
international and short or special numbers are refused unless configured.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

# Configuration names of phonenumbers' number types (config.py validates `dial_out.allow` against these).
NUMBER_TYPES: dict[str, int] = {
    "fixed_line": PhoneNumberType.FIXED_LINE,
    "mobile": PhoneNumberType.MOBILE,
    "fixed_line_or_mobile": PhoneNumberType.FIXED_LINE_OR_MOBILE,
    "voip": PhoneNumberType.VOIP,
    "toll_free": PhoneNumberType.TOLL_FREE,
    "premium_rate": PhoneNumberType.PREMIUM_RATE,
    "shared_cost": PhoneNumberType.SHARED_COST,
    "personal_number": PhoneNumberType.PERSONAL_NUMBER,
    "pager": PhoneNumberType.PAGER,
    "uan": PhoneNumberType.UAN,
    "voicemail": PhoneNumberType.VOICEMAIL,
}
_TYPE_NAMES = {value: name for name, value in NUMBER_TYPES.items()}


def looks_like_outside_number(dialled: str) -> bool:
    """What an agent dials to reach the outside: +CC..., 00CC... or a national 0..., or a listed short number."""
    digits = dialled[1:] if dialled.startswith("+") else dialled
    return digits.isdigit() and (dialled.startswith(("+", "0")))


@dataclass(frozen=True)
class DialOutPolicy:
    region: str = "FR"
    allow: frozenset[str] = frozenset({"fixed_line", "mobile"})  # names of NUMBER_TYPES
    international: bool = False  # numbers of another country than `region`
    numbers: frozenset[str] = frozenset()  # E.164 numbers always allowed
    short_numbers: frozenset[str] = frozenset()  # dialled as is through the carrier (e.g. "112")

    @classmethod
    def build(
        cls,
        region: str,
        allow: Iterable[str],
        *,
        international: bool = False,
        numbers: Iterable[str] = (),
        short_numbers: Iterable[str] = (),
    ) -> DialOutPolicy:
        unknown = set(allow) - set(NUMBER_TYPES)
        if unknown:
            raise ValueError(f"unknown number types {sorted(unknown)}; known: {sorted(NUMBER_TYPES)}")
        return cls(region.upper(), frozenset(allow), international, frozenset(numbers), frozenset(short_numbers))

    def decide(self, dialled: str) -> DialOut:
        """May an agent call `dialled` (as typed on the softphone)? The number to dial through the carrier if so."""
        text = dialled.strip()
        if text in self.short_numbers:
            return DialOut(True, text, "short_number")
        if not looks_like_outside_number(text):
            return DialOut(False, "", "not_a_number")
        if text.startswith("00"):
            text = "+" + text[2:]
        try:
            parsed = phonenumbers.parse(text, self.region)
        except phonenumbers.NumberParseException:
            return DialOut(False, "", "not_a_number")
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if e164 in self.numbers:
            return DialOut(True, e164, "listed")
        if not phonenumbers.is_valid_number(parsed):
            return DialOut(False, e164, "invalid")
        if parsed.country_code != phonenumbers.country_code_for_region(self.region) and not self.international:
            return DialOut(False, e164, "international")
        kind = _TYPE_NAMES.get(phonenumbers.number_type(parsed), "unknown")
        allowed = kind in self.allow or (kind == "fixed_line_or_mobile" and bool({"fixed_line", "mobile"} & self.allow))
        return DialOut(allowed, e164, kind if allowed else f"type_{kind}")


@dataclass(frozen=True)
class DialOut:
    allowed: bool
    number: str  # what to dial through the carrier (E.164 or a configured short number); "" when not a number
    reason: str  # allowed: its type, "listed" or "short_number"; refused: not_a_number, invalid, international,
    #              type_premium_rate, type_shared_cost, ...
