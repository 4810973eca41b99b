"""A citizen waiting in a hotline: music on hold, position announcements, the hotline's hours, and offers
until an agent takes the call, the wait is too long, or the hotline closes.

Waiting is music on hold on the citizen's own channel (not a holding bridge): announcements stop the music,
play, and start it again; moving to the agent's bridge is one addChannel.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import uuid

import structlog

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, quietly
from callcontrol.ari.media import media_uri
from callcontrol.ari.models import PlaybackFinished
from callcontrol.calls.port import RoutedCall
from callcontrol.cancelling import cancel_pending
from callcontrol.routing.callback_offer import CallbackOffers
from callcontrol.routing.conversation import Conversations
from callcontrol.routing.distributor import Distributor, Inbox, Offer, Steer
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.routing.offer import OfferDesk
from callcontrol.routing.ports import HotlineHours
from callcontrol.state.errors import StateError
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import Claim

log = structlog.get_logger("callcontrol.routing")

ANNOUNCE_MAX_SECONDS = 60.0
MUSIC_AFTER_ORIGINATE_MAX_SECONDS = 0.5  # a first offer's music waits this long at most for Asterisk's originate


class WaitingRoom:
    def __init__(
        self,
        *,
        ari: AriClient,
        state: StateLayer,
        distributor: Distributor,
        offers: OfferDesk,
        conversations: Conversations,
        hours: HotlineHours,
        callbacks: CallbackOffers | None = None,
    ):
        self._ari = ari
        self._state = state
        self._distributor = distributor
        self._offers = offers
        self._conversations = conversations
        self._hours = hours
        self._callbacks = callbacks

    async def wait(
        self,
        call: RoutedCall,
        hotline: HotlineRouting,
        enqueued_at: float,
        queued_at: float,
        *,
        first: Claim | None = None,
    ) -> str:
        """Until an agent took the call and the conversation is over ("answered"), max_wait ran out ("timeout"),
        the hotline closed ("closed"), the switchboard sent it to voicemail ("voicemail") or the citizen chose to be
        called back at their place ("callback"). A switchboard move carries on in the other hotline with the same
        `enqueued_at`. Loop times: `enqueued_at` started max_wait, `queued_at` routing. `first`: the call's own
        claim, made with its enqueue (else the distributor claims for it now)."""
        loop = asyncio.get_running_loop()
        inbox = self._distributor.register(call.call_id, hotline.id)
        connected = kept = False
        call.facts.waiting = True
        # The music starts while the first claim runs: an agent free now is rung one ARI round trip sooner. A call
        # whose own claim came with its enqueue (`first`) rings at once: the music request goes out once Asterisk
        # accepted the originate (sent before it, it delayed the agent's ring), a millisecond later.
        placing = asyncio.Event()
        if first is None:
            placing.set()
        music = asyncio.ensure_future(self._music_after(placing, call, hotline))
        try:
            if first is not None:
                self._distributor.deliver(first, queued_at)
            else:
                await self._distributor.offer_now(hotline.id, queued_at, for_call=call.call_id)
            tried: list[str] = []
            deadline = enqueued_at + hotline.max_wait
            next_announce = enqueued_at + hotline.announce_first if hotline.announce_interval else math.inf
            next_hours = loop.time() + self._hours.recheck_in(hotline)
            offer_after = hotline.callback.offer_after if hotline.callback and self._callbacks else 0
            next_callback = enqueued_at + offer_after if offer_after else math.inf
            while True:
                if cancel_pending():  # a hangup's CancelledError lost on the way (seen in a Redis client's read):
                    raise asyncio.CancelledError  # never keep a gone citizen waiting
                now = loop.time()
                if now >= deadline:
                    call.note("queue:timeout", hotline=hotline.id, waited=round(now - enqueued_at, 1))
                    return "timeout"
                if now >= next_hours:
                    reason = await self._hours.closed_reason(hotline)
                    if reason is not None:
                        call.note("queue:closed", hotline=hotline.id, reason=reason, waited=round(now - enqueued_at))
                        return "closed"
                    next_hours = now + self._hours.recheck_in(hotline)
                offer = await _next(inbox, min(deadline, next_announce, next_hours, next_callback) - now)
                if offer is None and loop.time() >= next_callback and inbox.empty():
                    kept = await self._offer_callback(call, hotline)
                    if kept:
                        return "callback"
                    every = hotline.callback.offer_every if hotline.callback else 0
                    next_callback = loop.time() + every if every else math.inf
                    continue
                if offer is None:
                    if loop.time() >= next_announce:
                        offer = await self._announce(call, hotline, inbox)
                        next_announce = loop.time() + hotline.announce_interval
                    if offer is None:
                        continue
                if isinstance(offer, Steer):
                    if offer.action == "voicemail" or offer.hotline is None:
                        call.note("queue:voicemail", hotline=hotline.id, waited=round(loop.time() - enqueued_at, 1))
                        return "voicemail"
                    call.note("queue:moved", hotline=offer.hotline.id, moved_from=hotline.id)
                    hotline = offer.hotline
                    call.facts.hotline = hotline.id
                    self._distributor.moved(call.call_id, hotline.id)
                    deadline = enqueued_at + hotline.max_wait
                    await self._moh(call, hotline, on=True)
                    await self._distributor.offer_now(hotline.id)
                    continue
                call.facts.wait = round(loop.time() - enqueued_at, 3)
                leg = await self._offers.ring(call, hotline, offer, tried, enqueued_at, on_placing=placing.set)
                placing.set()  # no originate was sent (no device, the lookup failed): the music now
                if leg is not None:
                    connected = True
                    call.facts.waiting = False
                    # The music is long started (the agent's phone rang meanwhile); converse awaits it after taking
                    # charge of the agent, so that a citizen hanging up in between cannot leave her reserved.
                    talking = functools.partial(self._distributor.connected, call.call_id)  # no claims for it now
                    if await self._conversations.converse(call, hotline, leg, music=music, on_connected=talking):
                        return "answered"
                    connected = False  # her leg was lost before the bridge: the citizen is back at their place
                    call.facts.waiting = True
                retry_at = loop.time()
                self._distributor.waiting_again(call.call_id)  # before its own claim: no agent freed goes unclaimed
                await self._moh(call, hotline, on=True)
                claim = await self._offers.next_claim(call, hotline, tried, on_outage=self._distributor.retry_soon)
                if claim is not None:
                    self._distributor.deliver(claim, retry_at)
        finally:
            if not placing.is_set():  # left before the first ring: no music to start
                music.cancel()
            if not music.done():
                await asyncio.wait({music}, timeout=2.0)
            if not music.done():
                music.cancel()
            elif not music.cancelled():
                music.exception()  # retrieved: quietly() already swallowed what an ARI error would say
            self._distributor.unregister(call.call_id)
            if not connected and not kept and (call.hung_up or not cancel_pending()):
                # The citizen left (or the wait ended): out of the queue at once. When callcontrol itself is
                # stopping, the entry stays: the next instance adopts the call at its place.
                await self.leave(call.call_id)
            if not call.hung_up:
                call.facts.waiting = False

    async def _offer_callback(self, call: RoutedCall, hotline: HotlineRouting) -> bool:
        """"Tapez 1 pour être rappelé", between two stretches of music (routing/callback_offer.py). An offer for
        this citizen arriving meanwhile waits in the inbox (taken after a refusal, given back if the place is
        kept)."""
        assert self._callbacks is not None
        await self._moh(call, hotline, on=False)
        kept = False
        try:
            kept = await self._callbacks.offer(call, hotline)
            return kept
        finally:
            if not kept and not call.hung_up:
                await self._moh(call, hotline, on=True)

    async def leave(self, call_id: str) -> None:
        """Out of the queue (agents ringing for it freed); never raises."""
        try:
            await self._state.queues.leave(call_id)
        except Exception as exc:
            log.warning("queue_leave_failed", error=str(exc) or type(exc).__name__)

    async def _music_after(self, placing: asyncio.Event, call: RoutedCall, hotline: HotlineRouting) -> None:
        """Music on hold once `placing` is set (at once for most calls; see wait), or after a short while."""
        if not placing.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(MUSIC_AFTER_ORIGINATE_MAX_SECONDS):
                    await placing.wait()
        await self._moh(call, hotline, on=True)

    async def _moh(self, call: RoutedCall, hotline: HotlineRouting, *, on: bool) -> None:
        channel = call.channel_id
        await quietly(self._ari.start_moh(channel, hotline.moh_class) if on else self._ari.stop_moh(channel))

    async def _announce(self, call: RoutedCall, hotline: HotlineRouting, inbox: Inbox) -> Offer | Steer | None:
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
        offer: Offer | Steer | None = None
        try:
            await self._ari.play(
                call.channel_id, [media_uri(m) for m in media], lang=call.language, playback_id=playback_id
            )
        except AriError as exc:
            log.warning("queue_announce_failed", error=exc.message)
        else:
            finished = asyncio.ensure_future(
                call.take(
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
                await quietly(self._ari.stop_playback(playback_id))
        await self._moh(call, hotline, on=True)  # also while the offered agent's phone rings
        return offer


async def _next(inbox: Inbox, timeout: float) -> Offer | Steer | None:
    try:
        async with asyncio.timeout(max(timeout, 0)):
            return await inbox.get()
    except TimeoutError:
        return None
