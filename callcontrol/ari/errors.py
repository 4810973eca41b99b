"""ARI failures as typed exceptions carrying Asterisk's own explanation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import orjson
import structlog

_log = structlog.get_logger("callcontrol.ari")


class AriError(Exception):
    """Asterisk answered a REST call with an error status; `message` is Asterisk's own text."""

    def __init__(self, status: int, message: str, method: str = "", path: str = ""):
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        super().__init__(f"{method} {path} -> {status}: {message}")


class ResourceGone(AriError):
    """404: the channel, bridge, playback or recording no longer exists (a caller hung up, a race)."""


class ChannelGone(ResourceGone):
    """404 on a channel: it hung up or vanished. Not a crash; the call's task ends."""


class BridgeGone(ResourceGone):
    """404 on a bridge."""


class PlaybackGone(ResourceGone):
    """404 on a playback (it already finished)."""


class RecordingGone(ResourceGone, LookupError):
    """404 on a stored recording (deleted, or never written). A LookupError too: callers outside `ari` (the
    voicemail audio use case) catch it without importing ARI."""


class NotInStasis(AriError):
    """409: the channel exists but is not (or no longer) in our Stasis application."""


class BadRequest(AriError):
    """400/422: we sent Asterisk something it refuses (a bug on our side, or bad input from config/API)."""


class AriUnavailable(AriError):
    """Asterisk could not be reached, or answered 5xx: retry later, never crash a call on it alone."""

    # A request over a websocket that timed out may still be carried out: the status of its late answer
    # (ws_rest.AnsweredLate), awaited by whoever must know, e.g. whether an originate's leg rings after all.
    late: asyncio.Future[int] | None = None


def asterisk_message(text: str) -> str:
    """Asterisk's error bodies are {"message": "..."}; fall back to the raw text."""
    try:
        data = orjson.loads(text)
    except ValueError:
        return text.strip() or "(no message)"
    if isinstance(data, dict) and "message" in data:
        return str(data["message"])
    return text.strip()


def error_for(status: int, message: str, method: str, path: str) -> AriError:
    """The typed error for an error status of `method path` (the same over HTTP and over the websocket)."""
    if status == 404:
        resource = path.strip("/").split("/", 1)[0]
        return _GONE_BY_RESOURCE.get(resource, ResourceGone)(status, message, method, path)
    if status == 409:
        return NotInStasis(status, message, method, path)
    if status in (400, 422):
        return BadRequest(status, message, method, path)
    if status >= 500:
        return AriUnavailable(status, message, method, path)
    return AriError(status, message, method, path)


_GONE_BY_RESOURCE: dict[str, type[ResourceGone]] = {
    "channels": ChannelGone, "bridges": BridgeGone, "playbacks": PlaybackGone, "recordings": RecordingGone,
}


async def quietly(awaitable: Awaitable[object]) -> None:
    """Run an ARI call whose target may already be gone (hang up a leg, stop a playback, destroy a bridge):
    a vanished resource is expected and silent; any other ARI failure is logged and swallowed, so that cleanup
    always goes on. The one "ignore ARI errors" helper of callcontrol."""
    try:
        await awaitable
    except (ResourceGone, NotInStasis):
        pass
    except AriError as exc:
        _log.warning("ari_cleanup_failed", status=exc.status, error=exc.message, request=f"{exc.method} {exc.path}")
