"""A citizen waiting in a hotline: queued in Redis, music on hold, position announcements, offers to agents,
the bridge once an agent accepts, the agent's release afterwards. Implements flows.ports.Enqueuer.

Outcomes (the flow's `enqueue.on` table branches on them): answered, timeout, full, unavailable.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from collections.abc import Mapping

import structlog
from redis.exceptions import RedisError

from callcontrol import numbers
from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError
from callcontrol.ari.models import PlaybackFinished
from callcontrol.calls.session import CallSession, media_uri
from callcontrol.clock import Clock
from callcontrol.routing.dialer import Dialer, Leg, LegResult
from callcontrol.routing.distributor import Distributor, Offer
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.state.errors import CallNotWaiting, QueueFull, StateError
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import AgentStatus, CallStatus, Claim, Device, Strategy

log = structlog.get_logger("callcontrol.routing")

_REACHABLE = {AgentStatus.AVAILABLE, AgentStatus.RINGING, AgentStatus.ON_CALL, AgentStatus.WRAP_UP}
ANNOUNCE_MAX_SECONDS = 60.0


class HotlineRouter:
    def __init__(
        self,
        *,
        ari: AriClient,
        state: StateLayer,
        distributor: Distributor,
        dialer: Dialer,
        hotlines: Mapping[str, HotlineRouting],
        instance_id: str,
        clock: Clock,
    ):
        self._ari = ari
        self._state = state
        self._distributor = distributor
        self._dialer = dialer
        self._hotlines = hotlines
        self._instance = instance_id
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

    # ------------------------------------------------------------------------------------------ Enqueuer

    async def enqueue(self, call: CallSession, hotline_id: str) -> str:  # type: ignore[override]
        hotline = self._hotlines[hotline_id]
        call.facts["hotline"] = hotline_id
        try:
            nobody = hotline.overflow_when_nobody and not await self._anyone_reachable(hotline_id)
        except (StateError, RedisError) as exc:
            return _state_unavailable(hotline_id, exc)
        if nobody:
            call.note("queue:unavailable", hotline=hotline_id)
            return "unavailable"
        if call.answered_at is None:
            await call.answer()
        loop = asyncio.get_running_loop()
        enqueued_at = loop.time()
        try:
            position = await self._state.queues.enqueue(
                call.call_id,
                hotline_id,
                priority=hotline.priority,
                owner=self._instance,
                max_length=hotline.max_length or None,
                caller_masked=numbers.mask(call.caller_raw),
            )
        except QueueFull:
            call.note("queue:full", hotline=hotline_id)
            return "full"
        except (StateError, RedisError) as exc:
            return _state_unavailable(hotline_id, exc)
        queued_at = loop.time()  # routing may start: the latency of a first offer counts from here
        call.note("queue:waiting", hotline=hotline_id, position=position)
        return await self._wait(call, hotline, enqueued_at, queued_at)

    async def resume(self, call: CallSession) -> str | None:
        """A call adopted after a restart: carry on where Redis says it was. None when Redis knows nothing of it
        (it was still in the IVR): the caller then runs its flow again."""
        try:
            queued = await self._state.queues.get_call(call.call_id)
        except (StateError, RedisError):  # unknown to Redis (or Redis away): maybe a transfer, else its flow again
            return await self._resume_transfer(call)
        hotline = self._hotlines.get(queued.hotline)
        if hotline is None:
            await self._leave_quietly(call.call_id)
            return None
        call.facts["hotline"] = hotline.id
        loop = asyncio.get_running_loop()
        enqueued_at = loop.time() - max(self._clock.time() - queued.enqueued_at, 0)  # max_wait keeps counting
        if queued.status is CallStatus.CONNECTED and queued.agents:
            return await self._resume_conversation(call, hotline, queued.agents[0])
        # Waiting, or an agent was ringing when the previous instance stopped: back at its place, ours now.
        await self._state.queues.adopt(call.call_id, self._instance)
        for leg_id in await self._legs_of(call):
            await _quietly(self._ari.hangup(leg_id))
        if queued.status is CallStatus.OFFERED:
            with contextlib.suppress(StateError):
                await self._state.queues.requeue(call.call_id)
        call.note("queue:resumed", hotline=hotline.id, status=queued.status.value)
        return await self._wait(call, hotline, enqueued_at, loop.time())

    async def _resume_conversation(self, call: CallSession, hotline: HotlineRouting, agent_id: str) -> str | None:
        """The citizen was talking to an agent: keep the bridge, watch both sides, release the agent after."""
        bridge_id, legs = await self._bridge_of(call)
        if not legs:  # the agent's side is gone: free the agent, start the citizen's flow over
            await self._release(agent_id, hotline, self._clock.time())
            await self._leave_quietly(call.call_id)
            if bridge_id:
                await _quietly(self._ari.destroy_bridge(bridge_id))
            return None
        leg_id = legs[0]
        self._dialer.attach_leg(call, leg_id)
        call.on_cleanup(lambda: self._release(agent_id, hotline, self._clock.time()))
        if bridge_id:
            call.on_cleanup(lambda: _quietly(self._ari.destroy_bridge(bridge_id)))
        call.facts["agent"] = agent_id
        call.note("connected:resumed", agent=agent_id, hotline=hotline.id)
        await call.wait_channel_end(leg_id)
        call.note("agent_hung_up", agent=agent_id)
        call.outcome = "answered"
        return "answered"

    async def _resume_transfer(self, call: CallSession) -> str | None:
        """Not a hotline call: if the citizen is bridged to a leg of its own (a `transfer`), keep that bridge
        until either side hangs up. None otherwise (the call was in the IVR: its flow runs again)."""
        bridge_id, legs = await self._bridge_of(call)
        if not legs:
            return None
        leg_id = legs[0]
        self._dialer.attach_leg(call, leg_id)
        if bridge_id:
            call.on_cleanup(lambda: _quietly(self._ari.destroy_bridge(bridge_id)))
        call.note("transfer:resumed")
        await call.wait_channel_end(leg_id)
        return "completed"

    async def _bridge_of(self, call: CallSession) -> tuple[str | None, list[str]]:
        """The bridge holding the citizen, and the agent legs in it (ids start with the call id)."""
        try:
            bridges = await self._ari.bridges()
        except AriError:
            return None, []
        for bridge in bridges:
            if call.channel.id in bridge.channels:
                return bridge.id, [c for c in bridge.channels if c.startswith(f"{call.call_id}-")]
        return None, []

    async def _legs_of(self, call: CallSession) -> list[str]:
        """Agent legs of this call still up (ringing or whispering when the previous instance stopped)."""
        try:
            channels = await self._ari.channels()
        except AriError:
            return []
        return [c.id for c in channels if c.id.startswith(f"{call.call_id}-")]

    async def _wait(self, call: CallSession, hotline: HotlineRouting, enqueued_at: float, queued_at: float) -> str:
        """Music, announcements and offers until an agent took the call or max_wait ran out."""
        loop = asyncio.get_running_loop()
        hotline_id = hotline.id
        inbox = self._distributor.register(call.call_id, hotline_id)
        connected = False
        try:
            await self._moh(call, hotline, on=True)
            await self._distributor.offer_now(hotline_id, queued_at)
            tried: list[str] = []
            deadline = enqueued_at + hotline.max_wait
            next_announce = enqueued_at + hotline.announce_first if hotline.announce_interval else math.inf
            while True:
                now = loop.time()
                if now >= deadline:
                    call.note("queue:timeout", hotline=hotline_id, waited=round(now - enqueued_at, 1))
                    return "timeout"
                offer = await _next(inbox, min(deadline, next_announce) - now)
                if offer is None:
                    if loop.time() >= next_announce:
                        offer = await self._announce(call, hotline, inbox)
                        next_announce = loop.time() + hotline.announce_interval
                    if offer is None:
                        continue
                call.facts["wait"] = round(loop.time() - enqueued_at, 3)
                answered = await self._offer(call, hotline, offer, tried, enqueued_at)
                if answered:
                    connected = True
                    return "answered"
                retry_at = loop.time()
                await self._moh(call, hotline, on=True)
                # No answer: the next free agent at once, if any (the one who missed is excluded). The no-answer
                # published agent_available, so a distributor (ours or another instance's) may have claimed the
                # call first: its claim is then on its way to the inbox and this one finds the call offered.
                try:
                    nxt = await self._state.queues.claim_agent_for_call(
                        call.call_id, hotline_id, hotline.strategy, exclude=tried, instance=self._instance
                    )
                except CallNotWaiting:
                    nxt = None
                if nxt is not None:
                    inbox.put_nowait(Offer(nxt, retry_at))
        finally:
            self._distributor.unregister(call.call_id)
            if not connected and (call.hung_up or not _shutting_down()):
                # The citizen left (or the wait ended): out of the queue at once. When callcontrol itself is
                # stopping, the entry stays: the next instance adopts the call at its place.
                await self._leave_quietly(call.call_id)

    # ------------------------------------------------------------------------------------------ offer

    async def _offer(
        self, call: CallSession, hotline: HotlineRouting, offer: Offer, tried: list[str], enqueued_at: float
    ) -> bool:
        """Ring the claimed agent(s); True once one accepted and the conversation is over (or the call was
        handed over); False when nobody accepted (the call is back at its place in the queue)."""
        claim = offer.claim
        loop = asyncio.get_running_loop()
        dialled = False

        def on_dialled(agent_id: str) -> None:
            """Once per offer, when Asterisk accepted the first agent leg's originate: the routing latency."""
            nonlocal dialled
            if dialled:
                return
            dialled = True
            log.info(
                "routing_latency",
                hotline=hotline.id,
                agents=list(claim.agent_ids),
                agent=agent_id,
                routing_latency_ms=round((loop.time() - offer.triggered_at) * 1000, 1),
                waited=round(loop.time() - enqueued_at, 3),
            )

        rings: dict[asyncio.Task[Leg], str] = {}
        for agent_id in claim.agent_ids:
            tried.append(agent_id)
            try:
                record = await self._state.agents.get_record(agent_id)
                device = (await self._state.agents.get_state(agent_id)).device or Device.SOFTPHONE
            except StateError as exc:
                log.warning("agent_lookup_failed", agent=agent_id, error=str(exc))
                continue
            ring = self._dialer.ring(call, record, device, hotline, on_dialled=on_dialled)
            rings[asyncio.create_task(ring)] = agent_id
        winner: Leg | None = None
        results: list[Leg] = []
        try:
            pending = set(rings)
            while pending and winner is None:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    leg = task.result()
                    results.append(leg)
                    if leg.result is LegResult.ACCEPTED and winner is None:
                        winner = leg
        finally:
            for task in rings:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*rings, return_exceptions=True)
        losers = [agent for agent in claim.agent_ids if winner is None or agent != winner.agent_id]
        if winner is None:
            await self._no_answer(call, hotline, claim, results)
            return False
        if hotline.strategy is Strategy.RING_ALL or len(claim.agent_ids) > 1:
            await self._state.queues.release_ringall(call.call_id, winner.agent_id)
            for leg in results:
                if leg.agent_id in losers and leg.channel_id:
                    await _quietly(self._ari.hangup(leg.channel_id))
        await self._converse(call, hotline, winner)
        return True

    async def _no_answer(self, call: CallSession, hotline: HotlineRouting, claim: Claim, legs: list[Leg]) -> None:
        for agent_id in claim.agent_ids:
            try:
                missed = await self._state.queues.release_no_answer(
                    call.call_id, agent_id, max_misses=hotline.max_misses
                )
            except StateError as exc:
                log.warning("release_no_answer_failed", agent=agent_id, error=str(exc))
                continue
            call.note("agent:no_answer", agent=agent_id, missed=missed.missed)
            if missed.auto_paused:
                log.info("agent_paused_no_answer", agent=agent_id, missed=missed.missed)

    async def _converse(self, call: CallSession, hotline: HotlineRouting, leg: Leg) -> None:
        """Bridge citizen and agent (mixing,dtmf_events: plain mixing bridges swallow DTMF); either side hanging
        up ends the call; the agent goes to wrap-up."""
        agent_id = leg.agent_id
        connected_at = self._clock.time()
        await self._state.queues.connect(call.call_id, agent_id)
        call.on_cleanup(lambda: self._release(agent_id, hotline, connected_at))
        call.facts["agent"] = agent_id
        call.facts["device"] = leg.device.value
        bridge = await self._ari.create_bridge("mixing,dtmf_events", name=f"cc-{call.call_id}")
        call.on_cleanup(lambda: _quietly(self._ari.destroy_bridge(bridge.id)))
        await _quietly(self._ari.stop_moh(call.channel.id))
        await self._ari.add_channel(bridge.id, [call.channel.id, leg.channel_id])
        call.note("connected", agent=agent_id, device=leg.device.value, hotline=hotline.id)
        await call.wait_channel_end(leg.channel_id)
        call.note("agent_hung_up", agent=agent_id)
        call.outcome = "answered"

    async def _release(self, agent_id: str, hotline: HotlineRouting, connected_at: float) -> None:
        handled = self._clock.time() - connected_at
        try:
            await self._state.queues.release(agent_id, wrap_up_seconds=hotline.wrap_up)  # records handling time
        except StateError as exc:
            log.warning("agent_release_failed", agent=agent_id, error=str(exc))
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

    # ------------------------------------------------------------------------------------------ waiting

    async def _anyone_reachable(self, hotline_id: str) -> bool:
        members = [agent for agent, _penalty in await self._state.agents.members(hotline_id)]
        if not members:
            return False
        return any(s.status in _REACHABLE for s in await self._state.agents.states(members))

    async def _moh(self, call: CallSession, hotline: HotlineRouting, *, on: bool) -> None:
        action = self._ari.start_moh(call.channel.id, hotline.moh_class) if on else self._ari.stop_moh(call.channel.id)
        await _quietly(action)

    async def _announce(self, call: CallSession, hotline: HotlineRouting, inbox: asyncio.Queue[Offer]) -> Offer | None:
        """Position (and estimated wait) announcement, between two stretches of music. An offer arriving meanwhile
        cuts it short (an agent is reserved for this citizen: ring at once) and is returned."""
        try:
            position = await self._state.queues.position(call.call_id)
        except StateError:
            return None
        if position == 1:
            media = ["queue-youarenext"]
        else:
            media = ["queue-thereare", f"number:{position - 1}", "queue-callswaiting"]
        estimate = None
        if hotline.announce_wait:
            with contextlib.suppress(StateError):
                estimate = await self._state.journal.estimated_wait(hotline.id, position)
        if estimate:
            media += ["queue-holdtime", f"number:{max(1, round(estimate / 60))}", "queue-minutes"]
        call.note("queue:announce", position=position, estimate=round(estimate) if estimate else None)
        await self._moh(call, hotline, on=False)
        playback_id = uuid.uuid4().hex
        offer: Offer | None = None
        try:
            await self._ari.play(
                call.channel.id, [media_uri(m) for m in media], lang=call.language, playback_id=playback_id
            )
        except AriError as exc:
            log.warning("queue_announce_failed", error=exc.message)
        else:
            finished = asyncio.ensure_future(
                call.mailbox.take(
                    lambda e: isinstance(e, PlaybackFinished) and e.playback.id == playback_id,
                    timeout=ANNOUNCE_MAX_SECONDS,
                )
            )
            offered = asyncio.ensure_future(inbox.get())
            try:
                await asyncio.wait({finished, offered}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (finished, offered):
                    task.cancel()
            if offered.done() and not offered.cancelled():
                offer = offered.result()
                await _quietly(self._ari.stop_playback(playback_id))
        await self._moh(call, hotline, on=True)  # also while the offered agent's phone rings
        return offer

    async def _leave_quietly(self, call_id: str) -> None:
        try:
            await self._state.queues.leave(call_id)
        except Exception as exc:
            log.warning("queue_leave_failed", error=str(exc) or type(exc).__name__)


def _state_unavailable(hotline_id: str, exc: Exception) -> str:
    """Redis away (or refusing): the flow's `unavailable` branch, never a dropped citizen."""
    log.error("queue_state_unavailable", hotline=hotline_id, error=str(exc) or type(exc).__name__)
    return "unavailable"


def _shutting_down() -> bool:
    """This task is being cancelled for a reason other than the caller hanging up (callcontrol stopping)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def _next(inbox: asyncio.Queue[Offer], timeout: float) -> Offer | None:
    try:
        async with asyncio.timeout(max(timeout, 0)):
            return await inbox.get()
    except TimeoutError:
        return None


async def _quietly(awaitable: object) -> None:
    try:
        await awaitable  # type: ignore[misc]
    except AriError:
        pass
