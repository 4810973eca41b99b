"""Events for one call, kept until the call's code takes the one it waits for."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from callcontrol.ari.models import Event

Match = Callable[[Event], bool]


class Mailbox:
    """A filtered inbox: `take(match)` returns the oldest kept event that matches, or waits for the next one.

    Events nobody waits for stay (a digit typed ahead during a prompt is read by the next menu) up to `limit`.
    """

    def __init__(self, limit: int = 256):
        self._backlog: deque[Event] = deque(maxlen=limit)
        self._waiters: list[tuple[Match, asyncio.Future[Event]]] = []

    def put(self, event: Event) -> None:
        for index, (match, future) in enumerate(self._waiters):
            if not future.done() and match(event):
                del self._waiters[index]
                future.set_result(event)
                return
        self._backlog.append(event)

    async def take(self, match: Match, timeout: float | None = None) -> Event | None:
        """The first event for which `match` is true; None after `timeout` seconds."""
        for event in self._backlog:
            if match(event):
                self._backlog.remove(event)
                return event
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        entry = (match, future)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            return None
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def drop(self, match: Match) -> None:
        """Forget kept events that match (e.g. digits typed before a new menu that must not skip it)."""
        for event in [e for e in self._backlog if match(e)]:
            self._backlog.remove(event)
