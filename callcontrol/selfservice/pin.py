"""Agents' PINs: argon2id hashes (argon2-cffi), never the PIN itself; checked off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


def hash_pin(pin: str) -> str:
    """argon2id with the library's defaults (RFC 9106 low-memory profile)."""
    return PasswordHasher().hash(pin)


def pin_matches(pin_hash: str, pin: str) -> bool:
    try:
        return PasswordHasher().verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


async def check_pin(pin_hash: str, pin: str) -> bool:
    """argon2 costs tens of milliseconds of CPU: in a thread, so the other calls are not held up."""
    return await asyncio.to_thread(pin_matches, pin_hash, pin)


def valid_pin(pin: str, length: int) -> str | None:
    """Why `pin` cannot be a PIN (None: it can)."""
    if not (pin.isdigit() and len(pin) == length):
        return f"a PIN is {length} digits"
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        return "too easy to guess (all one digit, or a run like 1234)"
    return None
