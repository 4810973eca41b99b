"""Agent legs: ring an agent's softphone or mobile with a masked caller ID, whisper, accept, or report no answer.

The leg's channel id is chosen before the originate and attached to the citizen's call (calls/legs.py), so the
leg's events land in that call's mailbox. The dialer never touches the citizen's channel. A leg that is not
accepted (no answer, refused, or its ring cancelled because another agent won) is hung up before `ring` returns.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import structlog

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, ResourceGone, quietly
from callcontrol.ari.media import media_uri
from callcontrol.ari.models import ChannelDtmfReceived, Event, PlaybackFinished, StasisStart
from callcontrol.calls.legs import AGENT_LEG, PublicIdentity, leg_args, new_leg_id
from callcontrol.calls.port import END_EVENTS, RoutedCall, is_about
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.state.models import AgentRecord, Device

log = structlog.get_logger("callcontrol.routing")

WHISPER_MAX_SECONDS = 60.0


class LegResult(StrEnum):
    ACCEPTED = "accepted"
    NO_ANSWER = "no_answer"  # rang out, busy, refused, or a mobile answered without pressing 1
    FAILED = "failed"  # could not even place the call (unknown endpoint, Asterisk error)


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
    ) -> Leg:
        """Ring one agent; returns once the leg is accepted (and still up) or has failed. Never raises ARI errors.
        `on_dialled(agent_id)` runs as soon as Asterisk accepted the originate (the phone is being called).
        Cancelled (another agent took the call), the leg is hung up on the way out."""
        endpoint = self.endpoint(agent, device)
        if endpoint is None:
            log.warning("agent_device_missing", agent=agent.id, device=device.value)
            return Leg(agent.id, "", device, LegResult.FAILED)
        leg_id = new_leg_id(call.call_id, AGENT_LEG)
        call.attach_leg(leg_id)
        log.info("agent_ringing", agent=agent.id, device=device.value, leg=leg_id, hotline=hotline.id)
        accepted = False
        try:
            try:
                await self._ari.originate(
                    endpoint,
                    channel_id=leg_id,
                    app_args=leg_args(AGENT_LEG, call.call_id),
                    caller_id=self.caller_id(call, hotline, device),
                    timeout=max(1, round(hotline.ring_timeout)),
                    originator=call.channel_id,
                )
            except AriError as exc:
                log.warning("agent_originate_failed", agent=agent.id, error=exc.message)
                return Leg(agent.id, leg_id, device, LegResult.FAILED)
            if on_dialled is not None:
                on_dialled(agent.id)
            answered = await call.take(
                lambda e: is_about(e, leg_id, (StasisStart, *END_EVENTS)), timeout=hotline.ring_timeout + 2
            )
            if isinstance(answered, StasisStart):
                accepted = await self._whisper_and_accept(call, leg_id, device, hotline)
            result = LegResult.ACCEPTED if accepted else LegResult.NO_ANSWER
            return Leg(agent.id, leg_id, device, result, answered=isinstance(answered, StasisStart))
        finally:
            if not accepted:  # rang out, refused, or cancelled because another leg won: never leave it open
                await quietly(self._ari.hangup(leg_id))

    async def dismiss(self, leg: Leg) -> None:
        """An accepted leg that is not needed after all (another agent took the call in the same instant)."""
        log.info("agent_leg_dismissed", agent=leg.agent_id, leg=leg.channel_id)
        await quietly(self._ari.hangup(leg.channel_id))

    async def _whisper_and_accept(
        self, call: RoutedCall, leg_id: str, device: Device, hotline: HotlineRouting
    ) -> bool:
        """Softphone: the whisper names the hotline, then the bridge. Mobile: the agent must press 1, so that a
        personal voicemail answering counts as no answer and never hears (or keeps) the citizen."""
        whisper = list(hotline.whisper) or [f"callcontrol/hotline-{hotline.id}"]
        media = whisper + (list(hotline.accept_prompt) if device is Device.MOBILE else [])
        try:
            playback_id = uuid.uuid4().hex
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
