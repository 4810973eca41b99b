"""The real dispatcher, AriClient and EventStream wired to the fake ARI, as app.run() wires them (REST over the
events websocket once it is probed, HTTP before)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from zoneinfo import ZoneInfo

import aiohttp
from fakes import FakeAri

from callcontrol.ari.client import AriClient
from callcontrol.ari.events import Backoff, EventStream
from callcontrol.ari.ws_rest import WsRest
from callcontrol.calls.dispatcher import CallDispatcher, CallHandler
from callcontrol.calls.session import CallSession
from callcontrol.clock import Clock


async def eventually(predicate: Callable[[], object], timeout: float = 1.0, message: str = "") -> None:
    """Poll `predicate` until true (the system under test runs in the same loop)."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 (polling state owned by the code under test)
            await asyncio.sleep(0.002)
    assert predicate(), message


class Harness:
    def __init__(self, fake: FakeAri, http: aiohttp.ClientSession, handlers: Mapping[str, CallHandler]):
        self.fake = fake
        self.rest = WsRest(probe_timeout=0.5)
        self.ari = AriClient(http, fake.connection(request_timeout=2), ws_rest=self.rest)
        self.stream = EventStream(
            http, fake.connection(), backoff=Backoff(initial=0.005, maximum=0.01), ws_rest=self.rest
        )
        self.ended: dict[str, tuple[CallSession, float]] = {}  # channel id -> (session, duration)
        self.dispatcher = CallDispatcher(
            self.ari, handlers, Clock(zone=ZoneInfo("Europe/Paris")), on_call_end=self._ended
        )
        self._task: asyncio.Task[None] | None = None
        self.reconciles = 0  # reconcile() runs completed (one per websocket connection)

    async def _ended(self, session: CallSession, duration: float) -> None:
        self.ended[session.channel.id] = (session, duration)

    async def start(self) -> Harness:
        """Start the stream and dispatcher; return once the first reconcile() is over and REST requests go over the
        websocket."""
        self._task = asyncio.create_task(self._main())
        await self.wait_reconciled(1)
        await eventually(lambda: self.rest.pick() is not None, message="the websocket does not carry requests")
        return self

    async def _on_connect(self) -> None:
        try:
            await self.dispatcher.reconcile()
        finally:
            self.reconciles += 1

    async def wait_reconciled(self, count: int) -> None:
        await eventually(lambda: self.reconciles >= count, message=f"reconcile #{count} did not run")

    async def _main(self) -> None:
        async with asyncio.TaskGroup() as tg:
            self.dispatcher.attach(tg)
            tg.create_task(self.stream.run(self.dispatcher.on_event, on_connect=self._on_connect))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def session(self, channel_id: str) -> CallSession:
        [session] = [s for s in self.dispatcher.active_calls if s.channel.id == channel_id]
        return session

    def owns(self, channel_id: str) -> bool:
        return any(s.channel.id == channel_id for s in self.dispatcher.active_calls)

    async def call(
        self, channel_id: str, *, caller: str = "0612345678", args: tuple[str, ...] = ("inbound", "0556000000")
    ):
        """A citizen's call enters our Stasis app; returns once its task owns the channel."""
        self.fake.add_channel(channel_id, caller=caller, args=args)
        await self.fake.push(self.fake.stasis_start(channel_id))
        await eventually(lambda: self.owns(channel_id) or channel_id in self.ended, message=f"no call for {channel_id}")

    async def wait_ended(self, channel_id: str, timeout: float = 1.0) -> tuple[CallSession, float]:
        await eventually(lambda: channel_id in self.ended, timeout, f"call on {channel_id} did not end")
        return self.ended[channel_id]
