"""What the flow runner needs from the rest of callcontrol, as small protocols (wired in app.py, faked in tests)."""

from __future__ import annotations

from typing import Protocol

from callcontrol.calls.port import CallPort


class Enqueuer(Protocol):
    """Puts a caller in a hotline's queue (routing/ implements it) and returns when the queue lets go of the call.

    The outcome is one of schema.ENQUEUE_OUTCOMES: "answered" (an agent took the call; the flow ends),
    "closed" (the hotline is closed), "timeout" (waited too long), "full", "unavailable" (no agent logged in),
    "abandoned". A flow's `enqueue.on` table branches on it.
    """

    async def enqueue(self, call: CallPort, hotline_id: str) -> str: ...


class ManualClosure(Protocol):
    """A "closed now" switch that staff turned on (state/closures.py's Closure has this shape)."""

    @property
    def message_sound(self) -> str | None: ...


class ManualClosures(Protocol):
    """The manual "closed now" switches, kept in Redis by state/closures.py."""

    async def get_closed(self, scope: str) -> ManualClosure | None:
        """The closure in force for `scope` (a schedule's `manual_scope`, by default its name), else None."""
        ...


class UnavailableEnqueuer:
    """Stand-in until routing/ exists: apologise, hang up, report "unavailable"."""

    def __init__(self, sound: str = "callcontrol/service-unavailable"):
        self.sound = sound

    async def enqueue(self, call: CallPort, hotline_id: str) -> str:
        call.note(f"enqueue_stub:{hotline_id}")
        await call.play([f"sound:{self.sound}"])
        await call.hangup("normal")
        return "unavailable"


class NoManualClosures:
    """No "closed now" switch (tests, or a deployment without Redis)."""

    async def get_closed(self, scope: str) -> ManualClosure | None:
        return None
