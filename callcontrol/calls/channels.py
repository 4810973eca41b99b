"""The plumbing of a call: the citizen's channel and the legs it owns, the events the dispatcher delivers, the
hangup that cancels the call's task, and the cleanups run when it ends. calls/session.py adds what a flow and
routing may do with the call on top of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, AriUnavailable, quietly
from callcontrol.ari.models import ChannelDestroyed, Event
from callcontrol.ari.resources import Channel
from callcontrol.calls.mailbox import Mailbox
from callcontrol.calls.port import END_EVENTS, channel_ended

if TYPE_CHECKING:
    from callcontrol.calls.session import CallSession

log = structlog.get_logger("callcontrol.calls")

# A dependency being away (Redis, a socket), not a bug: one log line with the error, no traceback.
_OUTAGES = (RedisConnectionError, RedisTimeoutError, OSError)
FALLBACK_LATE_SECONDS = 15.0  # a fallback request Asterisk did not answer in time: how long it may still run


class CallChannels:
    def __init__(
        self,
        *,
        channel: Channel,
        ari: AriClient,
        own_channel: Callable[[str, CallSession], None] | None = None,
    ):
        self.channel = channel
        self.mailbox = Mailbox()
        self.hung_up = False  # the citizen's side ended (hangup, vanished channel)
        self._ending = False  # we are ending the call ourselves: the hangup events that follow are not the caller's
        self.hangup_sent = False  # the flow hung the citizen up (Asterisk answered the request)
        self._ari = ari
        self._own_channel = own_channel  # the dispatcher's: route a leg's events to this call
        self._on_end: Callable[[], None] | None = None
        self._cleanups: list[Callable[[], Awaitable[None]]] = []
        self._extra_channels: set[str] = set()
        self._destroyed: set[str] = set()  # legs Asterisk said are destroyed (ChannelDestroyed)
        self._ended: set[str] = set()  # legs hanging up or gone (END_EVENTS): no hangup request for them

    def deliver(self, event: Event) -> None:
        """Called by the dispatcher for every event concerning this call's channels or bridges."""
        if not self.hung_up and channel_ended(self.channel.id)(event):
            self.hung_up = True
            if not self._ending and self._on_end is not None:
                self._on_end()
        if isinstance(event, END_EVENTS):
            self._ended.add(event.channel.id)
            if isinstance(event, ChannelDestroyed):
                self._destroyed.add(event.channel.id)
        self.mailbox.put(event)

    @property
    def caller_left(self) -> bool:
        """The citizen's side ended without us hanging it up."""
        return self.hung_up and not self._ending

    @property
    def channel_id(self) -> str:
        return self.channel.id

    def set_end_hook(self, hook: Callable[[], None]) -> None:
        """What to do when the citizen hangs up (the dispatcher cancels the call's task)."""
        self._on_end = hook

    def channel_vanished(self) -> None:
        """The channel no longer exists in Asterisk (e.g. Asterisk restarted): end the call."""
        self.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=self.channel, cause_txt="vanished"))

    @property
    def owned_channels(self) -> set[str]:
        return {self.channel.id, *self._extra_channels}

    async def wait_channel_end(self, channel_id: str) -> None:
        """Until `channel_id` (a leg of this call: an agent, a transfer) hangs up or vanishes."""
        await self.mailbox.take(channel_ended(channel_id))

    async def take(self, match: Callable[[Event], bool], timeout: float | None = None) -> Event | None:
        return await self.mailbox.take(match, timeout)

    def own_channel(self, channel_id: str) -> None:
        self._extra_channels.add(channel_id)

    def attach_leg(self, channel_id: str) -> None:
        """A leg of this call: its events come here (through the dispatcher), and it is hung up at the end."""
        self.own_channel(channel_id)
        if self._own_channel is not None:  # the dispatcher: route the leg's events here
            self._own_channel(channel_id, self)
        self.on_cleanup(lambda: self._hang_up_leg(channel_id))

    def leg_destroyed(self, channel_id: str) -> bool:
        """Asterisk said `channel_id` (a leg of this call) is destroyed: hanging it up would only get a 404."""
        return channel_id in self._destroyed

    async def _hang_up_leg(self, channel_id: str) -> None:
        """At the call's end: a leg already ending is not hung up again (the agent hung up). Asterisk publishes
        ChannelHangupRequest only for a hangup that ends the channel (ast_queue_hangup, ast_softhangup with a
        fatal flag: main/channel.c); StasisEnd of a leg is its hangup (legs never go back to a dialplan)."""
        if channel_id not in self._ended:
            await quietly(self._ari.hangup(channel_id))

    def on_cleanup(self, action: Callable[[], Awaitable[None]]) -> None:
        """Register an async cleanup run when the call ends, whatever the reason (LIFO)."""
        self._cleanups.append(action)

    async def cleanup(self, *, fall_back: bool = False) -> None:
        """Run registered cleanups, then hang up the citizen's channel if it is still ours; with `fall_back` (the
        call's code failed, e.g. Asterisk too slow to answer a request under a burst) first try to give the channel
        back to the dialplan, whose fallback route follows Stasis(): a citizen is never simply hung up on because
        of us. Never raises."""
        self._ending = True
        while self._cleanups:
            action = self._cleanups.pop()
            try:
                await action()
            except _OUTAGES as exc:
                log.warning("call_cleanup_failed", error=str(exc) or type(exc).__name__)
            except Exception:
                log.exception("call_cleanup_failed")
        if not self.hung_up and not self.hangup_sent and fall_back:
            await self._fall_back()
        if not self.hung_up and not self.hangup_sent:  # the flow's own hangup may still be on its way back
            await quietly(self._ari.hangup(self.channel.id))

    async def _fall_back(self) -> None:
        """The citizen to the dialplan's fallback route. A request Asterisk did not answer in time (a storm) may
        still run there: wait for the channel to leave us rather than hang it up (that hangup, queued behind, would
        end the fallback route itself); still ours after FALLBACK_LATE_SECONDS, ask once more, and leave it to
        whichever request Asterisk runs (a continue for a channel gone from Stasis is refused, harmlessly)."""
        for attempt in (1, 2):
            try:
                await self._ari.continue_in_dialplan(self.channel.id)
            except AriUnavailable as exc:
                log.warning("call_fallback_late", error=exc.message, attempt=attempt)
                if await self.mailbox.take(channel_ended(self.channel.id), timeout=FALLBACK_LATE_SECONDS):
                    break
                continue
            except AriError as exc:
                log.warning("call_fallback_failed", error=exc.message)
                return
            break
        log.info("call_handed_to_fallback")
        self.hung_up = True  # the dialplan's now (or soon: the request is queued in Asterisk)
