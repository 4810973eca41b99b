"""The retention period, kept by the running app on the one clock: older journal entries and tickets are deleted
(their masked numbers, hashes, full numbers and recordings' names with them), and callers' hashes kept to spot
repeat callers are forgotten after the repeat window."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from callcontrol.config import FollowUpSettings
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.followup")


@dataclass(frozen=True)
class Purged:
    journal: int
    tickets: int
    callers: int


async def purge(state: StateLayer, settings: FollowUpSettings, now: float) -> Purged:
    """Delete what is older than the retention (journal, tickets) or the repeat window (callers' hashes)."""
    before = now - settings.retention_days * 86400
    purged = Purged(
        journal=await state.journal.purge(before),
        tickets=await state.tickets.purge(before),
        callers=await state.figures.purge_seen(now - settings.repeat_days * 86400),
    )
    if purged.journal or purged.tickets or purged.callers:
        log.info("retention_purged", journal=purged.journal, tickets=purged.tickets, callers=purged.callers,
                 retention_days=settings.retention_days)
    return purged


async def keep_retention(
    state: StateLayer, settings: FollowUpSettings, clock: Callable[[], float], *, every: float = 3600.0
) -> None:
    """Purge now and then every `every` seconds, forever (one of the app's long-lived loops). Every instance may
    run it: deleting what is already gone is harmless."""
    while True:
        try:
            await purge(state, settings, clock())
        except Exception as exc:  # Redis away: the next round does it
            log.warning("retention_purge_failed", error=str(exc) or type(exc).__name__)
        await asyncio.sleep(every)
