"""A voicemail ticket's audio, fetched from Asterisk's stored recordings (ARI), so Asterisk may be on another host.

`VoicemailAudio.audio(ticket_id)` is the use case the HTTP API serves (authenticated, supervision/): it returns
the WAV bytes. The recordings are a port (`StoredRecordings`): the composition root passes the ARI client.
"""

from __future__ import annotations

from typing import Protocol

from callcontrol.state.tickets import Tickets


class StoredRecordings(Protocol):
    async def stored_recording_file(self, name: str) -> bytes:
        """The recording's file as Asterisk stored it (GET /recordings/stored/{name}/file)."""
        ...


class NoRecording(LookupError):
    """The ticket has no recording (not a voicemail), or Asterisk no longer has it."""


class VoicemailAudio:
    def __init__(self, tickets: Tickets, recordings: StoredRecordings) -> None:
        self._tickets = tickets
        self._recordings = recordings

    async def audio(self, ticket_id: str) -> bytes:
        """The WAV of a voicemail ticket (raises TicketNotFound, NoRecording)."""
        ticket = await self._tickets.get(ticket_id)
        if not ticket.recording:
            raise NoRecording(f"ticket {ticket_id} has no recording")
        try:
            return await self._recordings.stored_recording_file(ticket.recording)
        except LookupError as exc:
            raise NoRecording(f"recording of ticket {ticket_id} is gone from Asterisk") from exc
