"""Agent legs: ring an agent's softphone or mobile with a masked caller ID, whisper, accept, or report no answer.

The leg's channel id is chosen before the originate and routed to the citizen's call session, so the leg's
events land in that call's mailbox. The dialer never touches the citizen's channel.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import structlog

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, ResourceGone
from callcontrol.ari.models import (
    ChannelDtmfReceived,
    Event,
    PlaybackFinished,
    StasisStart,
)
from callcontrol.calls.session import END_EVENTS, CallSession, media_uri
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.state.models import AgentRecord, Device

log = structlog.get_logger("callcontrol.routing")

AGENT_LEG = "agent-leg"
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


@dataclass(frozen=True)
class DialPlan:
    """How to reach the public network (mobiles): the carrier endpoint and the official identity."""

    carrier_endpoint: str = "carrier"
    public_number: str = "+33556000000"
    public_name: str = "Mairie"


class Dialer:
    def __init__(self, ari: AriClient, own_channel: Callable[[str, CallSession], None], plan: DialPlan):
        self._ari = ari
        self._own = own_channel  # dispatcher.own(channel_id, session)
        self._plan = plan

    def endpoint(self, agent: AgentRecord, device: Device) -> str | None:
        if device is Device.SOFTPHONE and agent.softphone:
            return f"PJSIP/{agent.softphone}"
        if device is Device.MOBILE and agent.mobile:
            return f"PJSIP/{agent.mobile}@{self._plan.carrier_endpoint}"
        return None

    def caller_id(self, call: CallSession, hotline: HotlineRouting, device: Device) -> str:
        """What the agent's phone shows. Never the agent's own identity; the citizen's number only if allowed."""
        policy = hotline.caller_id_mobile if device is Device.MOBILE else hotline.caller_id_softphone
        name = f"{self._plan.public_name} {hotline.display_name}".strip()
        if policy == "citizen" and call.caller:
            return f'"{name}" <{call.caller}>'
        return f'"{name}" <{self._plan.public_number}>'

    def attach_leg(self, call: CallSession, leg_id: str) -> None:
        """An agent leg of `call` (about to be dialled, or found up after a restart): its events go to the call's
        mailbox, and it is hung up when the call ends."""
        self._own(leg_id, call)
        call.on_cleanup(lambda: self._hangup_quietly(leg_id))

    async def ring(
        self,
        call: CallSession,
        agent: AgentRecord,
        device: Device,
        hotline: HotlineRouting,
        on_dialled: Callable[[str], None] | None = None,
    ) -> Leg:
        """Ring one agent; returns once the leg is accepted (and still up) or has failed. Never raises ARI errors.
        `on_dialled(agent_id)` runs as soon as Asterisk accepted the originate (the phone is being called)."""
        endpoint = self.endpoint(agent, device)
        if endpoint is None:
            log.warning("agent_device_missing", agent=agent.id, device=device.value)
            return Leg(agent.id, "", device, LegResult.FAILED)
        leg_id = f"{call.call_id}-{uuid.uuid4().hex[:8]}"
        self.attach_leg(call, leg_id)
        log.info("agent_ringing", agent=agent.id, device=device.value, leg=leg_id, hotline=hotline.id)
        try:
            await self._ari.originate(
                endpoint,
                channel_id=leg_id,
                app_args=f"{AGENT_LEG},{call.call_id}",
                caller_id=self.caller_id(call, hotline, device),
                timeout=max(1, round(hotline.ring_timeout)),
                originator=call.channel.id,
            )
        except AriError as exc:
            log.warning("agent_originate_failed", agent=agent.id, error=exc.message)
            return Leg(agent.id, leg_id, device, LegResult.FAILED)
        if on_dialled is not None:
            on_dialled(agent.id)

        answered = await call.mailbox.take(
            lambda e: _is_leg(e, leg_id, (StasisStart, *END_EVENTS)),
            timeout=hotline.ring_timeout + 2,
        )
        if not isinstance(answered, StasisStart):
            await self._hangup_quietly(leg_id)
            return Leg(agent.id, leg_id, device, LegResult.NO_ANSWER)
        accepted = await self._whisper_and_accept(call, leg_id, device, hotline)
        result = LegResult.ACCEPTED if accepted else LegResult.NO_ANSWER
        if not accepted:
            await self._hangup_quietly(leg_id)
        return Leg(agent.id, leg_id, device, result)

    async def _whisper_and_accept(
        self, call: CallSession, leg_id: str, device: Device, hotline: HotlineRouting
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
        ended = END_EVENTS

        def relevant(event: Event) -> bool:
            return (
                _is_leg(event, leg_id, ended)
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
            event = await call.mailbox.take(relevant, timeout=timeout)
            if event is None or _is_leg(event, leg_id, ended):
                return False
            if isinstance(event, PlaybackFinished):
                whisper_done = True
                deadline = loop.time() + hotline.accept_timeout  # the time to press 1 starts after the whisper
            elif needs_key and isinstance(event, ChannelDtmfReceived) and event.digit == "1":
                await self._stop_quietly(playback_id)
                return True

    async def _hangup_quietly(self, channel_id: str) -> None:
        try:
            await self._ari.hangup(channel_id)
        except AriError:
            pass

    async def _stop_quietly(self, playback_id: str) -> None:
        try:
            await self._ari.stop_playback(playback_id)
        except AriError:
            pass


def _is_leg(event: Event | None, leg_id: str, kinds: tuple[type[Event], ...]) -> bool:
    return isinstance(event, kinds) and leg_id in event.channel_ids()
