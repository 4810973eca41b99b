"""Hotline routing as the flows see it (flows.ports.Enqueuer): put a citizen in a hotline and return how the
queue let go of the call. The stages live in their own modules: waiting.py (music, announcements, hours),
offer.py (ring the claimed agents), conversation.py (bridge, wrap-up), resume.py (adoption after a restart).

Outcomes (the flow's `enqueue.on` table branches on them): answered, closed, timeout, full, unavailable,
callback (the citizen will be called back at their place: routing/callback_offer.py).

Redis unreachable (or failed less than a few seconds ago: state/health.py): the **degraded route**. The citizen is
handed back at once to the dialplan context `degraded.context` (the on-call phone, then voicemail) and the call
is over for callcontrol (CallEnded); without one configured, the flow's `unavailable` branch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

import structlog
from redis.exceptions import RedisError

from callcontrol import numbers
from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError
from callcontrol.calls.errors import CallEnded
from callcontrol.calls.port import RoutedCall
from callcontrol.clock import Clock
from callcontrol.routing.callback_offer import CallbackOffers
from callcontrol.routing.conversation import Conversations
from callcontrol.routing.dialer import Dialer
from callcontrol.routing.distributor import Distributor
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.routing.offer import OfferDesk, SoftphoneReach
from callcontrol.routing.ports import AlwaysOpen, HotlineHours
from callcontrol.routing.relief import Reliefs
from callcontrol.routing.resume import Resumer
from callcontrol.routing.waiting import WaitingRoom
from callcontrol.state.errors import NobodyReachable, QueueFull, StateError
from callcontrol.state.health import OUTAGE_ERRORS, RedisHealth, describe
from callcontrol.state.layer import StateLayer

log = structlog.get_logger("callcontrol.routing")

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
        hours: HotlineHours | None = None,
        reach: SoftphoneReach | None = None,
        health: RedisHealth | None = None,
        degraded_context: str = "",
        callbacks: CallbackOffers | None = None,
    ):
        self._state = state
        self._callbacks = callbacks
        self._health = health or RedisHealth()
        self._degraded_context = degraded_context
        self._hotlines = hotlines
        self._instance = instance_id
        self._hours = hours or AlwaysOpen()
        self.conversations = Conversations(ari=ari, state=state, clock=clock)
        reliefs = Reliefs(state, clock.zone)
        offers = OfferDesk(state=state, dialer=dialer, instance_id=instance_id, reach=reach, reliefs=reliefs)
        self.waiting = WaitingRoom(
            ari=ari,
            state=state,
            distributor=distributor,
            offers=offers,
            conversations=self.conversations,
            hours=self._hours,
            callbacks=callbacks,
        )
        self.resumer = Resumer(
            ari=ari,
            state=state,
            hotlines=hotlines,
            waiting=self.waiting,
            conversations=self.conversations,
            instance_id=instance_id,
            clock=clock,
        )

    def attach(self, task_group: asyncio.TaskGroup) -> None:
        self.conversations.attach(task_group)

    def shutdown(self) -> None:
        self.conversations.shutdown()

    async def enqueue(self, call: RoutedCall, hotline_id: str) -> str:  # type: ignore[override]
        hotline = self._hotlines[hotline_id]
        call.facts.hotline = hotline_id
        result = await self._enqueue(call, hotline)
        call.facts.queue_result = result
        return result

    async def callback(self, call: RoutedCall, hotline_id: str) -> str:  # type: ignore[override]
        """The flow's `callback` verb (an overflow target): the number first, then a callback entry as of the call's
        start (its place among those who called after it). "kept", or "declined" (no number, Redis away)."""
        hotline = self._hotlines[hotline_id]
        call.facts.hotline = hotline_id
        if self._callbacks is None or hotline.callback is None:
            return "declined"
        if call.answered_at is None:
            await call.answer()
        call.note("callback:asked", hotline=hotline_id)
        number = await self._callbacks.number(call, hotline)
        if number is None:
            return "declined"
        try:
            await self._state.queues.enqueue(
                call.call_id, hotline.id, priority=hotline.priority, owner=self._instance,
                caller_masked=numbers.mask(call.caller_raw), now=self._callbacks.arrival(call),
                started_at=call.started_at, path=[{"at": p.at, "step": p.step, **p.detail} for p in call.path],
            )  # fmt: skip
        except (StateError, RedisError) as exc:
            log.warning("callback_enqueue_failed", hotline=hotline_id, error=str(exc) or type(exc).__name__)
            return "declined"
        kept = False
        try:
            kept = await self._callbacks.keep(call, hotline, number)
        finally:
            if not kept:
                await self.waiting.leave(call.call_id)
        if kept:
            call.facts.queue_result = "callback"
        return "kept" if kept else "declined"

    async def resume(self, call: RoutedCall) -> bool:
        """An adopted call carries on where Redis says it was; False when it was in the IVR (flow runs again)."""
        return await self.resumer.resume(call)

    async def _enqueue(self, call: RoutedCall, hotline: HotlineRouting) -> str:
        closed = await self._hours.closed_reason(hotline)
        if closed is not None:
            call.note("queue:closed", hotline=hotline.id, reason=closed)
            return "closed"
        if self._health.down:  # failed a moment ago: do not make this citizen wait for it again
            return await self._degrade(call, hotline.id, "Redis unreachable (failed moments ago)")
        # "Anyone there to answer?" (overflow_when_nobody): a citizen not answered yet is checked before the answer
        # (nobody there: not even answered); an answered one in the enqueue script itself, one round trip less.
        if hotline.overflow_when_nobody and call.answered_at is None:
            try:
                async with self._health.guard():
                    nobody = not await self._anyone_reachable(hotline.id)
            except RedisError as exc:
                return await self._degrade(call, hotline.id, describe(exc))
            except StateError as exc:
                return _state_unavailable(hotline.id, exc)
            if nobody:
                return await self._nobody(call, hotline)
        if call.answered_at is None:
            await call.answer()
        loop = asyncio.get_running_loop()
        enqueued_at = loop.time()
        try:
            async with self._health.guard():
                # Its own first claim rides with the enqueue (one round trip): an agent free now is rung sooner.
                position, first = await self._state.queues.enqueue_and_claim(
                    call.call_id,
                    hotline.id,
                    hotline.strategy,
                    priority=hotline.priority,
                    owner=self._instance,
                    max_length=hotline.max_length or None,
                    caller_masked=numbers.mask(call.caller_raw),
                    started_at=call.started_at,  # kept for an instance that adopts the call (routing/resume.py)
                    path=[{"at": p.at, "step": p.step, **p.detail} for p in call.path],
                    require_reachable=hotline.overflow_when_nobody,
                )
        except NobodyReachable:
            return await self._nobody(call, hotline)
        except QueueFull:
            call.note("queue:full", hotline=hotline.id)
            return "full"
        except RedisError as exc:
            # A slow Redis may still have queued it: never leave an entry nobody follows at a queue's head.
            await self._leave_quietly(call.call_id)
            return await self._degrade(call, hotline.id, describe(exc))
        except StateError as exc:
            return _state_unavailable(hotline.id, exc)
        except asyncio.CancelledError:
            if call.hung_up:  # she left during the round trip: neither her entry nor the agents its claim
                await self._leave_quietly(call.call_id)  # reserved may stay (callcontrol stopping: adopted later)
            raise
        queued_at = loop.time()  # routing may start: the latency of a first offer counts from here
        call.note("queue:waiting", hotline=hotline.id, position=position)
        try:
            return await self.waiting.wait(call, hotline, enqueued_at, queued_at, first=first)
        except OUTAGE_ERRORS as exc:  # what the wait could not ride out (it does a failover's seconds)
            if call.hung_up:
                raise
            return await self._degrade(call, hotline.id, describe(exc))

    async def _leave_quietly(self, call_id: str) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._health.timeout):
                await self._state.queues.leave(call_id)

    async def _nobody(self, call: RoutedCall, hotline: HotlineRouting) -> str:
        """Nobody could answer (overflow_when_nobody): an on-call hotline escalates, any other says `unavailable`."""
        if hotline.on_call:
            return await self._escalate(call, hotline)
        call.note("queue:unavailable", hotline=hotline.id)
        return "unavailable"

    async def _escalate(self, call: RoutedCall, hotline: HotlineRouting) -> str:
        """Nobody reachable on duty on an on-call hotline (it should never happen: a registration lapsed, a forced
        logout): said loudly, then the duty manager's mobile through the carrier as the town hall, then the
        flow's `unavailable` branch (its fallback message)."""
        target = hotline.escalation
        log.error("on_call_uncovered", hotline=hotline.id, escalation=numbers.mask(target.mobile) if target else None,
                  hint="nobody reachable on duty: hand over or log someone in")
        if target is not None:
            call.note("queue:escalated", hotline=hotline.id)
            if call.answered_at is None:
                await call.answer()
            if await call.transfer(target.mobile, timeout=target.ring_timeout):
                return "answered"
            call.note("queue:escalation_no_answer", hotline=hotline.id)
        call.note("queue:unavailable", hotline=hotline.id)
        return "unavailable"

    async def _degrade(self, call: RoutedCall, hotline_id: str, error: str) -> str:
        """Redis unreachable: the degraded route at once (the call leaves us: CallEnded), else `unavailable`."""
        context = self._degraded_context
        log.error("queue_state_unavailable", hotline=hotline_id, error=error, degraded_route=context or None)
        if not context:
            return "unavailable"
        call.note("queue:degraded", hotline=hotline_id, context=context)
        try:
            await call.hand_back(context)
        except AriError as exc:  # Asterisk refused: the flow's own goodbye rather than nothing
            log.error("degraded_route_failed", context=context, error=exc.message)
            return "unavailable"
        call.facts.queue_result = "degraded"
        raise CallEnded(call.channel_id)

    async def _anyone_reachable(self, hotline_id: str) -> bool:
        # One SCARD of the index the Lua scripts keep (a softphone that is not registered does not count: nobody
        # could answer there); it used to read every member's presence, a cost growing with the agents.
        return await self._state.agents.reachable_count(hotline_id) > 0


def _state_unavailable(hotline_id: str, exc: Exception) -> str:
    """Redis away (or refusing): the flow's `unavailable` branch, never a dropped citizen."""
    log.error("queue_state_unavailable", hotline=hotline_id, error=str(exc) or type(exc).__name__)
    return "unavailable"
