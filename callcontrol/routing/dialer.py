"""Agent legs: ring an agent's softphone or mobile with a masked caller ID, whisper, accept, or report no answer.

The leg's channel id is chosen before the originate and attached to the citizen's call (calls/legs.py), so the
leg's events land in that call's mailbox. The dialer never touches the citizen's channel. A leg that is not
accepted (no answer, refused) is hung up before `ring` returns. A ring cancelled because another agent won hangs
its leg up on the way out, or, when the agent already answered, tells her "appel déjà pris" first (`dismiss`
then hangs the leg up and waits until it is gone, so that she is never offered a call while it is still up).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import structlog

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, AriUnavailable, ResourceGone, quietly
from callcontrol.ari.media import media_uri
from callcontrol.ari.models import ChannelDtmfReceived, Event, PlaybackFinished, StasisStart
from callcontrol.calls.legs import AGENT_LEG, PublicIdentity, leg_args, new_leg_id
from callcontrol.calls.port import END_EVENTS, RoutedCall, is_about
from callcontrol.cancelling import cancel_pending
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.state.models import AgentRecord, Device

log = structlog.get_logger("callcontrol.routing")

WHISPER_MAX_SECONDS = 60.0
ORIGINATE_GRACE_SECONDS = 2.0  # a ring cancelled mid-originate lets it finish, so that the hangup finds the leg
TAKEN_PROMPT = "callcontrol/call-taken"  # "Appel déjà pris.", to an agent who answered a call another one took
TAKEN_PROMPT_MAX_SECONDS = 4.0
LEG_GONE_MAX_SECONDS = 3.0


class LegResult(StrEnum):
    ACCEPTED = "accepted"
    NO_ANSWER = "no_answer"  # rang out, busy, refused, or a mobile answered without pressing 1
    FAILED = "failed"  # could not even place the call (unknown endpoint, Asterisk refused it)
    NOT_PLACED = "not_placed"  # Asterisk did not answer the originate (overloaded, restarting): not her miss


@dataclass(frozen=True)
class Leg:
    agent_id: str
    channel_id: str
    device: Device
    result: LegResult
    answered: bool = False  # the phone answered (a mobile's voicemail too), whether or not the agent accepted


class Dialer:
    def __init__(self, ari: AriClient, identity: PublicIdentity):
        self._ari = ari
        self._identity = identity

    def endpoint(self, agent: AgentRecord, device: Device) -> str | None:
        if device is Device.SOFTPHONE and agent.softphone:
            return f"PJSIP/{agent.softphone}"
        if device is Device.MOBILE and agent.mobile:
            return self._identity.external(agent.mobile)
        return None

    def caller_id(self, call: RoutedCall, hotline: HotlineRouting, device: Device) -> str:
        """What the agent's phone shows. Never the agent's own identity; the citizen's number only if allowed."""
        policy = hotline.caller_id_mobile if device is Device.MOBILE else hotline.caller_id_softphone
        shown = call.caller if policy == "citizen" and call.caller else None
        return self._identity.caller_id(hotline.display_name, shown)

    async def ring(
        self,
        call: RoutedCall,
        agent: AgentRecord,
        device: Device,
        hotline: HotlineRouting,
        on_dialled: Callable[[str], None] | None = None,
        *,
        leg_id: str | None = None,
        on_answered: Callable[[str], None] | None = None,
        on_placing: Callable[[], None] | None = None,
        preface: Sequence[str] = (),
    ) -> Leg:
        """Ring one agent; returns once the leg is accepted (and still up) or has failed. Never raises ARI errors.
        `on_dialled(agent_id)` runs as soon as Asterisk accepted the originate (the phone is being called),
        `on_answered(leg_id)` when the agent's phone answered (before the whisper). Cancelled (another agent took
        the call): a leg not answered is hung up on the way out; an answered one hears "appel déjà pris" and is
        left to `dismiss`, which hangs it up. `preface`: played before the whisper (routing/relief.py).
        `on_placing()` runs once Asterisk accepted the originate, just before `on_dialled` (the citizen's music
        waits for it: started alongside the originate, it made Asterisk slower to send the agent's INVITE)."""
        endpoint = self.endpoint(agent, device)
        if endpoint is None:
            log.warning("agent_device_missing", agent=agent.id, device=device.value)
            return Leg(agent.id, "", device, LegResult.FAILED)
        leg_id = leg_id or new_leg_id(call.call_id, AGENT_LEG)
        call.attach_leg(leg_id)
        # debug: the offer's `routing_latency` info line carries the same agent, device, leg and hotline
        log.debug("agent_ringing", agent=agent.id, device=device.value, leg=leg_id, hotline=hotline.id)
        accepted = answered = False
        originate = asyncio.ensure_future(
            self._ari.originate(
                endpoint,
                channel_id=leg_id,
                app_args=leg_args(AGENT_LEG, call.call_id),
                caller_id=self.caller_id(call, hotline, device),
                timeout=max(1, round(hotline.ring_timeout)),
                originator=call.channel_id,
            )
        )
        late: asyncio.Future[int] | None = None  # an originate that timed out may still be carried out
        try:
            try:
                await asyncio.shield(originate)  # cancelled meanwhile: the originate still ends (see finally)
            except AriError as exc:
                late = exc.late if isinstance(exc, AriUnavailable) else None
                if not await _placed_late(late, hotline.ring_timeout + 2, agent.id, leg_id):
                    log.warning("agent_originate_failed", agent=agent.id, error=exc.message)
                    unplaced = isinstance(exc, AriUnavailable)
                    return Leg(agent.id, leg_id, device, LegResult.NOT_PLACED if unplaced else LegResult.FAILED)
            if on_placing is not None:
                on_placing()
            if on_dialled is not None:
                on_dialled(agent.id)
            event = await call.take(
                lambda e: is_about(e, leg_id, (StasisStart, *END_EVENTS)), timeout=hotline.ring_timeout + 2
            )
            if isinstance(event, StasisStart):
                answered = True
                if on_answered is not None:
                    on_answered(leg_id)
                accepted = await self._whisper_and_accept(call, leg_id, device, hotline, preface)
            result = LegResult.ACCEPTED if accepted else LegResult.NO_ANSWER
            return Leg(agent.id, leg_id, device, result, answered=answered)
        finally:
            if not originate.done():  # a hangup sent before Asterisk created the leg would miss it
                await asyncio.wait({originate}, timeout=ORIGINATE_GRACE_SECONDS)
            if not originate.done():
                originate.cancel()
            elif not originate.cancelled():
                originate.exception()  # retrieved (an AriError here is already logged or irrelevant)
            if late is not None and not late.done() and cancel_pending():  # a late originate may still come
                await asyncio.wait({late}, timeout=ORIGINATE_GRACE_SECONDS)
            if answered and not accepted and cancel_pending():
                await self.tell_taken(leg_id)  # `dismiss` hangs it up once she heard it
            elif not accepted:  # rang out, refused, or cancelled before she answered: never leave it open, and
                # gone before the agent can be freed (else her next call could ring while this one still does)
                await hang_up_until_gone(self._ari, leg_id, call.leg_destroyed)

    async def tell_taken(self, leg_id: str) -> None:
        """The agent answered but another agent took the call: stop the whisper, say "appel déjà pris"."""
        await quietly(self._ari.stop_playback(whisper_id(leg_id)))
        try:
            await self._ari.play(leg_id, [media_uri(TAKEN_PROMPT)], playback_id=taken_id(leg_id))
        except AriError:
            await quietly(self._ari.hangup(leg_id))

    async def dismiss(self, call: RoutedCall, leg_id: str, *, answered: bool) -> None:
        """A leg that lost the race (or was accepted in the same instant as the winner): once the agent heard
        "appel déjà pris" (answered legs), hang it up and wait until Asterisk says it is gone. Never raises."""
        log.info("agent_leg_dismissed", leg=leg_id, answered=answered)
        if answered:
            with contextlib.suppress(Exception):
                await call.take(
                    lambda e: is_about(e, leg_id, END_EVENTS)
                    or (isinstance(e, PlaybackFinished) and e.playback.id == taken_id(leg_id)),
                    timeout=TAKEN_PROMPT_MAX_SECONDS,
                )
        await hang_up_until_gone(self._ari, leg_id, call.leg_destroyed)

    async def _whisper_and_accept(
        self, call: RoutedCall, leg_id: str, device: Device, hotline: HotlineRouting, preface: Sequence[str] = ()
    ) -> bool:
        """Softphone: the whisper names the hotline, then the bridge. Mobile: the agent must press 1, so that a
        personal voicemail answering counts as no answer and never hears (or keeps) the citizen."""
        whisper = list(hotline.whisper) or [f"callcontrol/hotline-{hotline.id}"]
        media = [*preface, *whisper, *(hotline.accept_prompt if device is Device.MOBILE else ())]
        try:
            playback_id = whisper_id(leg_id)
            await self._ari.play(leg_id, [media_uri(m) for m in media], playback_id=playback_id)
        except ResourceGone:
            return False
        except AriError as exc:
            log.warning("agent_whisper_failed", leg=leg_id, error=exc.message)
            playback_id = ""

        def relevant(event: Event) -> bool:
            return (
                is_about(event, leg_id, END_EVENTS)
                or (isinstance(event, ChannelDtmfReceived) and event.channel.id == leg_id)
                or (isinstance(event, PlaybackFinished) and event.playback.id == playback_id)
            )

        needs_key = device is Device.MOBILE
        loop = asyncio.get_running_loop()
        whisper_done = not playback_id
        deadline = loop.time() + hotline.accept_timeout if whisper_done else None
        while True:
            if whisper_done and not needs_key:
                return True
            timeout = WHISPER_MAX_SECONDS if deadline is None else max(deadline - loop.time(), 0)
            event = await call.take(relevant, timeout=timeout)
            if event is None or is_about(event, leg_id, END_EVENTS):
                return False
            if isinstance(event, PlaybackFinished):
                whisper_done = True
                deadline = loop.time() + hotline.accept_timeout  # the time to press 1 starts after the whisper
            elif needs_key and isinstance(event, ChannelDtmfReceived) and event.digit == "1":
                await quietly(self._ari.stop_playback(playback_id))
                return True


async def _placed_late(late: asyncio.Future[int] | None, within: float, agent_id: str, leg_id: str) -> bool:
    """An originate that got no answer in time is still in Asterisk's queue (a storm): wait for its late answer,
    the agent still reserved. True when Asterisk placed the leg after all: it rings now, and it rings for this
    call (freeing her before would let it ring while she takes another one)."""
    if late is None:
        return False
    try:
        status = await asyncio.wait_for(asyncio.shield(late), within)
    except asyncio.CancelledError:
        if cancel_pending():  # our own task (the citizen left, another agent took the call), not a forgotten answer
            raise
        return False
    except (TimeoutError, ConnectionError):  # still no answer, or its websocket closed
        return False
    if status >= 300:
        return False
    log.info("agent_originate_late", agent=agent_id, leg=leg_id)
    return True


async def hang_up_until_gone(ari: AriClient, leg_id: str, gone: Callable[[str], bool] | None = None) -> None:
    """Hang an agent's leg up and return once Asterisk no longer has it (at most LEG_GONE_MAX_SECONDS): only then
    may the agent be offered another call, or her phone would ring while this call is still up. `gone`: the
    call's `leg_destroyed` (its ChannelDestroyed already came: no hangup, no GET). Never raises."""
    if gone is not None and gone(leg_id):
        return
    await quietly(ari.hangup(leg_id))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LEG_GONE_MAX_SECONDS
    while loop.time() < deadline:
        if gone is not None and gone(leg_id):
            return
        try:
            await ari.channel(leg_id)
        except AriError:  # ResourceGone (404): gone; any other error: nothing more to learn
            return
        await asyncio.sleep(0.02)
    log.warning("agent_leg_not_gone", leg=leg_id)


def whisper_id(leg_id: str) -> str:
    return f"{leg_id}-whisper"


def taken_id(leg_id: str) -> str:
    return f"{leg_id}-taken"
