"""Conversation bridges kept for the next call: the mixing bridge of a conversation that ended goes back to a small
pool instead of being destroyed, so that a call costs no bridge create and no bridge destroy (2 ARI requests).

A bridge is lent for one conversation and given back at the call's end with the channels that were added to it. It
is idle again only once Asterisk said each of them left it (ChannelLeftBridge, an event the application reads
anyway): an idle bridge is empty, and two calls never share one. Any doubt destroys it, as a bridge of its own per
call did: a channel not seen leaving within DRAIN_SECONDS, the pool full, a conversation that never filled its
bridge (the caller said so with `discard`), callcontrol stopping. A bridge destroyed by someone else is forgotten
(BridgeDestroyed); after a reconnection (Asterisk may have restarted) the pool keeps only the bridges Asterisk
lists, empty, under its own name prefix `cc-pool-<instance>-`, which also adopts those a previous run left.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, quietly
from callcontrol.ari.models import BridgeDestroyed, ChannelLeftBridge, Event

log = structlog.get_logger("callcontrol.routing")

POOL_SIZE = 32  # idle bridges kept; more conversations at once simply create more (destroyed when not kept)
DRAIN_SECONDS = 10.0  # a bridge whose channels have not all left by then is destroyed
CLOSE_SECONDS = 2.0  # at most this long destroying the idle bridges when callcontrol stops


@dataclass
class _Lent:
    left: set[str] = field(default_factory=set)  # channels seen leaving it while lent
    waiting: set[str] | None = None  # given back: the channels still to leave (None: still lent)
    timer: asyncio.TimerHandle | None = None


class BridgePool:
    def __init__(
        self, ari: AriClient, *, instance: str, size: int = POOL_SIZE, drain_seconds: float = DRAIN_SECONDS
    ):
        self._ari = ari
        self._prefix = f"cc-pool-{instance}-"
        self._size = size
        self._drain = drain_seconds
        self._idle: list[str] = []
        self._lent: dict[str, _Lent] = {}  # lent or draining bridges
        self._names = (f"{self._prefix}{uuid.uuid4().hex[:6]}-{n}" for n in itertools.count(1))
        self._destroying: set[asyncio.Task[None]] = set()

    @property
    def idle(self) -> int:
        return len(self._idle)

    def owns(self, bridge_id: str) -> bool:
        return bridge_id in self._lent or bridge_id in self._idle

    async def take(self) -> str:
        """An empty mixing bridge for one conversation: an idle one, else a new one. Raises AriError."""
        if self._idle:
            bridge_id = self._idle.pop()
        else:
            bridge_id = (await self._ari.create_bridge("mixing", name=next(self._names))).id
        self._lent[bridge_id] = _Lent()
        return bridge_id

    def give_back(self, bridge_id: str, channels: Iterable[str]) -> None:
        """The conversation is over: idle again once each of `channels` (all that were added) left the bridge."""
        lent = self._lent.get(bridge_id)
        if lent is None or lent.waiting is not None:
            return
        lent.waiting = set(channels) - lent.left
        if not lent.waiting:
            self._settle(bridge_id)
            return
        lent.timer = asyncio.get_running_loop().call_later(self._drain, self._not_drained, bridge_id)

    def discard(self, bridge_id: str) -> None:
        """Destroyed, not kept (a conversation that did not fill it as planned). Never raises."""
        lent = self._lent.pop(bridge_id, None)
        if lent is not None and lent.timer is not None:
            lent.timer.cancel()
        self._destroy(bridge_id)

    def forget(self, bridge_id: str) -> None:
        """Asterisk no longer has it (BridgeGone): never lent again."""
        lent = self._lent.pop(bridge_id, None)
        if lent is not None and lent.timer is not None:
            lent.timer.cancel()
        if bridge_id in self._idle:
            self._idle.remove(bridge_id)

    def on_event(self, event: Event) -> None:
        """Every event of the application (before the dispatcher's): a channel leaving one of our bridges."""
        if isinstance(event, ChannelLeftBridge):
            lent = self._lent.get(event.bridge.id)
            if lent is None:
                return
            lent.left.add(event.channel.id)
            if lent.waiting is not None:
                lent.waiting.discard(event.channel.id)
                if not lent.waiting:
                    self._settle(event.bridge.id)
        elif isinstance(event, BridgeDestroyed) and self.owns(event.bridge.id):
            self.forget(event.bridge.id)

    async def on_connect(self) -> None:
        """After each (re)connection: idle bridges are those Asterisk lists, empty, under our prefix (a previous
        run's too, up to the pool's size; the rest destroyed). Never raises."""
        try:
            listed = await self._ari.bridges()
        except AriError as exc:
            log.warning("bridge_pool_list_failed", error=exc.message)
            self._idle.clear()  # not sure they exist: new ones are made
            return
        ours = [b.id for b in listed if b.name.startswith(self._prefix) and not b.channels and b.id not in self._lent]
        self._idle = ours[: self._size]
        for bridge_id in ours[self._size :]:
            self._destroy(bridge_id)

    async def close(self) -> None:
        """callcontrol stopping: the idle bridges are destroyed (conversations going on keep theirs)."""
        idle, self._idle = self._idle, []
        for bridge_id in idle:
            self._destroy(bridge_id)
        if self._destroying:
            await asyncio.wait(self._destroying, timeout=CLOSE_SECONDS)

    def _settle(self, bridge_id: str) -> None:
        lent = self._lent.pop(bridge_id)
        if lent.timer is not None:
            lent.timer.cancel()
        if len(self._idle) < self._size:
            self._idle.append(bridge_id)
        else:
            self._destroy(bridge_id)

    def _not_drained(self, bridge_id: str) -> None:
        lent = self._lent.pop(bridge_id, None)
        if lent is not None:
            log.info("bridge_not_drained", bridge=bridge_id, channels=sorted(lent.waiting or ()))
            self._destroy(bridge_id)

    def _destroy(self, bridge_id: str) -> None:
        task = asyncio.get_running_loop().create_task(quietly(self._ari.destroy_bridge(bridge_id)))
        self._destroying.add(task)  # held until done
        task.add_done_callback(self._destroying.discard)
