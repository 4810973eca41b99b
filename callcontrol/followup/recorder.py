"""The end of every call, followed up: its journal line, its figures, and the ticket of a voicemail left.

`FollowUp.call_ended` is what the composition root's journal hook calls with each finished call's journal line
(calls/outcome.py journal_entry) and the citizen's number; `callback_ended` is for the callback (which ends after
the citizen's call) to count itself and to journal its result.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from callcontrol.followup.counting import ALL, Counts, callback_counts, counts_of
from callcontrol.settings_sections import FollowUpSettings
from callcontrol.state.call_end import FigureDelta, RepeatCheck
from callcontrol.state.layer import StateLayer
from callcontrol.state.tickets import Ticket

log = structlog.get_logger("callcontrol.followup")
GENERAL = "general"  # the hotline of a message left outside any hotline (e.g. after the on-call phone)


class FollowUp:
    def __init__(
        self, state: StateLayer, settings: FollowUpSettings, zone: ZoneInfo, clock: Callable[[], float]
    ) -> None:
        self._state = state
        self._settings = settings
        self._zone = zone
        self._clock = clock

    async def call_ended(self, entry: dict[str, Any], *, number: str | None = None) -> None:
        """Journal the call and count it (one round trip: state/call_end.py), then open the ticket of its voicemail
        (`number`: the citizen's E.164 number, kept on the ticket only, for calling back). The ticket is tried even
        if the journal and figures failed."""
        try:
            try:
                figures, repeat = self._figures(entry, counts_of(entry, self._settings))
            except Exception:  # a hotline id the figures refuse: the journal line still lands
                await self._state.journal.append(entry)
                raise
            await self._state.call_end.write(entry, figures, repeat)
        finally:
            await self._voicemail_ticket(entry, number)

    async def callback_ended(
        self, call_id: str, hotline: str, outcome: str, *, on_time: bool, caller_masked: str = "",
        caller_hash: str = "", attempts: int = 0, **detail: Any,
    ) -> None:
        """A callback ended: `outcome` done | late | failed. Journaled as a line of its own (kind `callback`,
        result `callback_<outcome>`) and counted on the day it ended, in the same round trip."""
        now = self._clock()
        entry = {
            "call_id": call_id, "kind": "callback", "started_at": round(now, 3), "duration": 0.0,
            "caller": caller_masked, "caller_hash": caller_hash, "hotline": hotline, "outcome": outcome,
            "result": f"callback_{outcome}", "on_time": on_time, "attempts": attempts, **detail,
        }
        await self._state.call_end.write(entry, self._delta((hotline,), now, callback_counts(outcome, on_time)))

    def _figures(self, entry: dict[str, Any], counts: Counts) -> tuple[FigureDelta | None, RepeatCheck | None]:
        """What the call adds to its hotline's figures and to `all`'s, and the repeat-caller check it needs."""
        if not counts.counts:
            return None, None
        at = float(entry.get("started_at") or self._clock())
        hotline = entry.get("hotline")
        caller_hash = entry.get("caller_hash")
        repeat = None
        if hotline and caller_hash and "offered" in counts.counts:
            repeat = RepeatCheck(hotline, caller_hash, at, self._settings.repeat_days * 86400)
        return self._delta((hotline, ALL) if hotline else (ALL,), at, counts), repeat

    def _delta(self, hotlines: tuple[str, ...], at: float, counts: Counts) -> FigureDelta:
        moment = datetime.fromtimestamp(at, self._zone)
        day_start = moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        return FigureDelta(
            moment.date().isoformat(), moment.hour, day_start, hotlines, counts.counts, counts.maxima
        )

    async def _voicemail_ticket(self, entry: dict[str, Any], number: str | None) -> Ticket | None:
        message = entry.get("voicemail")
        if not message or float(message.get("duration") or 0) <= self._settings.voicemail_min_seconds:
            return None
        hotline = message.get("hotline") or entry.get("hotline") or GENERAL
        ticket = await self._state.tickets.open(
            "voicemail", hotline, entry["call_id"], entry.get("caller", ""), number=number,
            recording=message.get("name"), duration=float(message["duration"]),
        )
        log.info("voicemail_ticket", ticket=ticket.id, hotline=hotline, duration=ticket.duration)
        return ticket
