"""ARI failures as typed exceptions carrying Asterisk's own explanation."""

from __future__ import annotations

from collections.abc import Awaitable

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
