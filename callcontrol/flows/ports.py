"""What the flow runner needs from the rest of callcontrol, as small protocols (wired in app.py, faked in tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from callcontrol.calls.port import CallPort


class Enqueuer(Protocol):
    """Puts a caller in a hotline's queue (routing/ implements it) and returns when the queue lets go of the call.

    The outcome is one of verbs/enqueue.py's ENQUEUE_OUTCOMES: "answered" (an agent took the call; the flow ends),
    "closed" (the hotline's schedule says closed; only for a hotline with a `schedule:`), "timeout" (waited
    `max_wait`), "full" (`max_length` callers already wait; never when it is 0, unlimited), "unavailable" (nobody
    logged in, or routing could not be reached, e.g. Redis away: always possible), "abandoned" (the caller hung
    up: recorded in the journal, but no flow branch runs after it). A flow's `enqueue.on` table branches on it;
    the loader refuses `on:` keys that cannot happen for the hotline.
    """

    async def enqueue(self, call: CallPort, hotline_id: str) -> str: ...

    async def callback(self, call: CallPort, hotline_id: str) -> str:
        """The `callback` verb: ask the number to call back and keep a callback for the hotline (its place as of
        the call's start). "kept" or "declined" (no allowed number given, or routing away)."""
        ...


class ManualClosure(Protocol):
    """A "closed now" switch that staff turned on (state/closures.py's Closure has this shape)."""

    @property
    def message_sound(self) -> str | None: ...


class ManualClosures(Protocol):
    """The manual "closed now" switches, kept in Redis by state/closures.py."""

    async def get_closed(self, scope: str) -> ManualClosure | None:
        """The closure in force for `scope` (a schedule's `manual_scope`, by default its name), else None."""
        ...
