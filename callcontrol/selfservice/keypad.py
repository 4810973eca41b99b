"""Reading what an agent keys: one digit, or a number ended by '#' (or by silence)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

KEYS = "0123456789*#"


class Keypad(Protocol):
    async def play(self, media: Sequence[str], *, interrupt: str = "") -> str | None: ...

    async def read_digit(self, timeout: float) -> str | None: ...


async def read_number(call: Keypad, prompt: Sequence[str], *, max_digits: int, timeout: float = 6.0) -> str | None:
    """Play `prompt` (a key interrupts it), then take digits until '#', `timeout` seconds of silence, or
    `max_digits` + 1 digits (too long: the caller gets it back and is asked again). "" means '#' alone; None means
    nothing keyed at all."""
    first = await call.play(prompt, interrupt=KEYS)
    digits: list[str] = []
    key = first if first is not None else await call.read_digit(timeout)
    if key is None:
        return None
    while key is not None and key != "#":
        if key.isdigit():
            digits.append(key)
        if len(digits) > max_digits:
            break
        key = await call.read_digit(timeout)
    return "".join(digits)


async def read_choice(call: Keypad, prompt: Sequence[str], *, timeout: float = 6.0) -> str | None:
    """Play a menu (a key interrupts it) and return the key pressed, or None after `timeout` s of silence."""
    key = await call.play(prompt, interrupt=KEYS)
    return key if key is not None else await call.read_digit(timeout)
