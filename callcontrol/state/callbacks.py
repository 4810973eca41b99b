"""Callbacks that keep the citizen's place: the queue entry stays, owned by every instance together.

A waiting call becomes a callback (`keep`): same entry, same score, so later callers stay behind it; its owner is
CALLBACK_OWNER, so any live instance may claim it (state/scripts/claim.lua). The number to call and the attempts
are kept in `cc:callback:{call}` only as long as the callback needs them (deleted when done, failed or late).
Each step is one Lua script (state/scripts/callback.lua).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import check_id
from .store import Store

CALLBACK_OWNER = "callback"  # the owner of a kept callback's queue entry (same name in scripts/_lib.lua)


@dataclass(frozen=True, slots=True)
class CallbackRecord:
    call_id: str  # the citizen's first call (its queue entry)
    hotline: str
    number: str  # E.164, the number to call back
    deadline: float  # epoch seconds (city clock)
    retries: int
    retry_delay: float
    attempts: int
    caller_masked: str

    @classmethod
    def from_reply(cls, data: dict[str, Any]) -> CallbackRecord:
        return cls(
            call_id=str(data.get("call", "")),
            hotline=str(data.get("hotline", "")),
            number=str(data.get("number", "")),
            deadline=float(data.get("deadline") or 0),
            retries=int(float(data.get("retries") or 0)),
            retry_delay=float(data.get("retry_delay") or 0),
            attempts=int(float(data.get("attempts") or 0)),
            caller_masked=str(data.get("caller_masked", "")),
        )


@dataclass(frozen=True, slots=True)
class AttemptResult:
    result: str  # retry | failed | late
    record: CallbackRecord


class Callbacks:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._keys = store.keys

    async def keep(
        self, call_id: str, number: str, *, deadline: float, retries: int, retry_delay: float,
        due: float | None = None, now: float | None = None,
    ) -> int:
        """The waiting call becomes a callback at its place; returns its position (0 for a rendez-vous: `due`, the
        slot's start, takes it out of the queue until then). CallNotFound / CallNotWaiting."""
        check_id("call", call_id)
        reply = await self._store.run(
            "callback", "keep", call_id, number, deadline, retries, retry_delay, self._store.now(now), due or 0
        )
        return int(reply["position"])

    async def take_slot(self, hotline: str, slot: str, capacity: int, *, expire_at: float) -> bool:
        """One more rendez-vous in `slot` (e.g. "2026-12-03:am") of the hotline; False when it is full."""
        key = self._keys.callback_slot(check_id("hotline", hotline), slot)
        reply = await self._store.run("callback", "slot", key, capacity, expire_at)
        return bool(reply.get("taken"))

    async def get(self, call_id: str) -> CallbackRecord | None:
        raw = await self._store.redis.hgetall(self._keys.callback(call_id))
        if not raw:
            return None
        data = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                for k, v in raw.items()}
        return CallbackRecord.from_reply({**data, "call": call_id})

    async def failed(self, call_id: str, *, now: float | None = None) -> AttemptResult:
        """An attempt did not reach the citizen: a retry later, or the callback is over (failed / late)."""
        reply = await self._store.run("callback", "failed", call_id, self._store.now(now))
        return AttemptResult(reply["result"], CallbackRecord.from_reply(reply["record"]))

    async def done(self, call_id: str) -> None:
        """The citizen was reached: the number is forgotten (the entry goes with the agent's release)."""
        await self._store.run("callback", "done", call_id)

    async def due(self, *, now: float | None = None) -> list[str]:
        """Retries whose time has come are back in their queue at their place; returns their hotlines."""
        reply = await self._store.run("callback", "due", self._store.now(now))
        return [str(h) for h in reply.get("hotlines") or []]

    async def expired(self, *, now: float | None = None) -> list[CallbackRecord]:
        """Waiting callbacks past their deadline, taken out of the queue (each returned once, to one instance)."""
        reply = await self._store.run("callback", "expired", self._store.now(now))
        return [CallbackRecord.from_reply(r) for r in reply.get("late") or []]

    async def recover(self, *, now: float | None = None) -> tuple[list[str], list[str]]:
        """Callbacks claimed by a dead instance: (requeued at their place, closed as done with the agent freed)."""
        reply = await self._store.run("callback", "recover", self._store.now(now))
        return list(reply.get("requeued") or []), list(reply.get("closed") or [])

    async def pending(self) -> int:
        return int(await self._store.redis.zcard(self._keys.callbacks))
