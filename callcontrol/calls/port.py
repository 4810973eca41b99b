"""What a call flow may do with the call it runs: the seam between flows/ and the ARI-driven call session.

The real implementation is calls.session.CallSession; unit tests use a fake with the same shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class PathStep:
    """One step of the path a call took (menu choice, branch, queue...), kept for the journal."""

    at: float  # epoch seconds
    step: str  # e.g. "flow:main", "gather:main-menu", "digit:1", "schedule:closed", "enqueue:etat-civil"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordingResult:
    name: str  # stored recording name (Asterisk's /recordings/stored/NAME)
    duration: float  # seconds
    ended_by: str  # "silence" | "max_duration" | "dtmf" | "hangup"


class CallPort(Protocol):
    """One citizen's call as seen by a flow. Every method raises calls.errors.CallEnded once the caller hung up
    (the call's task is cancelled on hangup too, so flows need no hangup checks of their own)."""

    call_id: str
    caller: str | None  # E.164, or None when withheld
    dialled: str  # the number the citizen dialled, as Asterisk saw it
    language: str  # current prompt language ("fr", "en"); flows may switch it
    path: list[PathStep]

    def now(self) -> datetime:
        """Current time, aware, in the city's time zone (the injected clock; tests can set it)."""
        ...

    async def play(self, media: Sequence[str], *, interrupt: str = "") -> str | None:
        """Play media in order and return the digit that interrupted it (one of `interrupt`), else None.

        Media are ARI media URIs without language: "sound:callcontrol/welcome", "digits:123", "number:42",
        "characters:ab", "tone:ring". A bare name ("vm-intro") means "sound:vm-intro".
        Digits pressed during an uninterruptible prompt are kept for the next read_digit().
        """
        ...

    async def read_digit(self, timeout: float) -> str | None:
        """The next DTMF digit (buffered ones first), or None after `timeout` seconds of silence."""
        ...

    async def record(self, *, max_seconds: int, beep: bool = True, silence_seconds: int = 5) -> RecordingResult:
        """Record a message from the caller; '#' ends it."""
        ...

    async def transfer(self, number: str, *, timeout: float = 30.0) -> bool:
        """Bridge the caller to an external number (already checked against the allow-list), masked with the
        public number. True when answered."""
        ...

    async def hangup(self, reason: str = "normal") -> None: ...

    def note(self, step: str, **detail: Any) -> None:
        """Append a PathStep and log it (event 'call_step')."""
        ...
