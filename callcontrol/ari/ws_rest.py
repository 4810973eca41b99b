"""ARI REST over WebSocket: a REST request as a RESTRequest message on an open ARI websocket, its answer a
RESTResponse event on the same socket (a recent Asterisk feature: 22.10 here has it; older ones ignore the message).

It saves the HTTP client's work per request (64-160 us of the Python side against 240-330 us over aiohttp, measured
in session 5; a call makes ~12 requests: bench/ws-rest.md). A websocket that carries requests is a `Lane`: the
events websocket (its reader hands RESTResponse messages here at once, never behind an event handler), or a
request-only one (ws_lanes.py). A lane carries requests only once a probe (GET asterisk/ping) got its answer: an
Asterisk without the feature ignores the message, and AriClient keeps using HTTP. A lane that closes fails the
requests it still carries with `LaneClosed` (AriClient: AriUnavailable); the next ones go over another lane, or
over HTTP.

Asterisk reads one websocket's requests one at a time (one thread per websocket session): a request waiting for a
channel's own thread (answer, moh, addChannel) holds up the ones behind it on that socket. `ari.rest_websockets`
opens more lanes for that (docs/configuration.md).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import orjson
import structlog

log = structlog.get_logger("callcontrol.ari")

REST_RESPONSE = "RESTResponse"  # the event type of an answer; an application's eventFilter must allow it
PROBE_PATH = "/asterisk/ping"
RETRY_PROBE_EVERY = 5.0  # s, after a request timed out on a lane, until a probe is answered again
LATE_ANSWER_KEEP_SECONDS = 60.0  # how long a timed-out request's answer is still awaited (then forgotten)


class LaneClosed(ConnectionError):
    """The websocket closed while the request was out: Asterisk may or may not have carried it out."""


class AnsweredLate(TimeoutError):
    """No answer in time, but Asterisk still has the request in the socket's queue and may carry it out later.
    `status` resolves to the status of its late answer, or fails (LaneClosed, CancelledError once forgotten after
    LATE_ANSWER_KEEP_SECONDS). An originate's leg may still ring: the dialer waits for it (routing/dialer.py)."""

    def __init__(self, status: asyncio.Future[int]):
        super().__init__("no answer in time")
        self.status = status


@dataclass(eq=False)
class Lane:
    """One websocket that carries REST requests."""

    ws: aiohttp.ClientWebSocketResponse
    name: str  # the ARI application the socket is registered as (logs)
    pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    ready: bool = False  # a probe was answered: requests may go this way
    closed: bool = False


class WsRest:
    """The lanes open now, the requests out on them, and the choice of a lane for the next request."""

    def __init__(self, *, probe_timeout: float = 1.0, retry_every: float = RETRY_PROBE_EVERY):
        self._probe_timeout = probe_timeout
        self._retry_every = retry_every
        self._lanes: list[Lane] = []
        self._ready: list[Lane] = []
        self._ids = itertools.count(1)
        self._turn = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.supported: bool | None = None  # what the last probe said (None: not asked yet)

    # ------------------------------------------------------------------------------------------ the socket side

    def attach(self, ws: aiohttp.ClientWebSocketResponse, name: str) -> Lane:
        """A websocket just opened; it carries nothing until `probe` succeeds on it."""
        lane = Lane(ws, name)
        self._lanes.append(lane)
        return lane

    def detach(self, lane: Lane) -> None:
        """The websocket closed: the requests still out on it fail, the next ones go elsewhere."""
        lane.closed = True
        self._set_ready(lane, False)
        if lane in self._lanes:
            self._lanes.remove(lane)
        pending, lane.pending = lane.pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(LaneClosed(f"websocket {lane.name} closed with the request out"))

    def resolve(self, lane: Lane, data: dict[str, Any]) -> None:
        """A RESTResponse read on `lane`: wake its request (or, after its timeout, its AnsweredLate status)."""
        future = lane.pending.pop(str(data.get("request_id", "")), None)
        if future is not None and not future.done():
            future.set_result(data)

    async def probe(self, lane: Lane, *, quiet: bool = False) -> bool:
        """One GET asterisk/ping over the lane; answered: the lane carries requests from now on. Logs when what
        it says of Asterisk changes (`quiet`: never)."""
        try:
            status, _ = await self.request(lane, "GET", PROBE_PATH, {}, None, timeout=self._probe_timeout)
            ok = status == 200
            reason = "" if ok else f"status {status}"
        except (TimeoutError, ConnectionError) as exc:
            ok, reason = False, "no answer" if isinstance(exc, TimeoutError) else "socket closed"
        if lane.closed:
            return False
        self._set_ready(lane, ok)
        if ok != self.supported and not quiet:
            if ok:
                log.info("ari_rest_over_websocket", app=lane.name)
            else:
                log.warning("ari_rest_over_websocket_unavailable", app=lane.name, reason=reason,
                            hint="REST requests go over HTTP (Asterisk without ARI REST over WebSocket?)")
            self.supported = ok
        return ok

    # ------------------------------------------------------------------------------------------ the client side

    def pick(self) -> Lane | None:
        """The lane for the next request (round robin over the ready ones); None: use HTTP."""
        ready = self._ready
        if not ready:
            return None
        if len(ready) == 1:
            return ready[0]
        self._turn = (self._turn + 1) % len(ready)
        return ready[self._turn]

    async def request(
        self, lane: Lane, method: str, path: str, query: Mapping[str, str], body: bytes | None, *, timeout: float
    ) -> tuple[int, str]:
        """Send one request on `lane`; (status, body text or ""). Raises TimeoutError or a ConnectionError."""
        request_id = str(next(self._ids))
        uri = path.lstrip("/")
        if query:
            uri += "?" + urlencode(query, quote_via=quote)
        message: dict[str, Any] = {"type": "RESTRequest", "request_id": request_id, "method": method, "uri": uri}
        if body is not None:
            message["content_type"] = "application/json"
            message["message_body"] = body.decode()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        lane.pending[request_id] = future
        late = False
        try:
            async with asyncio.timeout(timeout):
                await lane.ws.send_str(orjson.dumps(message).decode())
                answer = await asyncio.shield(future)  # a timeout leaves the answer awaitable (AnsweredLate)
        except TimeoutError as exc:
            if path == PROBE_PATH:
                raise
            self._suspect(lane)
            late = not lane.closed and not future.done()
            if late:
                raise AnsweredLate(self._late_status(lane, request_id, future)) from exc
            raise
        except (aiohttp.ClientError, RuntimeError) as exc:  # sending on a socket that is closing
            raise LaneClosed(f"websocket {lane.name}: {exc or type(exc).__name__}") from exc
        finally:
            if not late:
                lane.pending.pop(request_id, None)
        return int(answer.get("status_code") or 0), str(answer.get("message_body") or "")

    def _late_status(self, lane: Lane, request_id: str, answer: asyncio.Future[dict[str, Any]]) -> asyncio.Future[int]:
        """The status of a timed-out request's answer if it still comes on `lane` (resolve() sets it; detach()
        fails it); forgotten after LATE_ANSWER_KEEP_SECONDS."""
        loop = asyncio.get_running_loop()
        status: asyncio.Future[int] = loop.create_future()

        def answered(done: asyncio.Future[dict[str, Any]]) -> None:
            forget.cancel()
            lane.pending.pop(request_id, None)
            if status.done():
                return
            if done.cancelled():
                status.cancel()
            elif (error := done.exception()) is not None:
                status.set_exception(error)
            else:
                status.set_result(int(done.result().get("status_code") or 0))

        def forgotten() -> None:
            answer.cancel()  # answered() then cancels `status` and frees the request's slot

        forget = loop.call_later(LATE_ANSWER_KEEP_SECONDS, forgotten)
        answer.add_done_callback(answered)
        status.add_done_callback(_retrieved)
        return status

    # ------------------------------------------------------------------------------------------ internals

    def _set_ready(self, lane: Lane, ready: bool) -> None:
        lane.ready = ready
        if ready and lane not in self._ready:
            self._ready = [*self._ready, lane]
        elif not ready and lane in self._ready:
            self._ready = [other for other in self._ready if other is not lane]

    async def probe_until_ready(self, lane: Lane) -> None:
        """Probe again every `retry_every` s until the lane carries requests or closes."""
        while not lane.closed:
            if await self.probe(lane, quiet=True):
                return
            await asyncio.sleep(self._retry_every)

    def _suspect(self, lane: Lane) -> None:
        """A request got no answer in time: the next ones take another way until a probe is answered again (an
        answer lost for good, e.g. an eventFilter without RESTResponse, would otherwise cost each request its
        whole timeout)."""
        if not lane.ready or lane.closed:
            return
        self._set_ready(lane, False)
        log.warning("ari_rest_websocket_suspended", app=lane.name, retry_every=self._retry_every)

        async def retry() -> None:
            await asyncio.sleep(self._retry_every)
            await self.probe_until_ready(lane)
            if lane.ready:
                log.info("ari_rest_websocket_resumed", app=lane.name)

        task = asyncio.get_running_loop().create_task(retry())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _retrieved(future: asyncio.Future[int]) -> None:
    """Nobody may await a late status: its error is read here, so asyncio does not log it as never retrieved."""
    if not future.cancelled():
        future.exception()
