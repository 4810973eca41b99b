"""Bearer tokens with roles for the HTTP API: viewer < switchboard < supervisor.

Tokens come from `CALLCONTROL_API_TOKENS` (environment or .secrets.env), a comma-separated list of
`role:token` (several tokens per role allowed), e.g. `viewer:v-4f...,supervisor:s-9a...`. Only their sha256
digests are kept in memory; a presented token is hashed and compared with every digest in constant time
(hmac.compare_digest). Failed attempts are logged (`api_auth_failed`) and rate-limited per client address: after
MAX_FAILURES within FAILURE_WINDOW seconds that client gets 429 until the window has passed.

The middleware only *identifies*: it sets `request["role"]` (None without a token) and refuses a wrong token (401).
Each handler says what it needs with `require(request, Role.X)`: 401 without a token, 403 below that role.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import structlog
from aiohttp import web

from callcontrol.apitokens import parse_api_tokens

log = structlog.get_logger("callcontrol.supervision")

TOKENS_VARIABLE = "CALLCONTROL_API_TOKENS"  # read by config.py into http.tokens
MAX_FAILURES = 5  # wrong tokens per client within FAILURE_WINDOW before it is refused (429)
FAILURE_WINDOW = 60.0  # seconds

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Role(StrEnum):
    VIEWER = "viewer"  # read only, privacy-preserving (available / busy / away, callers masked)
    SWITCHBOARD = "switchboard"  # call actions, open / close
    SUPERVISOR = "supervisor"  # everything, forced presence changes

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 0, Role.SWITCHBOARD: 1, Role.SUPERVISOR: 2}


def json_error(status: type[web.HTTPException], code: str, reason: str, **headers: str) -> web.HTTPException:
    """The API's one error shape: {"error": code, "reason": text} (raise it)."""
    return status(
        text=json.dumps({"error": code, "reason": reason}), content_type="application/json", headers=headers or None
    )


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Tokens:
    """The configured tokens, as sha256 digests with their role."""

    digests: tuple[tuple[bytes, Role], ...] = ()

    @classmethod
    def parse(cls, spec: str) -> Tokens:
        """`role:token,role:token` (apitokens.parse_api_tokens); ValueError for an unknown role or a short token."""
        return cls(tuple((_digest(token), Role(role)) for role, token in parse_api_tokens(spec)))

    @classmethod
    def of(cls, tokens: Mapping[Role, Iterable[str]]) -> Tokens:
        """From plain tokens per role (tests)."""
        return cls(tuple((_digest(t), role) for role, values in tokens.items() for t in values))

    def role_for(self, token: str) -> Role | None:
        """The role of `token`, or None; every digest is compared (no early exit), in constant time."""
        presented = _digest(token)
        best: Role | None = None
        for digest, role in self.digests:
            if hmac.compare_digest(presented, digest) and (best is None or role.rank > best.rank):
                best = role
        return best

    def __bool__(self) -> bool:
        return bool(self.digests)


@dataclass
class FailureLimiter:
    """Wrong-token attempts per client (its address), in a sliding window; on the caller's clock."""

    clock: Callable[[], float]
    max_failures: int = MAX_FAILURES
    window: float = FAILURE_WINDOW
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, client: str) -> deque[float]:
        now = self.clock()
        times = self._failures.get(client)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[client]
        return times

    def blocked_for(self, client: str) -> float:
        """Seconds until `client` may try again (0: it may)."""
        times = self._recent(client)
        if len(times) < self.max_failures:
            return 0.0
        return max(0.0, times[0] + self.window - self.clock())

    def failed(self, client: str) -> int:
        times = self._recent(client)
        times.append(self.clock())
        self._failures[client] = times
        if len(self._failures) > 10_000:  # many addresses: forget the oldest rather than grow without bound
            self._failures.pop(next(iter(self._failures)))
        return len(times)


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def auth_middleware(tokens: Tokens, limiter: FailureLimiter) -> Callable[[web.Request, Handler], Awaitable]:
    """Sets request["role"] from the bearer token (None without one); a wrong token is 401, a client with too
    many wrong tokens 429 (with Retry-After)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request["role"] = None
        token = _bearer(request)
        if token is not None:
            client = request.remote or "unknown"
            wait = limiter.blocked_for(client)
            if wait > 0:
                log.warning("api_auth_throttled", client=client, path=request.path, retry_after=round(wait, 1))
                raise json_error(
                    web.HTTPTooManyRequests, "too_many_attempts",
                    f"too many wrong tokens from this address: try again in {wait:.0f} s",
                    **{"Retry-After": str(max(1, round(wait)))},
                )
            role = tokens.role_for(token)
            if role is None:
                attempts = limiter.failed(client)
                log.warning("api_auth_failed", client=client, path=request.path, attempts=attempts)
                raise json_error(web.HTTPUnauthorized, "bad_token", "this token is not valid",
                                 **{"WWW-Authenticate": "Bearer"})
            request["role"] = role
        return await handler(request)

    return middleware


def role_of(request: web.Request) -> Role | None:
    return request.get("role")


def require(request: web.Request, role: Role) -> None:
    """Raise a JSON 401 (no token) or 403 (a lower role) unless the request's token has at least `role`."""
    have = role_of(request)
    if have is None:
        raise json_error(web.HTTPUnauthorized, "no_token", "send Authorization: Bearer <token> (docs/api.md)",
                         **{"WWW-Authenticate": "Bearer"})
    if not have.allows(role):
        raise json_error(web.HTTPForbidden, "forbidden", f"this needs the {role} role; the token is {have}")
