"""What the HTTP side receives from the composition root (app.py): use cases and the state layer, never ARI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from callcontrol.agents.presence import Presence
from callcontrol.clock import Clock
from callcontrol.followup.reading import FigureReading
from callcontrol.routing.switchboard import Switchboard
from callcontrol.state.layer import StateLayer
from callcontrol.supervision.auth import FailureLimiter, Tokens


class TicketAudio(Protocol):
    async def audio(self, ticket_id: str) -> bytes:
        """A voicemail ticket's WAV (followup/voicemail.py: raises TicketNotFound, NoRecording)."""
        ...


@dataclass(frozen=True)
class SupervisionDeps:
    """Everything a route needs. `switchboard`: the read views (hotlines, agents, calls, figures) and the call
    actions, shared with the CLI; `presence`: forced login / logout / pause; `state.events`: the one events
    channel (wallboard SSE, metrics); `clock`: the one city clock; `tokens` / `limiter`: auth; `figures`: the
    day's figures (followup's counters; None: read with the default service levels); `voicemail`: a ticket's audio
    from Asterisk's stored recordings (followup/voicemail.py over the ARI client, wired in wiring.py; None: none)."""

    switchboard: Switchboard
    presence: Presence
    state: StateLayer
    clock: Clock
    tokens: Tokens
    limiter: FailureLimiter
    figures: FigureReading | None = None
    voicemail: TicketAudio | None = None

    def figure_reading(self) -> FigureReading:
        return self.figures or FigureReading(self.state.figures, self.clock)
