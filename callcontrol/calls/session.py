"""One citizen's call: its channel, its events, and the operations a flow may perform on it (calls.port.CallPort)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

import structlog

from callcontrol import numbers
from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriUnavailable, BadRequest, ChannelGone, NotInStasis, quietly
from callcontrol.ari.media import media_uri
from callcontrol.ari.models import (
    ChannelDtmfReceived,
    Event,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    StasisStart,
)
from callcontrol.ari.resources import Channel
from callcontrol.calls.channels import CallChannels
from callcontrol.calls.errors import CallEnded
from callcontrol.calls.legs import TRANSFER_LEG, PublicIdentity, leg_args, new_leg_id
from callcontrol.calls.outcome import CallFacts, Outcome
from callcontrol.calls.port import END_EVENTS, PathStep, RecordingResult, channel_ended, is_about
from callcontrol.clock import Clock

log = structlog.get_logger("callcontrol.calls")

class CallSession(CallChannels):
    """The call task's handle on its citizen channel. Implements calls.port.CallPort and RoutedCall."""

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
        identity: PublicIdentity | None = None,
        own_channel: Callable[[str, CallSession], None] | None = None,
    ):
        super().__init__(channel=channel, ari=ari, own_channel=own_channel)
        # The citizen's channel id (Asterisk's unique id; set `systemname` per node when several Asterisk share a
        # Redis): a restarted instance finds the call's queue entry and agent legs again from the channel alone.
        self.call_id = channel.id
        self.kind = kind
        self.dialled = dialled
        self.caller_raw = channel.caller.number
        self.caller = numbers.normalise(channel.caller.number, region)
        self.language = language
        self.resumed = resumed
        self.path: list[PathStep] = []
        self.facts = CallFacts()  # what routing learnt (hotline, wait, agent): the outcome and the journal use it
        self.outcome: Outcome | None = None  # set once, by the dispatcher, when the call is over
        self.started_at = clock.time()
        self.answered_at: float | None = None
        self._clock = clock
        self._identity = identity
        self._digit_at: float | None = None  # monotonic time the last digit was taken by the call's code
        self._stopping: set[asyncio.Task[None]] = set()  # prompts cut short whose stop Asterisk has not answered

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
            self._stop_soon(playback_id)
            return event.digit
        return None

    def _stop_soon(self, playback_id: str) -> None:
        """Stop a prompt a key cut short without waiting for Asterisk's answer: the citizen's choice is acted on
        at once (the queue's claim and the agent's ring no longer wait one REST round trip). Nothing can overtake
        it on the channel: Asterisk runs the channel's next operation (music, a prompt, a bridge) on the channel's
        own thread, after the playback it stops."""
        task = asyncio.get_running_loop().create_task(quietly(self._ari.stop_playback(playback_id)))
        self._stopping.add(task)  # held until done (a bare task may be garbage-collected mid-flight)
        task.add_done_callback(self._stopping.discard)

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
        """Call `number` (allow-listed by the flow) through the carrier as the town hall (From and PAI: the public
        number), bridge the citizen with it; True once that side hung up, False if it never answered. The citizen
        never sees the number (no connected-line updates towards the carrier)."""
        if self._identity is None:
            raise RuntimeError("transfer needs the town hall's public identity (wired by the dispatcher)")
        leg_id = new_leg_id(self.call_id, TRANSFER_LEG)
        self.attach_leg(leg_id)
        await quietly(self._ari.ring(self.channel.id))  # ringback while it rings: never dead air
        async with self._ari_call():
            await self._ari.originate(
                self._identity.external(number),
                channel_id=leg_id,
                app_args=leg_args(TRANSFER_LEG, self.call_id),
                caller_id=self._identity.caller_id(),
                timeout=max(1, round(timeout)),
                originator=self.channel.id,
            )
        answered = await self._wait(lambda e: is_about(e, leg_id, (StasisStart, *END_EVENTS)), timeout + 2)
        await quietly(self._ari.ring_stop(self.channel.id))
        if not isinstance(answered, StasisStart):
            await quietly(self._ari.hangup(leg_id))
            return False
        bridge = await self._ari.create_bridge("mixing", name=f"cc-transfer-{self.call_id}")
        self.on_cleanup(lambda: quietly(self._ari.destroy_bridge(bridge.id)))
        async with self._ari_call():
            await self._ari.add_channel(bridge.id, [self.channel.id, leg_id])
        self.note("transfer:connected")
        await self._wait(channel_ended(leg_id))
        return True

    async def hand_back(self, context: str) -> None:
        """Leave the citizen to the dialplan at `context`, extension s (its prompts in the call's language): the
        call is over for callcontrol; its channel is not hung up when the call's task ends."""
        self._ending = True  # the StasisEnd that follows is ours, not the caller leaving
        try:
            await quietly(self._ari.set_variable(self.channel.id, "CHANNEL(language)", self.language))
            async with self._ari_call():
                await self._ari.continue_in_dialplan(self.channel.id, context=context, extension="s", priority=1)
        except BaseException:
            self._ending = False
            raise
        await self.mailbox.take(channel_ended(self.channel.id), timeout=5.0)  # StasisEnd: the dialplan has it
        self.hung_up = True  # from now on the channel is the dialplan's: never hung up from here

    async def hangup(self, reason: str = "normal") -> None:
        self._ending = True
        await quietly(self._hang_up_citizen(reason))

    async def _hang_up_citizen(self, reason: str) -> None:
        await self._ari.hangup(self.channel.id, reason)
        self.hangup_sent = True  # Asterisk took it: the cleanup sends no second one

    # ------------------------------------------------------------------------------------------ helpers

    async def _wait(self, match: Callable[[Event], bool], timeout: float | None = None) -> Event | None:
        """Wait for a matching event; raise CallEnded if the caller is gone."""
        channel_id = self.channel.id
        if self.hung_up:
            raise CallEnded(channel_id)

        ended = channel_ended(channel_id)

        def match_or_end(event: Event) -> bool:
            return match(event) or ended(event)

        event = await self.mailbox.take(match_or_end, timeout)
        if event is not None and not match(event):
            raise CallEnded(channel_id)
        return event

    @contextlib.asynccontextmanager
    async def _ari_call(self) -> AsyncIterator[None]:
        """Turns 'the channel is gone' into CallEnded inside a call's code."""
        if self.hung_up:
            raise CallEnded(self.channel.id)
        try:
            yield
        except (ChannelGone, NotInStasis) as exc:
            self.hung_up = True
            raise CallEnded(self.channel.id) from exc


def _is_digit(event: Event, channel_id: str, allowed: str | None) -> bool:
    return (
        isinstance(event, ChannelDtmfReceived)
        and event.channel.id == channel_id
        and (allowed is None or event.digit in allowed)
    )
