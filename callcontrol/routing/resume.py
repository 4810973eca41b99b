"""Adoption after a restart: a call found in Stasis that no task owns carries on where Redis says it was.

- waiting, or an agent was ringing: back at its place in the queue, owned by this instance (old legs hung up);
- connected: keep the bridge, watch the agent's leg, release the agent when it ends;
- unknown to Redis but bridged to a leg of its own (a `transfer`): keep that bridge until either side hangs up;
- otherwise (it was in the IVR): not handled, its flow runs again.

A queued call keeps its real start, its path until it was queued, its agent and connection time (kept with the
queue entry, state/queues.py `history`): its one journal entry covers the whole call, not just the adoption.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

from redis.exceptions import RedisError

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, quietly
from callcontrol.calls.legs import is_leg_of
from callcontrol.calls.port import PathStep, RoutedCall
from callcontrol.clock import Clock
from callcontrol.routing.conversation import Conversations
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.routing.waiting import WaitingRoom
from callcontrol.state.errors import StateError
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import CallStatus, QueuedCall
from callcontrol.state.queues import CallHistory


class Resumer:
    def __init__(
        self,
        *,
        ari: AriClient,
        state: StateLayer,
        hotlines: Mapping[str, HotlineRouting],
        waiting: WaitingRoom,
        conversations: Conversations,
        instance_id: str,
        clock: Clock,
    ):
        self._ari = ari
        self._state = state
        self._hotlines = hotlines
        self._waiting = waiting
        self._conversations = conversations
        self._instance = instance_id
        self._clock = clock

    async def resume(self, call: RoutedCall) -> bool:
        """Carry an adopted call on; False when there is nothing to carry on (its flow then runs again)."""
        try:
            queued = await self._state.queues.get_call(call.call_id)
        except (StateError, RedisError):  # unknown to Redis (or Redis away): maybe a transfer, else its flow again
            return await self._resume_transfer(call)
        hotline = self._hotlines.get(queued.hotline)
        if hotline is None:
            await self._waiting.leave(call.call_id)
            return False
        call.facts.hotline = hotline.id
        history = await self._restore(call, queued)
        if queued.status is CallStatus.CONNECTED and queued.agents:
            connected_at = history.connected_at if history else None
            return await self._resume_conversation(call, hotline, queued.agents[0], connected_at)
        # Waiting, or an agent was ringing when the previous instance stopped: back at its place, ours now.
        loop = asyncio.get_running_loop()
        enqueued_at = loop.time() - max(self._clock.time() - queued.enqueued_at, 0)  # max_wait keeps counting
        await self._state.queues.adopt(call.call_id, self._instance)
        for leg_id in await self._legs_of(call):
            await quietly(self._ari.hangup(leg_id))
        if queued.status is CallStatus.OFFERED:
            with contextlib.suppress(StateError):
                await self._state.queues.requeue(call.call_id)
        call.note("queue:resumed", hotline=hotline.id, status=queued.status.value)
        call.facts.queue_result = await self._waiting.wait(call, hotline, enqueued_at, loop.time())
        return True

    async def _restore(self, call: RoutedCall, queued: QueuedCall) -> CallHistory | None:
        """The call's start and path before the restart, as its first instance left them with the queue entry."""
        try:
            history = await self._state.queues.history(call.call_id)
        except (StateError, RedisError):
            return None
        if history is None:  # queued by an older version: the journal starts at the adoption
            return None
        call.started_at = history.started_at
        steps = [PathStep(at=float(s["at"]), step=str(s["step"]),
                          detail={k: v for k, v in s.items() if k not in ("at", "step")}) for s in history.path]
        steps.append(PathStep(at=queued.enqueued_at, step="queue:waiting", detail={"hotline": queued.hotline}))
        if history.agent and history.connected_at:
            steps.append(PathStep(at=history.connected_at, step="connected",
                                  detail={"agent": history.agent, "hotline": queued.hotline}))
        call.path[:0] = steps
        return history

    async def _resume_conversation(
        self, call: RoutedCall, hotline: HotlineRouting, agent_id: str, connected_at: float | None = None
    ) -> bool:
        bridge_id, legs = await self._bridge_of(call)
        if not legs:  # the agent's side is gone: free the agent, start the citizen's flow over
            await self._conversations.release(agent_id, hotline, self._clock.time())
            await self._waiting.leave(call.call_id)
            if bridge_id:
                await quietly(self._ari.destroy_bridge(bridge_id))
            return False
        with contextlib.suppress(StateError, RedisError):
            device = (await self._state.agents.get_state(agent_id)).device
            call.facts.device = device.value if device else None
        await self._conversations.carry_on(call, hotline, agent_id, bridge_id, legs[0], connected_at)
        call.facts.queue_result = "answered"
        return True

    async def _resume_transfer(self, call: RoutedCall) -> bool:
        bridge_id, legs = await self._bridge_of(call)
        if not legs:
            return False
        leg_id = legs[0]
        call.attach_leg(leg_id)
        if bridge_id:
            call.on_cleanup(lambda: quietly(self._ari.destroy_bridge(bridge_id)))
        call.note("transfer:resumed")
        await call.wait_channel_end(leg_id)
        return True

    async def _bridge_of(self, call: RoutedCall) -> tuple[str | None, list[str]]:
        """The bridge holding the citizen, and the legs of this call in it."""
        try:
            bridges = await self._ari.bridges()
        except AriError:
            return None, []
        for bridge in bridges:
            if call.channel_id in bridge.channels:
                return bridge.id, [c for c in bridge.channels if is_leg_of(c, call.call_id)]
        return None, []

    async def _legs_of(self, call: RoutedCall) -> list[str]:
        """Legs of this call still up (ringing or whispering when the previous instance stopped)."""
        try:
            channels = await self._ari.channels()
        except AriError:
            return []
        return [c.id for c in channels if is_leg_of(c.id, call.call_id)]
