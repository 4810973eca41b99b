"""One listener on the events channel for every wallboard and the metrics: each change re-reads the board (once
for a burst of changes) and hands it to every open `/events` stream; the routing latency is measured on the way.

Pub/sub may drop messages while Redis is away: a `Resubscribed` re-reads at once, and the board is re-read every
`refresh` seconds anyway (service level, agents' reachability).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from callcontrol.metrics import Metrics
from callcontrol.state.events import CallChanged, CallStage, EventBus, Resubscribed, StateEvent
from callcontrol.supervision.board import Board, BoardReader

log = structlog.get_logger("callcontrol.supervision")

COALESCE_SECONDS = 0.05  # a burst of changes (claim + ringing + presence) is read once
REFRESH_SECONDS = 5.0
_PENDING_MAX = 10_000


class BoardHub:
    def __init__(
        self,
        reader: BoardReader,
        events: EventBus,
        metrics: Metrics | None = None,
        *,
        refresh: float = REFRESH_SECONDS,
    ) -> None:
        self._reader = reader
        self._events = events
        self._metrics = metrics
        self._refresh = refresh
        self._subscribers: set[asyncio.Queue[Board | None]] = set()
        self._changed = asyncio.Event()
        self._offered: dict[str, float] = {}  # call id -> when an agent was claimed for it (routing latency)

    async def read(self) -> Board:
        return await self._reader.read()

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Board | None]]:
        """A queue that always holds the newest board (older ones are dropped for a slow browser); None: the
        server is stopping, end the stream (the browser reconnects to the next instance by itself)."""
        queue: asyncio.Queue[Board | None] = asyncio.Queue(maxsize=1)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    def close(self) -> None:
        """End every open stream now (the HTTP server's shutdown would otherwise wait for them)."""
        for queue in list(self._subscribers):
            self._offer(queue, None)

    @staticmethod
    def _offer(queue: asyncio.Queue[Board | None], board: Board | None) -> None:
        if queue.full():
            queue.get_nowait()
        queue.put_nowait(board)

    async def run(self) -> None:
        """Forever: listen, and publish boards (two tasks)."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._listen())
            tg.create_task(self._publish())

    async def _listen(self) -> None:
        async for event in self._events.listen():
            if not isinstance(event, Resubscribed):
                self.observe(event)
            self._changed.set()

    def observe(self, event: StateEvent) -> None:
        """Metrics read from the events: the routing latency (claim -> the agent's phone rings)."""
        if self._metrics is None or not isinstance(event, CallChanged):
            return
        if event.stage is CallStage.OFFERED:
            if len(self._offered) >= _PENDING_MAX:
                self._offered.clear()
            self._offered[event.call_id] = event.at
        elif event.stage is CallStage.RINGING:
            offered = self._offered.pop(event.call_id, None)
            if offered is not None and event.at >= offered:
                self._metrics.routing_latency.observe(event.at - offered)
        elif event.stage in (CallStage.CONNECTED, CallStage.ENDED, CallStage.LEFT, CallStage.QUEUED):
            self._offered.pop(event.call_id, None)

    async def _publish(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._refresh):
                    await self._changed.wait()
            await asyncio.sleep(COALESCE_SECONDS)
            self._changed.clear()
            if not self._subscribers:
                continue
            try:
                board = await self.read()
            except Exception as exc:  # Redis away: the browsers keep the last board; the next change retries
                log.debug("board_read_failed", error=str(exc) or type(exc).__name__)
                continue
            for queue in list(self._subscribers):
                self._offer(queue, board)
