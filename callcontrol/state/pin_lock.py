"""Wrong PINs on the agents' line, counted in Redis per caller (every instance sees the same count).

`who` is opaque to the state layer: the caller ID's salted hash (numbers.fingerprint), never the number, or
`agent:<id>` when the caller ID is withheld or unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from .store import Store


@dataclass(frozen=True, slots=True)
class PinTries:
    count: int  # wrong PINs within the window
    locked: bool  # `limit` reached: refused until the lock expires
    seconds_left: int  # until the count (or the lock) expires; -2 when nothing is counted


class PinLock:
    def __init__(self, store: Store, *, limit: int = 3, seconds: float = 900.0) -> None:
        self._store = store
        self.limit = limit
        self.seconds = int(seconds)

    async def _run(self, op: str, who: str) -> PinTries:
        reply = await self._store.run("pin_lock", op, who, self.limit, self.seconds)
        return PinTries(int(reply.get("count") or 0), bool(reply.get("locked")), int(reply.get("ttl") or -2))

    async def check(self, who: str) -> PinTries:
        return await self._run("check", who)

    async def failed(self, who: str) -> PinTries:
        """One more wrong PIN (a PIN of the wrong length, or # alone, counts too)."""
        return await self._run("fail", who)

    async def succeeded(self, who: str) -> None:
        await self._run("clear", who)
