"""Offering a waiting citizen to the agent(s) a claim reserved: ring, first accepted leg wins, no-answer.

A claim (state/queues.py) has already reserved the agents atomically; this rings them, keeps the first leg
accepted, and on no answer counts the misses (auto-pause after `max_misses`) and puts the call back at its place.
The losers of a ring-all stay reserved ("dismissing") until their leg is really gone: an agent who answered hears
"appel déjà pris" first, and no agent is offered a new call while a leg of hers is still up. A mobile that answered
without accepting (its voicemail) is skipped for that citizen from then on; a softphone found unregistered is
marked unreachable and freed without a miss (it was never rung).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import structlog

from callcontrol.calls.legs import AGENT_LEG, new_leg_id
from callcontrol.calls.port import RoutedCall
from callcontrol.routing.dialer import Dialer, Leg, LegResult
from callcontrol.routing.distributor import Offer
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.routing.relief import Reliefs
from callcontrol.state.duty import Relief
from callcontrol.state.errors import CallNotWaiting, StateError
from callcontrol.state.events import CallChanged, CallStage
from callcontrol.state.health import OUTAGE_ERRORS, describe
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import AgentRecord, Claim, Device

log = structlog.get_logger("callcontrol.routing")


class SoftphoneReach(Protocol):
    """Is a softphone registered? (routing/endpoints.AriReachability; None: cannot tell)"""

    async def softphone_registered(self, endpoint: str) -> bool | None: ...


class OfferDesk:
    def __init__(
        self,
        *,
        state: StateLayer,
        dialer: Dialer,
        instance_id: str,
        reach: SoftphoneReach | None = None,
        reliefs: Reliefs | None = None,
    ):
        self._state = state
        self._reliefs = reliefs  # on-call hotlines: a colleague's first call after a handover announces it
        self._dialer = dialer
        self._instance = instance_id
        self._reach = reach
        self._publishing: set[asyncio.Task[None]] = set()  # event publications and dismissals in flight

    async def ring(
        self,
        call: RoutedCall,
        hotline: HotlineRouting,
        offer: Offer,
        tried: list[str],
        enqueued_at: float,
        *,
        on_placing: Callable[[], None] | None = None,
    ) -> Leg | None:
        """Ring the claimed agent(s): the accepted leg (the other agents freed), or None when nobody accepted
        (misses counted, the call back at its place). Every agent rung is added to `tried`. `on_placing`: as
        Asterisk accepts each agent's originate (the citizen's music waits for it)."""
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
            log.info(  # also what the dialer's agent_ringing (debug) says: the agent's device and leg
                "routing_latency",
                hotline=hotline.id,
                agents=list(claim.agent_ids),
                agent=agent_id,
                device=devices.get(agent_id),
                leg=legs.get(agent_id),
                routing_latency_ms=round((loop.time() - offer.triggered_at) * 1000, 1),
                waited=round(loop.time() - enqueued_at, 3),
            )

        rings: dict[asyncio.Task[Leg], str] = {}
        records: dict[str, AgentRecord] = {}
        legs: dict[str, str] = {}  # agent id -> leg id, for every leg dialled
        devices: dict[str, str] = {}  # agent id -> the device rung
        answered: set[str] = set()  # leg ids whose phone answered
        reliefs: dict[str, Relief] = {}  # agent id -> the handover her leg announces
        for agent_id in claim.agent_ids:
            tried.append(agent_id)
            try:
                known = claim.known.get(agent_id)  # read by the claim script itself, else one round trip
                record, presence = known or await self._state.agents.record_and_state(agent_id)
                records[agent_id] = record
                device = presence.device or Device.SOFTPHONE
                devices[agent_id] = device.value
            except (StateError, *OUTAGE_ERRORS) as exc:  # OUTAGE: a failover: not rung, back at her place
                log.warning("agent_lookup_failed", agent=agent_id, error=describe(exc))
                continue
            legs[agent_id] = new_leg_id(call.call_id, AGENT_LEG)
            relief = await self._reliefs.take(agent_id) if self._reliefs and hotline.on_call else None
            if relief is not None:
                reliefs[agent_id] = relief
                log.info("relief_announced", agent=agent_id, relieved=relief.relieved, since=relief.since,
                         hotline=hotline.id)
            preface = {"preface": self._reliefs.media(relief)} if self._reliefs and relief else {}
            ring = self._dialer.ring(
                call, record, device, hotline, on_dialled=on_dialled, leg_id=legs[agent_id], on_answered=answered.add,
                on_placing=on_placing, **preface,
            )
            rings[asyncio.create_task(ring)] = agent_id
        winner, extra = await _first_accepted(rings)
        for agent_id, relief in reliefs.items():
            if self._reliefs and (winner is None or winner.agent_id != agent_id):
                await self._reliefs.put_back(agent_id, relief)  # announced on the call she does take
        if winner is None:
            results = {rings[t]: t.result() for t in rings if not t.cancelled() and t.exception() is None}
            await self._no_answer(call, hotline, claim, results, records)
            return None
        if len(claim.agent_ids) > 1:
            for leg in extra:  # accepted in the same instant as the winner: that agent is not needed
                await self._dialer.tell_taken(leg.channel_id)
            await self._dismiss_losers(call, winner, legs, answered | {leg.channel_id for leg in extra})
        return winner

    async def _dismiss_losers(
        self, call: RoutedCall, winner: Leg, legs: dict[str, str], answered: set[str]
    ) -> None:
        """Ring-all: the agents never dialled are free at once; those whose leg was dialled stay reserved until
        their leg is gone ("appel déjà pris" first for those who answered), then are freed."""
        losers = {a: leg for a, leg in legs.items() if a != winner.agent_id}
        try:
            await self._state.queues.release_ringall(call.call_id, winner.agent_id, keep=losers)
        except StateError as exc:
            log.warning("release_ringall_failed", error=str(exc))
        for agent_id, leg_id in losers.items():
            task = asyncio.get_running_loop().create_task(
                self._dismiss(call, agent_id, leg_id, answered=leg_id in answered)
            )
            self._publishing.add(task)  # held until done
            task.add_done_callback(self._publishing.discard)

    async def _dismiss(self, call: RoutedCall, agent_id: str, leg_id: str, *, answered: bool) -> None:
        """Not part of the call's task: the winner's conversation goes on, and the agent is freed even if the
        citizen hangs up meanwhile."""
        try:
            await self._dialer.dismiss(call, leg_id, answered=answered)
        finally:
            try:
                await self._state.queues.release_dismissed(call.call_id, agent_id)
            except Exception as exc:  # Redis away: the takeover or the next reconcile frees her
                log.warning("release_dismissed_failed", agent=agent_id, error=describe(exc))

    async def _publish(self, event: CallChanged) -> None:
        try:
            await self._state.events.publish(event)
        except Exception as exc:  # an observer missing one ringing is no reason to stop ringing
            log.debug("call_event_not_published", stage=event.stage.value, error=describe(exc))

    async def next_claim(
        self,
        call: RoutedCall,
        hotline: HotlineRouting,
        tried: Sequence[str],
        *,
        on_outage: Callable[[], None] | None = None,
    ) -> Claim | None:
        """After a no-answer: the next free agent at once, if any (those tried are excluded). The no-answer
        published agent_available, so a distributor (ours or another instance's) may have claimed the call
        first: its claim is then on its way to the call's inbox and this finds the call offered (None). A Redis
        outage (a failover): None, and `on_outage` (the distributor's quick retry) is told."""
        try:
            return await self._state.queues.claim_agent_for_call(
                call.call_id, hotline.id, hotline.strategy, exclude=tried, instance=self._instance
            )
        except CallNotWaiting:
            return None
        except OUTAGE_ERRORS as exc:  # a failover: the call waits on; the distributor offers it again soon
            log.warning("claim_failed", hotline=hotline.id, error=describe(exc))
            if on_outage is not None:
                on_outage()
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
                elif leg is not None and leg.result is LegResult.NOT_PLACED:
                    # Asterisk never answered the originate (a storm, a restart): our failure, not her miss.
                    await self._state.queues.release(agent_id)  # freed (the call requeued), no miss counted
                    call.note("agent:not_placed", agent=agent_id)
                    continue
                elif leg is not None and await self._unregistered(records.get(agent_id), leg):
                    await self._state.agents.set_reachable(agent_id, Device.SOFTPHONE, False)
                    await self._state.queues.release(agent_id)  # freed (the call requeued), no miss counted
                    call.note("agent:unreachable", agent=agent_id)
                    log.info("agent_softphone_unreachable", agent=agent_id)
                    continue
                missed = await self._state.queues.release_no_answer(
                    call.call_id, agent_id, max_misses=hotline.max_misses
                )
            except (StateError, *OUTAGE_ERRORS) as exc:  # OUTAGE: the reconcile or a takeover frees her later
                log.warning("release_no_answer_failed", agent=agent_id, error=describe(exc))
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
