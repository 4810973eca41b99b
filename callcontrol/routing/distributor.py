"""Offers waiting citizens to free agents the moment an agent becomes free: no polling loop.

Every instance listens to the `agent_available` notifications that the state scripts publish, and claims for the
hotlines concerned. A claim only succeeds for the instance that owns the head call (state/queues.py), so each
instance hands the offer to its own waiting call's task through an in-process inbox.

A call of ours can head a queue before its task follows it: between its enqueue and its first wait, or while it is
adopted after a restart or a take-over. A claim for it hands the agents back and keeps the call at its place; its
task asks for offers as it starts waiting. Only a call nobody follows for a few seconds is taken out of the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import structlog

from callcontrol.cancelling import cancel_pending
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.state.callbacks import CALLBACK_OWNER
from callcontrol.state.errors import StateError
from callcontrol.state.events import AgentAvailable, Resubscribed, SwitchboardAsked
from callcontrol.state.health import OUTAGE_ERRORS, describe
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import Claim

log = structlog.get_logger("callcontrol.routing")

SAFETY_SWEEP_SECONDS = 5.0  # re-check hotlines with waiting calls (a lost notification, an expired wrap-up)
NOT_YET_WAITING_SECONDS = 3.0  # how long a call of ours may sit in a queue before its task starts following it
OUTAGE_RETRY_SECONDS = 0.5  # a claim that failed on a Redis outage (a failover) is tried again this soon


@dataclass(frozen=True)
class Offer:
    """A claim handed to the waiting call's task, with the loop time routing started for it: the call's enqueue,
    the agent_available notification that freed an agent, a no-answer retry, or a safety sweep. The router
    logs routing_latency = agent's phone dialled - triggered_at (the wait in queue is logged apart, as `waited`)."""

    claim: Claim
    triggered_at: float


@dataclass(frozen=True)
class Steer:
    """A switchboard request for a waiting call's task (routing/switchboard.py): "move" (its entry is already in
    `hotline`: wait there) or "voicemail" (leave the queue for the flow's mailbox)."""

    action: str
    hotline: HotlineRouting | None = None


Inbox = asyncio.Queue[Offer | Steer]


class Distributor:
    def __init__(self, state: StateLayer, hotlines: Mapping[str, HotlineRouting], instance_id: str):
        self._state = state
        self._hotlines = hotlines
        self._instance = instance_id
        self._offers: dict[str, Inbox] = {}
        self._waiting_hotlines: dict[str, str] = {}  # local call id -> hotline
        self._offered: set[str] = set()  # local calls holding an offer (their agent rings): no claim can serve them
        self._locks: dict[str, asyncio.Lock] = {}
        self._not_yet: dict[str, tuple[str, float]] = {}  # call id -> (hotline, loop time first claimed unfollowed)
        self._callbacks: Callable[[Claim], None] | None = None
        self._callback_hotlines: frozenset[str] = frozenset()
        self._retry_soon = asyncio.Event()  # a claim failed on a Redis outage: sweep soon, not in 5 s

    def serve_callbacks(self, start: Callable[[Claim], None], hotlines: Iterable[str]) -> None:
        """Kept callbacks (no channel, owned by every instance: state/callbacks.py) are claimed here like waiting
        calls and handed to `start` (routing/callback.py); their hotlines are claimed for even with no local call."""
        self._callbacks = start
        self._callback_hotlines = frozenset(hotlines)

    # ------------------------------------------------------------------------------------------ calls

    def register(self, call_id: str, hotline: str) -> Inbox:
        """A local call starts waiting in `hotline`: offers (and switchboard requests) arrive in the returned inbox."""
        inbox: Inbox = asyncio.Queue()
        self._offers[call_id] = inbox
        self._waiting_hotlines[call_id] = hotline
        self._offered.discard(call_id)
        self._not_yet.pop(call_id, None)
        return inbox

    def moved(self, call_id: str, hotline: str) -> None:
        """A local waiting call now waits in `hotline` (switchboard move)."""
        if call_id in self._waiting_hotlines:
            self._waiting_hotlines[call_id] = hotline

    def connected(self, call_id: str) -> None:
        """A local call is talking to its agent (it never waits again): its hotline is no longer claimed for on its
        behalf, so an agent freed elsewhere costs no claim that can only find nobody of ours waiting."""
        self._waiting_hotlines.pop(call_id, None)
        self._offered.discard(call_id)

    def waiting_again(self, call_id: str) -> None:
        """A local call's offer came to nothing (no answer, her leg lost): it waits for an agent again, so an agent
        freed anywhere is claimed for it. Said before the call's own next claim, so that no agent freed meanwhile
        goes unclaimed."""
        self._offered.discard(call_id)

    def unregister(self, call_id: str) -> None:
        self._offers.pop(call_id, None)
        self._waiting_hotlines.pop(call_id, None)
        self._offered.discard(call_id)

    def deliver(self, claim: Claim, triggered_at: float) -> None:
        """A claim for a call of ours that waits here (registered): to its inbox. Also a call's own first claim,
        made with its enqueue (state/queues.py enqueue_and_claim)."""
        log.info("call_offered", call_id=claim.call_id, agents=list(claim.agent_ids), hotline=claim.hotline)
        self._offered.add(claim.call_id)
        self._offers[claim.call_id].put_nowait(Offer(claim, triggered_at))

    def retry_soon(self) -> None:
        """A claim failed on a Redis outage (here or after a no-answer): sweep in OUTAGE_RETRY_SECONDS, not 5 s."""
        self._retry_soon.set()

    async def offer_now(self, hotline: str, triggered_at: float | None = None, *, for_call: str | None = None) -> None:
        """Claim for `hotline` until no free agent or no call of ours is at its head. `triggered_at` (loop time):
        when the reason to look arrived (default: now). `for_call`: a waiting call's own task asking as it starts
        to wait; done once that call is offered (the calls behind it are served as agents become free: a second
        claim would only find none, one Redis script more per call)."""
        settings = self._hotlines.get(hotline)
        if settings is None:
            return
        if triggered_at is None:
            triggered_at = asyncio.get_running_loop().time()
        lock = self._locks.setdefault(hotline, asyncio.Lock())
        async with lock:
            try:
                await self._offer_all(hotline, settings, triggered_at, for_call)
            except OUTAGE_ERRORS as exc:  # a failover, Redis restarting: the calls wait on, a sweep comes soon
                log.warning("claim_failed", hotline=hotline, error=describe(exc), retry_in=OUTAGE_RETRY_SECONDS)
                self.retry_soon()

    async def _offer_all(
        self, hotline: str, settings: HotlineRouting, triggered_at: float, for_call: str | None
    ) -> None:
        while True:
            try:
                claim = await self._state.queues.claim(hotline, settings.strategy, instance=self._instance)
            except StateError as exc:
                log.warning("claim_failed", hotline=hotline, error=str(exc))
                return
            if claim is None:
                return
            if claim.owner == CALLBACK_OWNER and self._callbacks is not None:
                log.info("callback_offered", call_id=claim.call_id, agents=list(claim.agent_ids), hotline=hotline)
                self._callbacks(claim)
                continue
            if claim.call_id not in self._offers:
                if await self._unfollowed(hotline, claim):
                    return
                continue
            self.deliver(claim, triggered_at)
            if claim.call_id == for_call:
                return

    async def _unfollowed(self, hotline: str, claim: Claim) -> bool:
        """A claim for a call of ours that no task here follows. Either its task is about to follow it (just
        enqueued, or being adopted after a restart or a take-over): it goes back at its place, agents freed, and
        the hotline waits for that task, whose first step is to ask for offers (True). Or nobody has followed it
        for NOT_YET_WAITING_SECONDS (its citizen hung up and leaving the queue failed): out of the queue (False)."""
        now = asyncio.get_running_loop().time()
        _hotline, first = self._not_yet.setdefault(claim.call_id, (hotline, now))
        if now - first < NOT_YET_WAITING_SECONDS:
            log.info("claim_for_call_not_yet_waiting", call_id=claim.call_id, agents=list(claim.agent_ids))
            try:
                await self._state.queues.requeue(claim.call_id)
            except StateError:  # left meanwhile: nothing to give back
                self._not_yet.pop(claim.call_id, None)
            return True
        self._not_yet.pop(claim.call_id, None)
        log.info("claim_for_gone_call", call_id=claim.call_id, agents=list(claim.agent_ids))
        await self._state.queues.leave(claim.call_id)
        return False

    def _held(self, hotline: str) -> bool:
        """A call of ours heads this hotline and its task is not following it yet: its task asks for offers
        itself, the safety sweep later (claiming again now would only hand the same agents back and forth)."""
        now = asyncio.get_running_loop().time()
        return any(h == hotline and now - t < NOT_YET_WAITING_SECONDS for h, t in self._not_yet.values())

    # ------------------------------------------------------------------------------------------ loops

    async def run(self) -> None:
        """Follow agent_available on the state events channel forever (state.events reconnects by itself, and
        says so with Resubscribed: then whatever became free while we were not listening is swept)."""
        async for event in self._state.events.listen(AgentAvailable, SwitchboardAsked):
            if isinstance(event, Resubscribed):
                await self._sweep_quietly()
            elif isinstance(event, SwitchboardAsked):
                if event.owner == self._instance:
                    await self._steer(event)
            elif isinstance(event, AgentAvailable):
                received_at = asyncio.get_running_loop().time()
                for hotline in event.hotlines:
                    if self._followed(hotline) and not self._held(hotline):
                        await self.offer_now(hotline, received_at)

    async def _steer(self, asked: SwitchboardAsked) -> None:
        """A switchboard request for one of our calls: hand it to the call's task (a redirect's claim is made)."""
        inbox = self._offers.get(asked.call_id)
        hotline = self._hotlines.get(asked.hotline or "")
        log.info("switchboard_asked", call_id=asked.call_id, action=asked.action, agent=asked.agent_id,
                 hotline=asked.hotline, followed=inbox is not None)
        if asked.action == "redirect" and asked.agent_id and asked.hotline:
            claim = Claim(call_id=asked.call_id, hotline=asked.hotline, owner=self._instance,
                          agent_ids=(asked.agent_id,))
            if inbox is not None:
                inbox.put_nowait(Offer(claim, asyncio.get_running_loop().time()))
            else:
                try:
                    await self._unfollowed(asked.hotline, claim)
                except StateError as exc:
                    log.warning("switchboard_redirect_failed", call_id=asked.call_id, error=str(exc))
        elif asked.action == "move" and hotline is not None and inbox is not None:
            inbox.put_nowait(Steer("move", hotline))
        elif asked.action == "voicemail" and inbox is not None:
            inbox.put_nowait(Steer("voicemail"))

    async def sweep_forever(self) -> None:
        """Every SAFETY_SWEEP_SECONDS, or OUTAGE_RETRY_SECONDS after a claim failed on a Redis outage."""
        while True:
            if cancel_pending():  # a cancel swallowed by a Redis client's read (seen with fakeredis) never keeps
                raise asyncio.CancelledError  # the sweeps going while callcontrol stops
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SAFETY_SWEEP_SECONDS):
                    await self._retry_soon.wait()
                    await asyncio.sleep(OUTAGE_RETRY_SECONDS)
            self._retry_soon.clear()
            await self._sweep_quietly()

    async def _sweep_quietly(self) -> None:
        try:
            await self._sweep()
        except Exception as exc:  # Redis away: the events channel reports it once; the next sweep retries
            log.debug("distributor_sweep_failed", error=str(exc) or type(exc).__name__)

    async def _sweep(self) -> None:
        now = asyncio.get_running_loop().time()
        for call_id, (_hotline, first) in list(self._not_yet.items()):
            if now - first > 20 * NOT_YET_WAITING_SECONDS:  # never claimed again: it left the queue by itself
                del self._not_yet[call_id]
        for hotline in set(self._waiting_hotlines.values()) | self._callback_hotlines:
            await self.offer_now(hotline)

    def _followed(self, hotline: str) -> bool:
        """A call of ours waits there for an agent, or callbacks may (anyone's to claim). A call of ours whose
        agent rings is not waiting for one: at 10 calls/s nearly every agent's release found one ringing, and
        its claim could only find nobody (one Lua script per call for nothing). The safety sweep still claims
        for every hotline where a call of ours is, ringing or not."""
        if hotline in self._callback_hotlines:
            return True
        offered = self._offered
        return any(h == hotline and c not in offered for c, h in self._waiting_hotlines.items())
