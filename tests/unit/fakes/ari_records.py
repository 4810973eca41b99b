"""The fake ARI's records: every request it received (HTTP or RESTRequest), and the errors a test asked for."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import socket
from dataclasses import dataclass
from typing import Any

from aiohttp import web


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (at the time of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the /ari prefix: "/channels/c1/answer"
    query: dict[str, str]
    body: Any  # decoded JSON body, or None
    headers: dict[str, str]
    url: str  # the full URL as received (to check no secret travels in it); over the websocket, the uri
    transport: str = "http"  # or "websocket" (a RESTRequest message)
    app: str = ""  # over a websocket: the application it is registered as


@dataclass
class Failure:
    method: str
    pattern: str
    status: int
    message: str | None
    times: int | None  # None: for ever


class RequestRecords:
    """FakeAri's part that records requests and plans failures (FakeAri holds `requests` and `_failures`)."""

    requests: list[RecordedRequest]
    _failures: list[Failure]
    _holds: list[tuple[str, str, asyncio.Event]]

    def fail(self, method: str, path: str, status: int, message: str | None = None, *, times: int | None = 1) -> None:
        """Answer `method path` (fnmatch pattern without /ari, e.g. "/channels/*/answer") with an error status and
        Asterisk's JSON body {"message": ...}; `times` requests only (None: until reset_failures())."""
        self._failures.append(Failure(method.upper(), path, status, message, times))

    def reset_failures(self) -> None:
        self._failures.clear()

    def hold(self, method: str, path: str) -> asyncio.Event:
        """Keep the answer to `method path` (fnmatch pattern) until the returned event is set: Asterisk slow to
        answer it. On a websocket, the requests behind it on that socket wait too, as in Asterisk."""
        release = asyncio.Event()
        self._holds.append((method.upper(), path, release))
        return release

    async def _held(self, method: str, path: str) -> None:
        for held_method, pattern, release in self._holds:
            if held_method == method and fnmatch.fnmatchcase(path, pattern):
                await release.wait()

    def find(self, method: str, path: str) -> list[RecordedRequest]:
        """Recorded requests matching method and an fnmatch path pattern."""
        return [r for r in self.requests if r.method == method.upper() and fnmatch.fnmatchcase(r.path, path)]

    def last(self, method: str, path: str) -> RecordedRequest:
        found = self.find(method, path)
        assert found, f"no {method} {path} among {[(r.method, r.path) for r in self.requests]}"
        return found[-1]

    async def _record(self, request: web.Request, path: str) -> RecordedRequest:
        body = None
        if request.can_read_body:
            text = await request.text()
            body = json.loads(text) if text else None
        recorded = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            body=body,
            headers=dict(request.headers),
            url=str(request.url),
        )
        self.requests.append(recorded)
        return recorded

    def _take_failure(self, method: str, path: str) -> Failure | None:
        for failure in self._failures:
            if failure.method == method and fnmatch.fnmatchcase(path, failure.pattern):
                if failure.times is not None:
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                return failure
        return None


def json_reply(status: int, data: Any) -> web.Response:
    return web.json_response(data, status=status)
