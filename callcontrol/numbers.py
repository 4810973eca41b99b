"""Phone numbers: normalise what the carrier sends, and never let a full citizen number reach a log."""

from __future__ import annotations

import functools
import hashlib
import hmac

import phonenumbers

WITHHELD = "anonymous"
_WITHHELD_FORMS = {"", "anonymous", "unknown", "restricted", "private", "withheld", "unavailable"}


@functools.lru_cache(maxsize=512)  # a call asks for its numbers' forms ~10 times (logs, journal): parse once
def normalise(raw: str | None, region: str = "FR") -> str | None:
    """E.164 form of `raw` (national or international), or None when it is withheld or not a phone number."""
    if raw is None or raw.strip().lower() in _WITHHELD_FORMS:
        return None
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def e164(value: str, *, what: str = "phone number", example: str = "+33556000000", valid: bool = False) -> str:
    """`value` in E.164, for configuration: ValueError with a message a clerk can act on otherwise.
    valid=True also checks the number is assigned in its plan (not only of a possible length)."""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{value!r} is not a phone number in E.164 form (the {what}, e.g. {example})") from None
    ok = phonenumbers.is_valid_number(parsed) if valid else phonenumbers.is_possible_number(parsed)
    if not ok:
        kind = "valid" if valid else "possible"
        raise ValueError(f"{value!r} is not a {kind} {what} (check its length; e.g. {example})")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_withheld(raw: str | None) -> bool:
    return raw is None or raw.strip().lower() in _WITHHELD_FORMS


@functools.lru_cache(maxsize=512)
def mask(raw: str | None, region: str = "FR") -> str:
    """A form fit for logs: country code, first digit and last two digits only (+33 6•• •• •• 78)."""
    if is_withheld(raw):
        return WITHHELD
    e164 = normalise(raw, region)
    if e164 is None:
        digits = "".join(c for c in str(raw) if c.isdigit())
        if not digits:
            return "unknown"
        return "•" * max(len(digits) - 2, 0) + digits[-2:] if len(digits) > 4 else "•" * len(digits)
    parsed = phonenumbers.parse(e164)
    national = str(parsed.national_number)
    if len(national) <= 4:
        return f"+{parsed.country_code} " + "•" * len(national)
    hidden = "•" * (len(national) - 3)
    if len(national) == 9:  # French-style grouping: 6•• •• •• 78
        hidden_grouped = f"{national[0]}•• •• •• {national[-2:]}"
        return f"+{parsed.country_code} {hidden_grouped}"
    return f"+{parsed.country_code} {national[0]}{hidden}{national[-2:]}"


def fingerprint(raw: str | None, salt: str, region: str = "FR") -> str | None:
    """A salted hash that lets ops correlate repeat callers without storing their number."""
    if is_withheld(raw):
        return None
    value = normalise(raw, region) or str(raw)
    return hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()[:12]
