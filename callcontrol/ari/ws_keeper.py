"""One ARI websocket kept open: connect, read its JSON frames, reconnect with backoff and jitter after a drop.

The events websocket (events.py) and each request-only lane (ws_lanes.py) are kept this way. What a socket is for,
and what it says in the logs, is its `KeptSocket`'s: the keeper calls it when the socket opens, for each JSON object
read, when the socket ends, when a connection attempt fails and before each reconnection.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import orjson
import structlog

from callcontrol.ari.connection import AriConnection

log = structlog.get_logger("callcontrol.ari")

_END = (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter between reconnection attempts."""

    initial: float = 0.2
    factor: float = 2.0
    maximum: float = 5.0
    jitter: float = 0.5  # fraction of the delay that is randomised
    replaced: float = 60.0  # after ApplicationReplaced: another instance holds our name; do not fight it

    def delay(self, attempt: int, rng: random.Random) -> float:
        # The exponent is capped: after a long outage the delay stays at `maximum` instead of overflowing.
        base = min(self.maximum, self.initial * self.factor ** min(max(attempt - 1, 0), 64))
        return base * (1 - self.jitter) + base * self.jitter * rng.random()


class KeptSocket(Protocol):
    """What one kept websocket is for."""

    def opened(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Connected, before its first frame is read."""

    def frame(self, data: dict[str, Any]) -> bool:
        """One JSON object read (in order; never awaits). True: stop reading, give this connection up."""

    def closed(self, ws: aiohttp.ClientWebSocketResponse, lost: bool) -> None:
        """The connection is over (always after `opened`). `lost`: Asterisk or the network closed it; False: given
        up (`frame` said so) or an error while reading."""

    async def given_up(self) -> None:
        """After `frame` gave the connection up: wait, the socket still open, before connecting again (no backoff)."""

    def connect_failed(self, error: str, attempt: int) -> None:
        """Connecting (or reading) failed; `attempt`: the failures before this one since the last connection."""

    def retrying(self, attempt: int, delay: float) -> None:
        """About to wait `delay` s before connection attempt `attempt` (1: the first after a drop)."""


class WsKeeper:
    """Holds the ARI websocket of `conn.app` open for a `KeptSocket`, forever (until cancelled)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        conn: AriConnection,
        *,
        backoff: Backoff,
        rng: random.Random,
        log_bad_frames: bool = False,
    ):
        self._session = session
        self._url = conn.events_url
        self._params = {"app": conn.app, "subscribeAll": "false"}
        self._headers = conn.auth_header()
        self._heartbeat = conn.heartbeat
        self._backoff = backoff
        self._rng = rng
        self._log_bad_frames = log_bad_frames  # "ari_bad_event" for a frame that is not JSON (else: skipped quietly)

    async def run(self, use: KeptSocket) -> None:
        """Connect, read, reconnect on any drop. Returns only when cancelled."""
        attempt = 0
        while True:
            try:
                async with self._session.ws_connect(
                    self._url, params=self._params, headers=self._headers, heartbeat=self._heartbeat
                ) as ws:
                    attempt = 0
                    use.opened(ws)
                    gave_up = lost = False
                    try:
                        gave_up = await self._read(ws, use)
                        lost = not gave_up
                    finally:
                        use.closed(ws, lost)
                    if gave_up:
                        await use.given_up()
                        continue
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                use.connect_failed(str(exc) or type(exc).__name__, attempt)
            attempt += 1
            delay = self._backoff.delay(attempt, self._rng)
            use.retrying(attempt, delay)
            await asyncio.sleep(delay)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse, use: KeptSocket) -> bool:
        """Hand each JSON object on until the socket closes. True: `use` gave the connection up."""
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                try:
                    data = orjson.loads(message.data)
                except ValueError:
                    if self._log_bad_frames:
                        log.warning("ari_bad_event", size=len(message.data))
                    continue
                if isinstance(data, dict) and use.frame(data):
                    return True
            elif message.type in _END:
                break
        return False
