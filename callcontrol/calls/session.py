"""One citizen's call: its channel, its events, and the operations a flow may perform on it (calls.port.CallPort)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from callcontrol import numbers
from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriUnavailable, BadRequest, ChannelGone, NotInStasis, ResourceGone
from callcontrol.ari.models import (
    Channel,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    Event,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    StasisEnd,
    StasisStart,
)
from callcontrol.calls.errors import CallEnded
from callcontrol.calls.mailbox import Mailbox
from callcontrol.calls.port import PathStep, RecordingResult
from callcontrol.clock import Clock

log = structlog.get_logger("callcontrol.calls")

END_EVENTS = (ChannelHangupRequest, StasisEnd, ChannelDestroyed)  # a channel hung up, vanished or left us


def channel_ended(channel_id: str) -> Callable[[Event], bool]:
    """Matches the event saying that `channel_id` is gone."""
    return lambda event: isinstance(event, END_EVENTS) and channel_id in event.channel_ids()


@dataclass(frozen=True)
class TransferPlan:
    """How `transfer` reaches an external number: through the carrier, shown as the town hall."""

    carrier_endpoint: str = "carrier"
    public_number: str = "+33556000000"
    public_name: str = "Mairie"


def media_uri(item: str) -> str:
    """'vm-intro' -> 'sound:vm-intro'; URIs with a scheme ('digits:12', 'sound:x') pass unchanged."""
    return item if ":" in item else f"sound:{item}"


class CallSession:
    """The call task's handle on its citizen channel. Implements calls.port.CallPort."""

    def __init__(
        self,
        *,
        channel: Channel,
        kind: str,
        dialled: str,
        ari: AriClient,
        clock: Clock,
        region: str = "FR",
        language: str = "fr",
        resumed: bool = False,
        transfer_plan: TransferPlan = TransferPlan(),
        own_channel: Callable[[str, CallSession], None] | None = None,
    ):
        # The citizen's channel id (Asterisk's unique id; set `systemname` per node when several Asterisk share a
        # Redis): a restarted instance finds the call's queue entry and agent legs again from the channel alone.
        self.call_id = channel.id
        self.channel = channel
        self.kind = kind
        self.dialled = dialled
        self.caller_raw = channel.caller.number
        self.caller = numbers.normalise(channel.caller.number, region)
        self.language = language
        self.resumed = resumed
        self.path: list[PathStep] = []
        self.facts: dict[str, Any] = {}  # what the journal keeps beyond the path: hotline, wait, agent, ...
        self.outcome: str | None = None
        self.started_at = clock.time()
        self.answered_at: float | None = None
        self.mailbox = Mailbox()
        self.hung_up = False  # the citizen's side ended (hangup, vanished channel)
        self._ending = False  # we are ending the call ourselves
        self._ari = ari
        self._clock = clock
        self._transfer_plan = transfer_plan
        self._own_channel = own_channel
        self._on_end: Callable[[], None] | None = None
        self._cleanups: list[Callable[[], Awaitable[None]]] = []
        self._extra_channels: set[str] = set()
        self._digit_at: float | None = None  # monotonic time the last digit was taken by the call's code

    # ------------------------------------------------------------------------------------------ event intake

    def deliver(self, event: Event) -> None:
        """Called by the dispatcher for every event concerning this call's channels or bridges."""
        if isinstance(event, END_EVENTS) and self.channel.id in event.channel_ids():
            if not self.hung_up:
                self.hung_up = True
                if not self._ending and self._on_end is not None:
                    self._on_end()
        self.mailbox.put(event)

    @property
    def ended_by_us(self) -> bool:
        """We hung up (the flow's hangup verb, cleanup): the hangup events that follow are not the caller's."""
        return self._ending

    def set_end_hook(self, hook: Callable[[], None]) -> None:
        """What to do when the citizen hangs up (the dispatcher cancels the call's task)."""
        self._on_end = hook

    def channel_vanished(self) -> None:
        """The channel no longer exists in Asterisk (e.g. Asterisk restarted): end the call."""
        self.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=self.channel, cause_txt="vanished"))

    @property
    def owned_channels(self) -> set[str]:
        return {self.channel.id, *self._extra_channels}

    async def wait_channel_end(self, channel_id: str) -> None:
        """Until `channel_id` (a leg of this call: an agent, a transfer) hangs up or vanishes."""
        await self.mailbox.take(channel_ended(channel_id))

    def own_channel(self, channel_id: str) -> None:
        self._extra_channels.add(channel_id)

    def on_cleanup(self, action: Callable[[], Awaitable[None]]) -> None:
        """Register an async cleanup run when the call ends, whatever the reason (LIFO)."""
        self._cleanups.append(action)

    # ------------------------------------------------------------------------------------------ CallPort

    def now(self) -> datetime:
        return self._clock.now()

    def note(self, step: str, **detail: Any) -> None:
        self.path.append(PathStep(at=self._clock.time(), step=step, detail=detail))
        log.info("call_step", step=step, **detail)

    async def answer(self) -> None:
        # An adopted call is already up, maybe still playing the previous instance's prompt: Asterisk runs `answer`
        # on the channel's own thread, after that playback, so it would block (up to the REST timeout, then drop
        # the citizen). Nothing to answer then.
        if not (self.resumed and self.channel.state == "Up"):
            async with self._ari_call():
                await self._ari.answer(self.channel.id)
        self.answered_at = self._clock.time()

    async def play(self, media: Sequence[str], *, interrupt: str = "") -> str | None:
        uris = [media_uri(m) for m in media]
        if not uris:
            return None
        playback_id = uuid.uuid4().hex
        channel_id = self.channel.id

        def done(event: Event) -> bool:
            if isinstance(event, PlaybackFinished):
                return event.playback.id == playback_id
            return (
                bool(interrupt)
                and isinstance(event, ChannelDtmfReceived)
                and event.channel.id == channel_id
                and event.digit in interrupt
            )

        if interrupt:
            # A digit typed ahead (before this prompt started) answers it at once.
            early = await self.mailbox.take(lambda e: _is_digit(e, channel_id, interrupt), timeout=0)
            if isinstance(early, ChannelDtmfReceived):
                self._digit_at = self._clock.monotonic()
                return early.digit
        async with self._ari_call():
            await self._ari.play(channel_id, uris, lang=self.language, playback_id=playback_id)
        self._log_prompt_latency(uris[0])
        event = await self._wait(done)
        if isinstance(event, ChannelDtmfReceived):
            self._digit_at = self._clock.monotonic()
            await self._quietly(self._ari.stop_playback(playback_id))
            return event.digit
        return None

    def _log_prompt_latency(self, first_media: str) -> None:
        """How long the citizen waited between a key press and the next prompt starting (one line per digit)."""
        if self._digit_at is not None:
            latency_ms = (self._clock.monotonic() - self._digit_at) * 1000
            log.info("prompt_latency", latency_ms=round(latency_ms, 1), media=first_media)
            self._digit_at = None

    async def read_digit(self, timeout: float) -> str | None:
        channel_id = self.channel.id
        event = await self._wait(lambda e: _is_digit(e, channel_id, None), timeout)
        if isinstance(event, ChannelDtmfReceived):
            self._digit_at = self._clock.monotonic()
            return event.digit
        return None

    def forget_digits(self) -> None:
        """Discard digits typed so far (a new menu after a transfer must not be answered by old key presses)."""
        channel_id = self.channel.id
        self.mailbox.drop(lambda e: _is_digit(e, channel_id, None))

    async def record(self, *, max_seconds: int, beep: bool = True, silence_seconds: int = 5) -> RecordingResult:
        name = f"callcontrol-{self.call_id}-{uuid.uuid4().hex[:6]}"  # flat: no directory to create
        try:
            async with self._ari_call():
                await self._ari.record(
                    self.channel.id, name, max_duration=max_seconds, max_silence=silence_seconds, beep=beep
                )
        except (AriUnavailable, BadRequest) as exc:  # Asterisk could not record: the flow goes on, said in the path
            log.error("record_failed", error=exc.message)
            return RecordingResult(name=name, duration=0.0, ended_by="failed")

        def done(event: Event) -> bool:
            return isinstance(event, (RecordingFinished, RecordingFailed)) and event.recording.name == name

        event = await self._wait(done)
        assert isinstance(event, (RecordingFinished, RecordingFailed))
        ended_by = "failed" if isinstance(event, RecordingFailed) else (event.recording.cause or "finished")
        return RecordingResult(name=name, duration=event.recording.duration, ended_by=ended_by)

    async def transfer(self, number: str, *, timeout: float = 30.0) -> bool:
        """Call `number` through the carrier as the town hall (From and P-Asserted-Identity: the public number),
        bridge the citizen with it, and return once that side hangs up (True) or if it never answered (False).
        The number was checked against the allow-list by the flow; the citizen never sees it (no connected-line
        updates towards the carrier)."""
        plan = self._transfer_plan
        leg_id = f"{self.call_id}-t{uuid.uuid4().hex[:7]}"
        if self._own_channel is not None:
            self._own_channel(leg_id, self)
        else:
            self.own_channel(leg_id)
        self.on_cleanup(lambda: self._quietly(self._ari.hangup(leg_id)))
        async with self._ari_call():
            await self._ari.originate(
                f"PJSIP/{number}@{plan.carrier_endpoint}",
                channel_id=leg_id,
                app_args=f"transfer-leg,{self.call_id}",
                caller_id=f'"{plan.public_name}" <{plan.public_number}>',
                timeout=max(1, round(timeout)),
                originator=self.channel.id,
            )

        def leg_event(kinds: tuple[type[Event], ...]) -> Callable[[Event], bool]:
            return lambda e: isinstance(e, kinds) and leg_id in e.channel_ids()

        answered = await self._wait(leg_event((StasisStart, *END_EVENTS)), timeout + 2)
        if not isinstance(answered, StasisStart):
            await self._quietly(self._ari.hangup(leg_id))
            return False
        bridge = await self._ari.create_bridge("mixing,dtmf_events", name=f"cc-transfer-{self.call_id}")
        self.on_cleanup(lambda: self._quietly(self._ari.destroy_bridge(bridge.id)))
        async with self._ari_call():
            await self._ari.add_channel(bridge.id, [self.channel.id, leg_id])
        self.note("transfer:connected")
        await self._wait(channel_ended(leg_id))
        return True

    async def hangup(self, reason: str = "normal") -> None:
        self._ending = True
        await self._quietly(self._ari.hangup(self.channel.id, reason))

    # ------------------------------------------------------------------------------------------ helpers

    async def _wait(self, match: Callable[[Event], bool], timeout: float | None = None) -> Event | None:
        """Wait for a matching event; raise CallEnded if the caller is gone."""
        channel_id = self.channel.id
        if self.hung_up:
            raise CallEnded(channel_id)

        def match_or_end(event: Event) -> bool:
            return match(event) or (isinstance(event, END_EVENTS) and channel_id in event.channel_ids())

        event = await self.mailbox.take(match_or_end, timeout)
        if event is not None and not match(event):
            raise CallEnded(channel_id)
        return event

    def _ari_call(self) -> _AriCallGuard:
        return _AriCallGuard(self)

    async def _quietly(self, awaitable: Awaitable[Any]) -> None:
        """Run an ARI call whose target may already be gone (cleanup, stop playback): 404/409 are fine."""
        try:
            await awaitable
        except (ResourceGone, NotInStasis):
            pass
        except AriUnavailable as exc:
            log.warning("ari_cleanup_failed", error=str(exc))

    async def cleanup(self) -> None:
        """Run registered cleanups, then hang up the citizen's channel if it is still ours. Never raises."""
        self._ending = True
        while self._cleanups:
            action = self._cleanups.pop()
            try:
                await action()
            except Exception:
                log.exception("call_cleanup_failed")
        if not self.hung_up:
            await self._quietly(self._ari.hangup(self.channel.id))


class _AriCallGuard:
    """Turns 'the channel is gone' into CallEnded inside a call's code."""

    def __init__(self, session: CallSession):
        self._session = session

    async def __aenter__(self) -> None:
        if self._session.hung_up:
            raise CallEnded(self._session.channel.id)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if isinstance(exc, (ChannelGone, NotInStasis)):
            self._session.hung_up = True
            raise CallEnded(self._session.channel.id) from exc
        return False


def _is_digit(event: Event, channel_id: str, allowed: str | None) -> bool:
    return (
        isinstance(event, ChannelDtmfReceived)
        and event.channel.id == channel_id
        and (allowed is None or event.digit in allowed)
    )
