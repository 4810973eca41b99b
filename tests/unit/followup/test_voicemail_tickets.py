"""Each voicemail is a ticket (not an empty or 1-second one), whose audio comes from Asterisk's stored recordings."""

from __future__ import annotations

import pytest

from callcontrol.followup.recorder import FollowUp
from callcontrol.followup.voicemail import NoRecording, VoicemailAudio
from callcontrol.state import StateLayer

from .calls import answered, voicemail
from .conftest import T0


class Recordings:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    async def stored_recording_file(self, name: str) -> bytes:
        if name not in self.files:
            raise LookupError(name)
        return self.files[name]


async def test_a_message_becomes_a_new_ticket_of_its_hotline_with_the_number_to_call_back(
    followup: FollowUp, state: StateLayer
) -> None:
    """The message's ticket: hotline, masked caller, recording, duration, and the full number (ticket only)."""
    await followup.call_ended(voicemail("c1", T0, seconds=6.0), number="+33611111111")
    [ticket] = await state.tickets.list(status="new")
    assert (ticket.kind, ticket.hotline, ticket.recording, ticket.duration) == (
        "voicemail", "etat-civil", "callcontrol-c1-abc", 6.0)
    assert ticket.number == "+33611111111" and "611111111" not in ticket.caller_masked
    assert "611111111" not in str((await state.journal.recent(1))[0].data)


async def test_no_ticket_for_an_empty_or_one_second_message_nor_for_answered_calls(
    followup: FollowUp, state: StateLayer
) -> None:
    """Silence (0 s), a 1-second recording and an answered call open no ticket."""
    await followup.call_ended(voicemail("c1", T0, seconds=0.0))
    await followup.call_ended(voicemail("c2", T0, seconds=1.0))
    await followup.call_ended(answered("c3", T0, wait=3, talk=30))
    assert await state.tickets.list() == []


async def test_the_ticket_audio_is_the_stored_recording(followup: FollowUp, state: StateLayer) -> None:
    """The API's use case returns the recording's bytes; a ticket whose recording is gone says so."""
    await followup.call_ended(voicemail("c1", T0, seconds=6.0))
    [ticket] = await state.tickets.list()
    audio = VoicemailAudio(state.tickets, Recordings({"callcontrol-c1-abc": b"RIFF....WAVE"}))
    assert await audio.audio(ticket.id) == b"RIFF....WAVE"
    with pytest.raises(NoRecording):
        await VoicemailAudio(state.tickets, Recordings({})).audio(ticket.id)
