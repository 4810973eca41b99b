"""Offering a waiting citizen to the agent(s) a claim reserved: ring, first accepted leg wins, no-answer.

A claim (state/queues.py) has already reserved the agents atomically; this rings them, keeps the first leg
accepted, frees the others (their legs are hung up by the dialer), and on no answer counts the misses
(auto-pause after `max_misses`) and puts the call back at its place. A mobile that answered without accepting
(its voicemail) is skipped for that citizen from then on; a softphone found unregistered is marked unreachable
and freed without a miss (it was never rung).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Protocol

import structlog

from callcontrol.calls.port import RoutedCall
from callcontrol.routing.dialer import Dialer, Leg, LegResult
from callcontrol.routing.distributor import Offer
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.state.errors import CallNotWaiting, StateError
from callcontrol.state.events import CallChanged, CallStage
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import AgentRecord, Claim, Device

log = structlog.get_logger("callcontrol.routing")


class SoftphoneReach(Protocol):
    """Is a softphone registered? (routing/endpoints.AriReachability; None: cannot tell)"""

    async def softphone_registered(self, endpoint: str) -> bool | None: ...


class OfferDesk:
    def __init__(
        self, *, state: StateLayer, dialer: Dialer, instance_id: str, reach: SoftphoneReach | None = None
    ):
        self._state = state
        self._dialer = dialer
        self._instance = instance_id
        self._reach = reach
        self._publishing: set[asyncio.Task[None]] = set()

    async def ring(
        self, call: RoutedCall, hotline: HotlineRouting, offer: Offer, tried: list[str], enqueued_at: float
    ) -> Leg | None:
        """Ring the claimed agent(s): the accepted leg (the other agents freed), or None when nobody accepted
        (misses counted, the call back at its place). Every agent rung is added to `tried`."""
        claim = offer.claim
        loop = asyncio.get_running_loop()
        dialled = False

        def on_dialled(agent_id: str) -> None:
            """When Asterisk accepted an agent leg's originate: `ringing` for whoever follows the call (wallboard,
            metrics), and once per offer the routing latency."""
            nonlocal dialled
            ringing = CallChanged(call.call_id, CallStage.RINGING, hotline.id, agent_id, self._state.store.now())
            task = asyncio.get_running_loop().create_task(self._publish(ringing))
            self._publishing.add(task)  # held until done (a bare task may be garbage-collected mid-flight)
            task.add_done_callback(self._publishing.discard)
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
        records: dict[str, AgentRecord] = {}
        for agent_id in claim.agent_ids:
            tried.append(agent_id)
            try:
                record = records[agent_id] = await self._state.agents.get_record(agent_id)
                device = (await self._state.agents.get_state(agent_id)).device or Device.SOFTPHONE
            except StateError as exc:
                log.warning("agent_lookup_failed", agent=agent_id, error=str(exc))
                continue
            ring = self._dialer.ring(call, record, device, hotline, on_dialled=on_dialled)
            rings[asyncio.create_task(ring)] = agent_id
        winner, extra = await _first_accepted(rings)
        for leg in extra:  # accepted in the same instant as the winner: that agent is not needed
            await self._dialer.dismiss(leg)
        if winner is None:
            legs = {rings[t]: t.result() for t in rings if not t.cancelled() and t.exception() is None}
            await self._no_answer(call, hotline, claim, legs, records)
            return None
        if len(claim.agent_ids) > 1:  # ring-all: the others are free again at once (their legs are hung up)
            await self._state.queues.release_ringall(call.call_id, winner.agent_id)
        return winner

    async def _publish(self, event: CallChanged) -> None:
        try:
            await self._state.events.publish(event)
        except Exception as exc:  # an observer missing one ringing is no reason to stop ringing
            log.debug("call_event_not_published", stage=event.stage.value, error=str(exc) or type(exc).__name__)

    async def next_claim(self, call: RoutedCall, hotline: HotlineRouting, tried: Sequence[str]) -> Claim | None:
        """After a no-answer: the next free agent at once, if any (those tried are excluded). The no-answer
        published agent_available, so a distributor (ours or another instance's) may have claimed the call
        first: its claim is then on its way to the call's inbox and this finds the call offered (None)."""
        try:
            return await self._state.queues.claim_agent_for_call(
                call.call_id, hotline.id, hotline.strategy, exclude=tried, instance=self._instance
            )
        except CallNotWaiting:
            return None

    async def _no_answer(
        self,
        call: RoutedCall,
        hotline: HotlineRouting,
        claim: Claim,
        legs: Mapping[str, Leg],
        records: Mapping[str, AgentRecord],
    ) -> None:
        for agent_id in claim.agent_ids:
            leg = legs.get(agent_id)
            try:
                if leg is not None and leg.device is Device.MOBILE and leg.answered:
                    # Answered without accepting: her voicemail. Ringing her again for this citizen would only
                    # loop into the voicemail until she is auto-paused; skipped first, before she is free again.
                    await self._state.queues.skip_agent(call.call_id, agent_id)
                    call.note("agent:skipped", agent=agent_id, reason="voicemail")
                elif leg is not None and await self._unregistered(records.get(agent_id), leg):
                    await self._state.agents.set_reachable(agent_id, Device.SOFTPHONE, False)
                    await self._state.queues.release(agent_id)  # freed (the call requeued), no miss counted
                    call.note("agent:unreachable", agent=agent_id)
                    log.info("agent_softphone_unreachable", agent=agent_id)
                    continue
                missed = await self._state.queues.release_no_answer(
                    call.call_id, agent_id, max_misses=hotline.max_misses
                )
            except StateError as exc:
                log.warning("release_no_answer_failed", agent=agent_id, error=str(exc))
                continue
            call.note("agent:no_answer", agent=agent_id, missed=missed.missed)
            if missed.auto_paused:
                log.info("agent_paused_no_answer", agent=agent_id, missed=missed.missed)

    async def _unregistered(self, record: AgentRecord | None, leg: Leg) -> bool:
        """A softphone leg that never answered, whose endpoint Asterisk says is not registered (not a miss)."""
        if self._reach is None or record is None or not record.softphone:
            return False
        if leg.device is not Device.SOFTPHONE or leg.answered:
            return False
        return await self._reach.softphone_registered(record.softphone) is False


async def _first_accepted(rings: dict[asyncio.Task[Leg], str]) -> tuple[Leg | None, list[Leg]]:
    """Wait for the first accepted leg; the rings still going are cancelled (their legs hung up). Also returns
    the legs accepted in the same instant as the winner, which the caller must dismiss."""
    winner: Leg | None = None
    extra: list[Leg] = []
    try:
        pending = set(rings)
        while pending and winner is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                leg = task.result()
                if leg.result is LegResult.ACCEPTED:
                    if winner is None:
                        winner = leg
                    else:
                        extra.append(leg)
    finally:
        for task in rings:
            if not task.done():
                task.cancel()
        await asyncio.gather(*rings, return_exceptions=True)
    return winner, extra
