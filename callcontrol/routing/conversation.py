"""The citizen and the agent talking: the bridge, the end of the call, the agent's release and wrap-up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from redis.exceptions import RedisError

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, quietly
from callcontrol.calls.port import RoutedCall
from callcontrol.clock import Clock
from callcontrol.routing.dialer import Leg, hang_up_until_gone
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.state.errors import StateError
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.routing")


class Conversations:
    def __init__(self, *, ari: AriClient, state: StateLayer, clock: Clock):
        self._ari = ari
        self._state = state
        self._clock = clock
        self._task_group: asyncio.TaskGroup | None = None
        self._timers: set[asyncio.Task[None]] = set()

    def attach(self, task_group: asyncio.TaskGroup) -> None:
        """Wrap-up timers run as children of the app's TaskGroup."""
        self._task_group = task_group

    def shutdown(self) -> None:
        """Stop the wrap-up timers (claims treat an expired wrap-up as free, so nothing is lost)."""
        for task in list(self._timers):
            task.cancel()

    async def converse(
        self, call: RoutedCall, hotline: HotlineRouting, leg: Leg, *, music: Awaitable[None] | None = None,
        on_connected: Callable[[], None] | None = None,
    ) -> bool:
        """Bridge citizen and agent until the agent hangs up (the citizen hanging up ends the call's task); the
        agent then goes to wrap-up. False when the agent's leg was gone before the bridge took it (she hung up in
        the whisper's last instant): she is freed and the citizen is back at their place, music on.
        A plain mixing bridge: nothing reads digits during a conversation, so Asterisk may bridge the two legs'
        RTP natively (`dtmf_events` would keep every frame in its core; the phones' own RFC 4733 digits still pass
        end to end). The citizen and the agent are bridged first and connected in Redis after, so that a leg lost
        on the way leaves the agent merely ringing (freed, the call requeued) rather than half connected.
        `on_connected` runs once both are in the bridge (from then on the call never waits again)."""
        agent_id = leg.agent_id
        connected_at = self._clock.time()
        stage = "offered"  # offered -> connected, or lost; "over" once the agent hung up

        async def free_agent() -> None:
            """Registered before the first await: the citizen may hang up at any point from here on (during the
            whisper's last instant, the bridge...) and the agent must still be freed, but only once her leg is
            gone, so that her next call cannot ring while this one is still up."""
            if stage == "lost":
                return
            if stage != "over":
                await hang_up_until_gone(self._ari, leg.channel_id, call.leg_destroyed)
            if stage == "offered":  # gone before the conversation: out of the queue, the ringing agent freed
                await quietly_state(self._state.queues.leave(call.call_id), "queue_leave_failed")
                return
            await self.release(agent_id, hotline, connected_at)

        call.on_cleanup(free_agent)
        if music is not None:
            await music  # never stopped before it started
        bridge = await self._ari.create_bridge("mixing", name=f"cc-{call.call_id}")
        call.on_cleanup(lambda: quietly(self._ari.destroy_bridge(bridge.id)))
        await quietly(self._ari.stop_moh(call.channel_id))
        try:
            await self._ari.add_channel(bridge.id, [call.channel_id, leg.channel_id])
        except AriError as exc:
            if call.hung_up:
                raise
            stage = "lost"
            log.warning("agent_leg_lost_before_bridge", agent=agent_id, error=exc.message)
            call.note("agent:lost", agent=agent_id)
            await hang_up_until_gone(self._ari, leg.channel_id, call.leg_destroyed)
            await quietly_state(self._state.queues.release(agent_id), "agent_release_failed")  # the call requeued
            await quietly(self._ari.destroy_bridge(bridge.id))
            return False
        stage = "connected"
        if on_connected is not None:
            on_connected()
        try:
            await self._state.queues.connect(call.call_id, agent_id)
        except (StateError, RedisError) as exc:  # they talk already (Redis away too): the release puts it right
            log.warning("agent_connect_refused", agent=agent_id, error=str(exc) or type(exc).__name__)
        # Answered only once both are in the bridge: a citizen gone before has not talked to anyone.
        call.facts.agent = agent_id
        call.facts.device = leg.device.value
        call.note("connected", agent=agent_id, device=leg.device.value, hotline=hotline.id)
        await call.wait_channel_end(leg.channel_id)
        stage = "over"
        call.note("agent_hung_up", agent=agent_id)
        return True

    async def carry_on(
        self,
        call: RoutedCall,
        hotline: HotlineRouting,
        agent_id: str,
        bridge_id: str | None,
        leg_id: str,
        connected_at: float | None = None,
    ) -> None:
        """A conversation found up after a restart: keep its bridge, watch the agent's leg, release after
        (`connected_at`: when the previous instance connected it, for the handling time)."""
        since = connected_at or self._clock.time()
        call.attach_leg(leg_id)
        call.on_cleanup(lambda: self.release(agent_id, hotline, since))
        if bridge_id:
            call.on_cleanup(lambda: quietly(self._ari.destroy_bridge(bridge_id)))
        call.facts.agent = agent_id
        call.note("connected:resumed", agent=agent_id, hotline=hotline.id)
        await call.wait_channel_end(leg_id)
        call.note("agent_hung_up", agent=agent_id)

    async def release(self, agent_id: str, hotline: HotlineRouting, connected_at: float) -> None:
        """The agent's call is over: wrap-up (then available), or available at once. Never raises."""
        handled = self._clock.time() - connected_at
        try:
            await self._state.queues.release(agent_id, wrap_up_seconds=hotline.wrap_up)  # records handling time
        except (StateError, RedisError) as exc:
            log.warning("agent_release_failed", agent=agent_id, error=str(exc) or type(exc).__name__)
            return
        log.info("agent_released", agent=agent_id, handled=round(handled, 1), wrap_up=hotline.wrap_up)
        if hotline.wrap_up > 0 and self._task_group is not None:
            timer = self._task_group.create_task(self._end_wrap_up(agent_id, hotline.wrap_up))
            self._timers.add(timer)
            timer.add_done_callback(self._timers.discard)

    async def _end_wrap_up(self, agent_id: str, after: float) -> None:
        await asyncio.sleep(after)
        try:
            await self._state.agents.end_wrap_up(agent_id)  # publishes agent_available
        except Exception as exc:
            log.warning("end_wrap_up_failed", agent=agent_id, error=str(exc) or type(exc).__name__)


async def quietly_state(operation: Awaitable[object], event: str) -> None:
    """A state change on the way out: Redis away is logged, never raised (the takeover or reconcile catches up)."""
    try:
        await operation
    except (StateError, RedisError) as exc:
        log.warning(event, error=str(exc) or type(exc).__name__)
