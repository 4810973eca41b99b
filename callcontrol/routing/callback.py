"""Calling a citizen back at their turn: the agent first (whisper "rappel de l'usager, <hotline>"), then the citizen
through the carrier with the public number as caller ID; retries with a delay; late or failed -> a ticket.

A kept callback is a queue entry with no channel, owned by every instance together (state/callbacks.py): any
live instance's distributor may claim it, and hands the claim here. Its agent is called on a channel of its own
(Stasis kind `callback`, arguments `callback,<entry id>`): once she answers, the dispatcher starts a call task
for that channel and `serve` runs the callback inside it, so the citizen's leg is a transfer leg of that call
(calls/legs.py) and a restarted instance finds it again. routing/callback_upkeep.py brings retries back to their
place, turns callbacks past their deadline into tickets, and puts back callbacks an instance died with.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace

import structlog

from callcontrol import numbers
from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, ResourceGone, quietly
from callcontrol.ari.media import media_uri
from callcontrol.ari.models import ChannelDtmfReceived, Event, PlaybackFinished, StasisStart
from callcontrol.calls.legs import TRANSFER_LEG, PublicIdentity, is_leg_of, leg_args, new_leg_id
from callcontrol.calls.port import END_EVENTS, RoutedCall, is_about
from callcontrol.routing.callback_upkeep import CallbackEnds
from callcontrol.routing.dialer import Dialer
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.state.callbacks import CallbackRecord
from callcontrol.state.errors import StateError
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import CallStatus, Claim, Device

log = structlog.get_logger("callcontrol.routing")

CALLBACK_KIND = "callback"  # the Stasis kind of a callback's agent channel
PROMPT_WHISPER = "callcontrol/callback-whisper"  # "Rappel de l'usager." (then the hotline's name)
PROMPT_NOT_REACHED = "callcontrol/callback-not-reached"  # to the agent: "L'usager n'a pas répondu."
POLL_SECONDS = 0.25  # how often a ringing agent channel is looked at (its events reach no call task yet)
WHISPER_MAX_SECONDS = 30.0

Release = Callable[[str, HotlineRouting, float], Awaitable[None]]  # routing/conversation.py Conversations.release


@dataclass
class _Pending:
    claim: Claim
    record: CallbackRecord
    hotline: HotlineRouting
    device: Device
    answered: asyncio.Event = field(default_factory=asyncio.Event)


class CallbackDesk:
    def __init__(
        self,
        *,
        ari: AriClient,
        state: StateLayer,
        dialer: Dialer,
        identity: PublicIdentity,
        hotlines: Mapping[str, HotlineRouting],
        release: Release,
        ends: CallbackEnds,
    ):
        self._ari = ari
        self._state = state
        self._dialer = dialer
        self._identity = identity
        self._hotlines = hotlines
        self._release = release
        self._ends = ends
        self._pending: dict[str, _Pending] = {}  # agent channel id -> the callback it rings for
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------------------------------ the agent

    def start(self, claim: Claim) -> None:
        """A claim for a kept callback (from the distributor): ring its agent, in a task of its own."""
        task = asyncio.get_running_loop().create_task(self._ring_agent(claim), name=f"callback-{claim.call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ring_agent(self, claim: Claim) -> None:
        entry, agent_id = claim.call_id, claim.agent_id
        hotline = self._hotlines[claim.hotline]
        leg_id = ""
        try:
            if len(claim.agent_ids) > 1:  # ring_all: one agent is enough to call a citizen back
                await self._state.queues.release_ringall(entry, agent_id)
            record = await self._state.callbacks.get(entry)
            agent = await self._state.agents.get_record(agent_id)
            device = (await self._state.agents.get_state(agent_id)).device or Device.SOFTPHONE
            endpoint = self._dialer.endpoint(agent, device)
            if record is None or endpoint is None:
                log.warning("callback_not_started", call_id=entry, agent=agent_id, known=record is not None)
                await self._state.queues.release(agent_id)
                return
            leg_id = f"{entry}-cb{uuid.uuid4().hex[:6]}"
            pending = self._pending[leg_id] = _Pending(claim, record, hotline, device)
            log.info("callback_agent_ringing", call_id=entry, agent=agent_id, leg=leg_id, attempt=record.attempts + 1)
            await self._ari.originate(
                endpoint,
                channel_id=leg_id,
                app_args=f"{CALLBACK_KIND},{entry}",
                caller_id=self._identity.caller_id(f"rappel {hotline.display_name}"),
                timeout=max(1, round(hotline.ring_timeout)),
            )
            if await self._answered(leg_id, pending, hotline.ring_timeout + 2):
                return  # serve() carries on in the agent channel's call task
            await quietly(self._ari.hangup(leg_id))
            missed = await self._state.queues.release_no_answer(entry, agent_id, max_misses=hotline.max_misses)
            log.info("callback_agent_no_answer", call_id=entry, agent=agent_id, requeued=missed.requeued)
        except asyncio.CancelledError:  # callcontrol stopping: the agent's phone stops, the callback waits again
            with contextlib.suppress(Exception):
                if leg_id:
                    await quietly(self._ari.hangup(leg_id))
                await self._state.queues.release(agent_id)
            raise
        except Exception as exc:
            log.warning("callback_ring_failed", call_id=entry, agent=agent_id, error=str(exc) or type(exc).__name__)
            with contextlib.suppress(Exception):
                await self._state.queues.release(agent_id)  # ringing -> available, the callback back at its place
        finally:
            self._pending.pop(leg_id, None)

    async def _answered(self, leg_id: str, pending: _Pending, timeout: float) -> bool:
        """Until the agent answers (serve() says so) or her channel is gone; the events of a channel no call
        task owns yet reach nobody, so its existence is polled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await pending.answered.wait()
            if pending.answered.is_set():
                return True
            with contextlib.suppress(AriError):  # Asterisk slow to answer: look again at the next poll
                try:
                    await self._ari.channel(leg_id)
                except ResourceGone:
                    return pending.answered.is_set()
        return pending.answered.is_set()

    # ------------------------------------------------------------------------------------------ the call

    async def serve(self, call: RoutedCall) -> None:
        """The dispatcher's handler for kind `callback`: the agent answered; whisper, then call the citizen."""
        entry = call.dialled
        pending = self._pending.get(call.channel_id)
        if pending is None:  # adopted after a restart, or rung by an attempt that gave up meanwhile
            await self._carry_on(call, entry)
            return
        pending.answered.set()
        hotline, record, agent_id = pending.hotline, pending.record, pending.claim.agent_id
        call.facts.hotline = hotline.id
        call.facts.agent = agent_id
        call.facts.device = pending.device.value
        call.note("callback:agent_answered", agent=agent_id, hotline=hotline.id)
        progress = {"connected": False, "settled": False}
        connected_at = self._state.store.now()

        async def finish() -> None:
            """However the agent's call ends: she is freed; an attempt left unsettled counts as not reached."""
            if not progress["connected"]:
                await self._state.queues.release_no_answer(entry, agent_id, max_misses=hotline.max_misses)
                return
            if not progress["settled"]:
                await self._settle_failed(entry)
            await self._release(agent_id, hotline, connected_at)

        call.on_cleanup(finish)
        if not await self._whisper(call, hotline, pending.device):
            await call.hangup("normal")
            return
        await self._state.queues.connect(entry, agent_id)
        progress["connected"] = True
        connected_at = self._state.store.now()
        leg_id = await self._call_citizen(call, record, hotline)
        progress["settled"] = True
        if leg_id is None:
            result = await self._settle_failed(entry)
            call.note("callback:not_reached", result=result)
            call.note(f"callback:{result}", hotline=hotline.id)  # retry, or the end: failed, late
            await call.play([PROMPT_NOT_REACHED])
            await call.hangup("normal")
            return
        await self._state.callbacks.done(entry)  # the number is not kept any longer than needed
        call.facts.reached = True
        call.note("callback:connected", agent=agent_id, hotline=hotline.id, attempt=record.attempts + 1)
        call.note("callback:done", hotline=hotline.id)
        await self._ends.ended("done", replace(record, attempts=record.attempts + 1))
        await call.wait_channel_end(leg_id)
        call.note("callback:citizen_hung_up")

    async def _whisper(self, call: RoutedCall, hotline: HotlineRouting, device: Device) -> bool:
        """"Rappel de l'usager, <hotline>" to the agent; a mobile must press 1 after it (its voicemail never does)."""
        media = [PROMPT_WHISPER, *(hotline.whisper or [f"callcontrol/hotline-{hotline.id}"])]
        needs_key = device is Device.MOBILE
        if needs_key:
            media += list(hotline.accept_prompt)
        playback_id = f"{call.channel_id}-whisper"
        try:
            await self._ari.play(call.channel_id, [media_uri(m) for m in media], playback_id=playback_id)
        except AriError as exc:
            log.warning("callback_whisper_failed", error=exc.message)
            return not needs_key

        def relevant(event: Event) -> bool:
            return (isinstance(event, PlaybackFinished) and event.playback.id == playback_id) or (
                needs_key and isinstance(event, ChannelDtmfReceived) and event.digit == "1"
            )

        event = await call.take(relevant, timeout=WHISPER_MAX_SECONDS)
        if not needs_key:
            return True
        if isinstance(event, PlaybackFinished):
            event = await call.take(relevant, timeout=hotline.accept_timeout)
        return isinstance(event, ChannelDtmfReceived)

    async def _call_citizen(self, call: RoutedCall, record: CallbackRecord, hotline: HotlineRouting) -> str | None:
        """The citizen's leg through the carrier, from the public number: its id once answered and bridged."""
        settings = hotline.callback
        ring_timeout = settings.ring_timeout if settings else 30.0
        leg_id = new_leg_id(call.call_id, TRANSFER_LEG)
        call.attach_leg(leg_id)
        tone = f"{call.channel_id}-ringback"
        await quietly(self._ari.play(call.channel_id, ["tone:ring"], playback_id=tone))
        call.note("callback:dialling", number=numbers.mask(record.number), attempt=record.attempts + 1)
        try:
            await self._ari.originate(
                self._identity.external(record.number),
                channel_id=leg_id,
                app_args=leg_args(TRANSFER_LEG, call.call_id),
                caller_id=self._identity.caller_id(),
                timeout=max(1, round(ring_timeout)),
            )
        except AriError as exc:
            log.warning("callback_originate_failed", error=exc.message)
            return None
        event = await call.take(lambda e: is_about(e, leg_id, (StasisStart, *END_EVENTS)), ring_timeout + 2)
        await quietly(self._ari.stop_playback(tone))
        if not isinstance(event, StasisStart):
            await quietly(self._ari.hangup(leg_id))
            return None
        bridge = await self._ari.create_bridge("mixing", name=f"cc-cb-{call.call_id}")
        call.on_cleanup(lambda: quietly(self._ari.destroy_bridge(bridge.id)))
        await self._ari.add_channel(bridge.id, [call.channel_id, leg_id])
        return leg_id

    async def _settle_failed(self, entry: str) -> str:
        """An attempt that did not reach the citizen: a retry later, or a ticket (failed, late). Never raises."""
        try:
            attempt = await self._state.callbacks.failed(entry)
        except Exception as exc:
            log.warning("callback_attempt_not_recorded", call_id=entry, error=str(exc) or type(exc).__name__)
            return "unknown"
        log.info("callback_not_reached", call_id=entry, result=attempt.result, attempts=attempt.record.attempts)
        if attempt.result != "retry":
            await self._ends.ended(attempt.result, attempt.record)
        return attempt.result

    async def _carry_on(self, call: RoutedCall, entry: str) -> None:
        """An agent channel of a callback found after a restart: a conversation still up goes on until either side
        hangs up; anything else counts as an attempt that did not reach the citizen."""
        legs = [c for c in await self._ari.channels() if is_leg_of(c.id, call.call_id)]
        for leg in legs:
            call.attach_leg(leg.id)
        up = [leg for leg in legs if leg.state == "Up"]
        try:
            queued = await self._state.queues.get_call(entry)
            history = await self._state.queues.history(entry)
        except StateError:
            await call.hangup("normal")
            return
        if queued.status is CallStatus.OFFERED:  # she answered while nobody followed it: it waits again
            for ringing in queued.agents:
                await self._state.queues.release(ringing)
            await call.hangup("normal")
            return
        agent_id = history.agent if history is not None else None
        hotline = self._hotlines.get(queued.hotline)
        if agent_id and hotline is not None:
            since = (history.connected_at if history else None) or self._state.store.now()
            call.on_cleanup(lambda: self._release(agent_id, hotline, since))
        if up:
            with contextlib.suppress(Exception):
                await self._state.callbacks.done(entry)
            call.note("callback:connected:resumed")
            await call.wait_channel_end(up[0].id)
            return
        await self._settle_failed(entry)
        await call.hangup("normal")

    def shutdown(self) -> None:
        for task in list(self._tasks):  # each frees its ringing agent (the callback waits again at its place)
            task.cancel()
