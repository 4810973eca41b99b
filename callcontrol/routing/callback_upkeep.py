"""The kept callbacks' upkeep, on every instance (each step atomic in Redis, so each callback is handled once):
retries back at their place when their delay is over, callbacks past their deadline turned into tickets, and
callbacks an instance died with put back in their queue. A late or failed callback becomes a follow-up ticket, and
every end (done, late, failed) is journaled and counted by the follow-up (followup/recorder.py) when it is wired.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import structlog

from callcontrol.state.callbacks import CallbackRecord
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.routing")

SWEEP_SECONDS = 1.0


class TicketOpener(Protocol):
    """state/tickets.py Tickets (the follow-up tickets: voicemails, late or failed callbacks)."""

    async def open(
        self, kind: str, hotline: str, call_id: str, caller_masked: str, *,
        number: str | None = None, recording: str | None = None, note: str = "",
    ) -> object: ...


class CallbackRecorder(Protocol):
    """followup/recorder.py FollowUp: a callback's end journaled and counted (done | late | failed)."""

    async def callback_ended(
        self, call_id: str, hotline: str, outcome: str, *, on_time: bool, caller_masked: str = "",
        caller_hash: str = "", attempts: int = 0, **detail: Any,
    ) -> None: ...


class CallbackEnds:
    """How a callback ends, followed up: done (on time or not), or late / failed, which also opens a ticket (with
    the number, so that someone can still call back). Both parts are optional (wired by the composition root)."""

    def __init__(self, tickets: TicketOpener | None, recorder: CallbackRecorder | None = None, *, clock=time.time):
        self._tickets = tickets
        self._recorder = recorder
        self._clock = clock

    async def ended(self, outcome: str, record: CallbackRecord) -> None:
        """`outcome`: done, late or failed. Never raises: the callback is over either way, the log keeps the facts."""
        if outcome != "done":
            await self._ticket(f"callback_{outcome}", record)
        if self._recorder is None:
            return
        try:
            await self._recorder.callback_ended(
                record.call_id, record.hotline, outcome, on_time=self._clock() <= record.deadline,
                caller_masked=record.caller_masked, attempts=record.attempts,
            )  # fmt: skip
        except Exception as exc:
            log.error("callback_end_not_recorded", call_id=record.call_id, error=str(exc) or type(exc).__name__)

    async def _ticket(self, kind: str, record: CallbackRecord) -> None:
        note = f"rappel {kind.removeprefix('callback_')}: {record.attempts} tentative(s)"
        if self._tickets is None:
            log.warning("callback_ticket_unavailable", kind=kind, call_id=record.call_id, hotline=record.hotline)
            return
        try:
            await self._tickets.open(
                kind, record.hotline, record.call_id, record.caller_masked, number=record.number, note=note
            )
        except Exception as exc:
            log.error("callback_ticket_failed", kind=kind, call_id=record.call_id, error=str(exc) or type(exc).__name__)
            return
        log.info("callback_ticket_opened", kind=kind, call_id=record.call_id, hotline=record.hotline)


class CallbackUpkeep:
    def __init__(
        self,
        *,
        state: StateLayer,
        ends: CallbackEnds,
        hotlines: Iterable[str],
        offer_now: Callable[[str], Awaitable[None]],
        every: float = SWEEP_SECONDS,
    ):
        self._state = state
        self._ends = ends
        self._hotlines = frozenset(hotlines)
        self._offer_now = offer_now
        self._every = every

    async def run(self) -> None:
        """Forever, every `every` seconds (Redis away: the events channel reports it; the next sweep retries)."""
        if not self._hotlines:
            return
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.sweep()
            except Exception as exc:
                log.debug("callback_sweep_failed", error=str(exc) or type(exc).__name__)

    async def sweep(self) -> None:
        for record in await self._state.callbacks.expired():
            log.info("callback_late", call_id=record.call_id, hotline=record.hotline, attempts=record.attempts)
            await self._ends.ended("late", record)
        requeued, closed = await self._state.callbacks.recover()
        if requeued or closed:
            log.info("callbacks_recovered", requeued=requeued, closed=closed)
        hotlines = set(await self._state.callbacks.due()) | (set(self._hotlines) if requeued else set())
        for hotline in sorted(hotlines):
            await self._offer_now(hotline)
