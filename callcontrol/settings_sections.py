"""The sections of callcontrol.yaml that shape the service rather than connect the parts: what agents may dial
(`dial_out`), their self-service (`self_service`) and the follow-up (`followup`); and the base every section of
callcontrol/config.py's Settings shares (unknown keys refused, frozen)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callcontrol import numbers


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


NumberType = Literal[
    "fixed_line", "mobile", "fixed_line_or_mobile", "voip", "toll_free", "premium_rate", "shared_cost",
    "personal_number", "pager", "uan", "voicemail",
]  # phonenumbers' number types (routing/dial_out.py NUMBER_TYPES)


class DialOutSettings(Section):
    """What agents may call from their softphones (routing/dial_out.py); `city.transfer_allow` is allowed too."""

    allow: tuple[NumberType, ...] = ("fixed_line", "mobile")  # national numbers of these types
    international: bool = False  # numbers of other countries (then of the allowed types)
    numbers: tuple[str, ...] = ()  # E.164 numbers always allowed, whatever their type
    short_numbers: tuple[str, ...] = ()  # short numbers dialled as is through the carrier, e.g. "112"
    ring_timeout: float = Field(default=45.0, gt=0, le=300)  # how long an agent's own call rings (colleague too)

    @field_validator("numbers")
    @classmethod
    def _e164(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(numbers.e164(v) for v in value)

    @field_validator("short_numbers")
    @classmethod
    def _short(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for v in value:
            if not (v.isdigit() and 2 <= len(v) <= 6):
                raise ValueError(f"{v!r} is not a short number (2 to 6 digits, e.g. 112)")
        return value


class SelfServiceSettings(Section):
    """The agents' self-service: feature codes on softphones, the agents' line (docs/agents-guide.md)."""

    # *47<code>: the pause reason it records (shown to the switchboard); *47 alone records `pause_reason`.
    pause_reasons: dict[str, str] = Field(default_factory=lambda: {"1": "réunion", "2": "pause déjeuner"})
    pause_reason: str = "pause"
    pin_length: int = Field(default=4, ge=4, le=8)  # digits of an agent's PIN (agents' line)
    pin_tries: int = Field(default=3, ge=1, le=10)  # wrong PINs before that caller ID is locked out
    lockout_minutes: float = Field(default=15.0, gt=0)

    @field_validator("pause_reasons", mode="before")
    @classmethod
    def _reason_codes(cls, value: object) -> object:
        if isinstance(value, dict):
            value = {str(k): v for k, v in value.items()}
            for code in value:
                if not (code.isdigit() and 1 <= len(code) <= 2):
                    raise ValueError(f"{code!r}: a pause reason code is 1 or 2 digits (keyed after *47)")
        return value


class FollowUpSettings(Section):
    """The journal's retention and how the service figures count (docs/followup.md)."""

    retention_days: float = Field(default=90, gt=0)  # journal entries and tickets older than this are deleted
    service_levels: tuple[int, ...] = (20, 30)  # "answered within N s" figures
    short_abandon: float = Field(default=5.0, ge=0)  # abandons sooner than this are not counted (misdials)
    repeat_days: float = Field(default=7, gt=0)  # a caller calling a hotline again within this is a repeat caller
    voicemail_min_seconds: float = Field(default=1.5, ge=0)  # a shorter message (empty, a breath) is no ticket
