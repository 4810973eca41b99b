"""What `check-config` and `run` ask Asterisk before the first call: which sounds and PJSIP endpoints exist.

Asterisk refusing our ARI credentials is a configuration error (nothing would ever work); Asterisk being away or
answering oddly is only a warning (the app waits for it), and says what really happened.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

import aiohttp

from callcontrol.agents.pjsip import Endpoints
from callcontrol.ari.client import AriClient
from callcontrol.ari.connection import AriConnection
from callcontrol.ari.errors import AriError
from callcontrol.config import AriSettings

ENDPOINTS_SOURCE = "Asterisk (GET /ari/endpoints/PJSIP)"


@dataclass(frozen=True)
class AsteriskFacts:
    sounds: set[str] | None = None  # None: not asked (see problem)
    endpoints: Endpoints | None = None
    problem: str | None = None  # why something could not be asked, in words an operator can act on
    refused: bool = False  # 401/403: the ARI credentials are wrong, a configuration error


async def ask_asterisk(ari_settings: AriSettings, timeout: float = 3.0) -> AsteriskFacts:
    async with aiohttp.ClientSession() as http:
        ari = AriClient(http, AriConnection.of(ari_settings, request_timeout=timeout))
        try:
            sounds = await ari.sound_ids()
        except AriError as exc:
            return AsteriskFacts(problem=describe(exc, ari_settings, timeout), refused=exc.status in (401, 403))
        try:
            listed = await ari.request("GET", "/endpoints/PJSIP")
        except AriError as exc:
            problem = f"{describe(exc, ari_settings, timeout)}: softphones not checked against Asterisk"
            return AsteriskFacts(sounds=sounds, problem=problem, refused=exc.status in (401, 403))
    names = frozenset(str(e["resource"]) for e in listed or () if isinstance(e, dict) and "resource" in e)
    return AsteriskFacts(sounds=sounds, endpoints=Endpoints(names, ENDPOINTS_SOURCE))


def describe(exc: AriError, ari_settings: AriSettings, timeout: float) -> str:
    """What really happened when Asterisk was asked, and what to do about it."""
    url, user = ari_settings.url, ari_settings.user
    if exc.status == 401:
        missing = "no ARI password is set" if not ari_settings.password else "the ARI password is wrong"
        return (
            f"Asterisk refused the ARI credentials (401) of user {user!r} at {url}: {missing}; set"
            " CALLCONTROL_ARI_PASSWORD (environment or .secrets.env) to that user's password in Asterisk's ari.conf"
        )
    if exc.status == 403:
        return f"Asterisk forbids ARI user {user!r} (403) at {url}: check that user in Asterisk's ari.conf"
    if exc.status == 0:
        cause = exc.__cause__
        if isinstance(cause, TimeoutError):
            return f"Asterisk did not answer at {url} within {timeout:g} s"
        os_error = getattr(cause, "os_error", None)
        if getattr(os_error, "errno", None) == errno.ECONNREFUSED:
            return f"Asterisk not reachable at {url} (connection refused: is it running, is ari.url right?)"
        return f"Asterisk not reachable at {url} ({cause or exc.message})"
    said = f" ({exc.message})" if exc.message != "(no message)" else ""
    return f"Asterisk answered {exc.method} /ari{exc.path} with {exc.status}{said} at {url}"
