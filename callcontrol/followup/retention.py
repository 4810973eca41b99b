"""The retention period, kept by the running app on the one clock: older journal entries and tickets are deleted
(their masked numbers, hashes and full numbers with them) and so are the voicemails' audio files in Asterisk;
callers' hashes kept to spot repeat callers are forgotten after the repeat window."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from callcontrol.settings_sections import FollowUpSettings
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.followup")


class DeletableRecordings(Protocol):
    async def delete_stored_recording(self, name: str) -> None: ...


@dataclass(frozen=True)
class Purged:
    journal: int
    tickets: int
    callers: int
    recordings: int = 0


async def purge(
    state: StateLayer, settings: FollowUpSettings, now: float, recordings: DeletableRecordings | None = None
) -> Purged:
    """Delete what is older than the retention (journal, tickets and their recordings in Asterisk) or the repeat
    window (callers' hashes)."""
    before = now - settings.retention_days * 86400
    names = [t.recording for t in await state.tickets.list() if t.created_at < before and t.recording]
    deleted = 0
    for name in names if recordings is not None else ():
        try:
            await recordings.delete_stored_recording(name)
            deleted += 1
        except Exception as exc:  # already gone, or Asterisk away: the ticket goes anyway, said in the log
            log.warning("retention_recording_not_deleted", recording=name, error=str(exc) or type(exc).__name__)
    purged = Purged(
        journal=await state.journal.purge(before),
        tickets=await state.tickets.purge(before),
        callers=await state.figures.purge_seen(now - settings.repeat_days * 86400),
        recordings=deleted,
    )
    if purged.journal or purged.tickets or purged.callers:
        log.info("retention_purged", journal=purged.journal, tickets=purged.tickets, callers=purged.callers,
                 recordings=purged.recordings, retention_days=settings.retention_days)
    return purged


async def keep_retention(
    state: StateLayer, settings: FollowUpSettings, clock: Callable[[], float], *, every: float = 3600.0,
    recordings: DeletableRecordings | None = None,
) -> None:
    """Purge now and then every `every` seconds, forever (one of the app's long-lived loops). Every instance may
    run it: deleting what is already gone is harmless."""
    while True:
        try:
            await purge(state, settings, clock(), recordings)
        except Exception as exc:  # Redis away: the next round does it
            log.warning("retention_purge_failed", error=str(exc) or type(exc).__name__)
        await asyncio.sleep(every)
