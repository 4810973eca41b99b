"""What the rest of callcontrol may ask of a call: the seam between flows/, routing/ and the ARI-driven session.

`CallPort` is what a flow may do; `RoutedCall` is what routing needs on top of it. The real implementation of
both is calls.session.CallSession; unit tests use fakes with the same shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from callcontrol.ari.models import ChannelDestroyed, ChannelHangupRequest, Event, StasisEnd

if TYPE_CHECKING:
    from callcontrol.calls.outcome import CallFacts

END_EVENTS = (ChannelHangupRequest, StasisEnd, ChannelDestroyed)  # a channel hung up, vanished or left us


def channel_ended(channel_id: str) -> Callable[[Event], bool]:
    """Matches the event saying that `channel_id` is gone."""
    return lambda event: isinstance(event, END_EVENTS) and channel_id in event.channel_ids()


def is_about(event: Event | None, channel_id: str, kinds: tuple[type[Event], ...]) -> bool:
    """`event` is one of `kinds` and concerns `channel_id`."""
    return isinstance(event, kinds) and channel_id in event.channel_ids()


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


class RoutedCall(CallPort, Protocol):
    """A citizen's call as routing sees it (queue, offers, bridges, restart adoption)."""

    caller_raw: str  # as Asterisk gave it (masked before it reaches a log or the journal)
    resumed: bool  # adopted after a restart of callcontrol
    started_at: float  # epoch seconds (city clock); an adopted call gets its first instance's back (resume.py)
    answered_at: float | None
    hung_up: bool
    facts: CallFacts

    @property
    def channel_id(self) -> str: ...

    async def answer(self) -> None: ...

    async def take(self, match: Callable[[Event], bool], timeout: float | None = None) -> Event | None:
        """The next event of this call's channels that `match` accepts (kept ones first); None after timeout."""
        ...

    async def wait_channel_end(self, channel_id: str) -> None:
        """Until `channel_id` (a leg of this call) hangs up or vanishes."""
        ...

    def attach_leg(self, channel_id: str) -> None:
        """A leg of this call (about to be dialled, or found up after a restart): its events come to this call,
        and it is hung up when the call ends."""
        ...

    def on_cleanup(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run `action` when the call ends, whatever the reason (last registered, first run)."""
        ...

    def leg_destroyed(self, channel_id: str) -> bool:
        """Asterisk said this leg is destroyed (its ChannelDestroyed came): nothing left to hang up."""
        ...

    async def hand_back(self, context: str) -> None:
        """Leave the citizen to the dialplan at `context` (extension s): the call is over for callcontrol and its
        channel is not hung up (the degraded route)."""
        ...
