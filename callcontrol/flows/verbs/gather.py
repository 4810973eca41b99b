"""`gather`: a menu; plays the prompt (any key cuts it short), reads the choice, retries, then branches."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from callcontrol.flows.context import Context, Outcome, media
from callcontrol.flows.verbs.base import DTMF, Path, Sounds, Target, Verb, branch


def _digits_keys(value: Any) -> Any:
    # YAML reads `1:` as the integer 1; menus speak in digit strings.
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value


class Gather(Verb):
    waits = True
    prompt: Sounds
    max_digits: int = Field(default=1, ge=1, le=20)
    terminator: Literal["#", "*", ""] = "#"
    timeout: float = Field(default=5.0, gt=0, le=60)  # seconds to wait for the first (and each further) digit
    retries: int = Field(default=2, ge=0, le=10)  # replays after the first attempt
    on: Annotated[dict[str, Target], BeforeValidator(_digits_keys)] = Field(default_factory=dict)
    invalid_sound: Sounds | None = None  # played before the menu is replayed after a wrong key
    invalid: Target | None = None  # after the retries, when the last key was wrong (default: no_input)
    no_input: Target | None = None  # after the retries, when nothing was pressed (default: next step)

    @model_validator(mode="after")
    def _keys(self) -> Gather:
        for key in self.on:
            if not key or set(key) - set(DTMF):
                raise ValueError(f"menu key {key!r} must be keypad keys (0-9, * or #)")
            if len(key) > self.max_digits:
                raise ValueError(f"menu key {key!r} is longer than max_digits ({self.max_digits})")
        return self

    def branches(self) -> list[tuple[Path, str]]:
        out = [(("on", k), t) for k, t in self.on.items()]
        return out + branch("invalid", self.invalid) + branch("no_input", self.no_input)

    def sound_refs(self) -> list[tuple[Path, str]]:
        out = [(("prompt", i), s) for i, s in enumerate(self.prompt)]
        return out + [(("invalid_sound", i), s) for i, s in enumerate(self.invalid_sound or [])]


async def run(ctx: Context, verb: Gather, label: str) -> Outcome:
    call = ctx.call
    call.note(f"gather:{label}")
    last = "no_input"
    for attempt in range(1, verb.retries + 2):
        entered = await _collect(ctx, verb)
        if entered is None:
            last = "no_input"
            call.note("no_input", attempt=attempt)
            continue
        if entered in verb.on:
            call.note(f"digit:{entered}")
            return verb.on[entered]
        last = "invalid"
        call.note(f"invalid:{entered}", attempt=attempt)
        if verb.invalid_sound and attempt <= verb.retries:
            await call.play(media(verb.invalid_sound))
    call.note(f"gather_failed:{last}")
    return verb.invalid if last == "invalid" and verb.invalid else verb.no_input


async def _collect(ctx: Context, verb: Gather) -> str | None:
    """Play the menu (cut short by any key) and read the caller's choice; None when nothing came."""
    call = ctx.call
    first = ctx.pending.pop(0) if ctx.pending else await call.play(media(verb.prompt), interrupt=DTMF)
    if first is None:
        first = await call.read_digit(verb.timeout)
    if first is None or first == verb.terminator:
        return None
    digits = first
    while len(digits) < verb.max_digits and not _complete(digits, verb.on):
        digit = await call.read_digit(verb.timeout)
        if digit is None or digit == verb.terminator:
            break
        digits += digit
    return digits


def _complete(digits: str, keys: dict[str, str]) -> bool:
    """The caller typed a menu key that no longer key starts with: no need to wait for more."""
    return digits in keys and not any(k != digits and k.startswith(digits) for k in keys)
