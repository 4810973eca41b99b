"""Every call and agent change, typed, on one channel (`cc:events`): routing, API, wallboard and metrics listen.

Scripts publish in the same step as the change they report (agent_available, presence_changed, call_changed),
so a subscriber never sees a change that did not happen. Python code may publish too (`EventBus.publish`), e.g.
the dialer's `ringing` stage. Pub/sub is fire-and-forget: a subscriber that was away re-reads the state it needs
on `Resubscribed` (yielded by `EventBus.listen` after each subscription). Message formats: docs/state.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import structlog

from .event_format import (
    AgentAvailable,
    CallChanged,
    CallStage,
    DutyChanged,
    PresenceChanged,
    Resubscribed,
    StateEvent,
    SwitchboardAsked,
    encode_event,
    parse_agent_available,
    parse_event,
)
from .store import Store

log = structlog.get_logger("callcontrol.state.events")

RETRY_SECONDS = (0.1, 0.2, 0.5, 1.0)  # then every second while Redis stays away


class EventBus:
    """Publish to and listen on the one events channel; `listen` survives Redis going away and coming back. The
    listeners of a bus share one subscription: each message is read and parsed once (not once per listener)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.channel = store.keys.events
        self._followers: list[tuple[asyncio.Queue[StateEvent | Resubscribed], tuple[type, ...]]] = []  # (): all
        self._reader: asyncio.Task[None] | None = None
        self._subscribed = False

    async def publish(self, event: StateEvent) -> int:
        """PUBLISH `event`; returns how many subscribers received it."""
        return int(await self._store.redis.publish(self.channel, encode_event(event)))

    async def listen(self, *kinds: type) -> AsyncIterator[StateEvent | Resubscribed]:
        """Typed events forever; with `kinds`, only events of those types (each event handed to a listener wakes
        its task: about nine events per call, most of which the distributor or the duty mirror would drop). After
        each subscription (the first one too) a `Resubscribed` marker comes first (a listener joining a
        subscription already up gets one at once), whatever `kinds` says.

        Redis away: one `state_events_lost` warning, retries (0.1 s growing to 1 s), then one
        `state_events_restored` line with how long it was down and how many attempts failed.
        """
        queue: asyncio.Queue[StateEvent | Resubscribed] = asyncio.Queue()
        if self._subscribed:
            queue.put_nowait(Resubscribed())
        follower = (queue, kinds)
        self._followers.append(follower)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read(), name="state-events")
        try:
            while True:
                yield await queue.get()
        finally:
            self._followers.remove(follower)
            if not self._followers and self._reader is not None:  # nobody listens any more
                self._reader.cancel()
                self._reader, self._subscribed = None, False

    def _hand_out(self, item: StateEvent | Resubscribed) -> None:
        marker = isinstance(item, Resubscribed)
        for queue, kinds in self._followers:
            if marker or not kinds or isinstance(item, kinds):
                queue.put_nowait(item)

    async def _read(self) -> None:
        lost_at: float | None = None
        failures = 0
        while True:
            pubsub = self._store.redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                down = 0.0
                if lost_at is not None:
                    down = time.monotonic() - lost_at
                    log.info("state_events_restored", channel=self.channel, down_seconds=round(down, 3),
                             failed_attempts=failures)
                    lost_at, failures = None, 0
                self._subscribed = True
                self._hand_out(Resubscribed(down_seconds=down))
                confirmations = 0
                async for message in pubsub.listen():
                    if message.get("type") == "subscribe":
                        # redis-py's own retry may reconnect (e.g. to a new Sentinel master) and re-subscribe
                        # without raising: a second confirmation means events were missed meanwhile.
                        confirmations += 1
                        if confirmations > 1:
                            log.info("state_events_resubscribed", channel=self.channel)
                            self._hand_out(Resubscribed())
                        continue
                    if message.get("type") != "message":
                        continue
                    event = parse_event(message["data"])
                    if event is not None:
                        self._hand_out(event)
                raise ConnectionError("subscription ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away (connection, timeout, OS error): retry quietly
                self._subscribed = False
                if lost_at is None:
                    lost_at = time.monotonic()
                    log.warning("state_events_lost", channel=self.channel, error=str(exc) or type(exc).__name__)
                else:
                    failures += 1
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()


__all__ = [
    "AgentAvailable",
    "CallChanged",
    "CallStage",
    "DutyChanged",
    "EventBus",
    "PresenceChanged",
    "Resubscribed",
    "StateEvent",
    "SwitchboardAsked",
    "encode_event",
    "parse_agent_available",
    "parse_event",
]
