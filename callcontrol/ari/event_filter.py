"""Asterisk sends our application only the event types callcontrol reads.

Without a filter, Asterisk serialises every event of the channels in our application to JSON and writes it on the
websocket: measured on the routing bench, 47 events per call, of which 25 ChannelVarset (BRIDGEPEER, RTPAUDIOQOS*,
STASISSTATUS: variables nobody here reads) and 2 ChannelConnectedLine, 63 % of the bytes (bench/asterisk-side.md).
The allow-list is the event adapter's own table (ari/models.py: the types `parse_event` types), so an event type
that gains a parser is let through with no second list to keep; so is RESTResponse, the answer to a REST request
sent over the websocket (ws_rest.py), which Asterisk filters like any event. Asterisk keeps the filter with the
application, which a reconnection may re-create: it is set again at every (re)connection, before the reconcile.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import structlog

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError
from callcontrol.ari.models import HANDLED_TYPES
from callcontrol.ari.ws_rest import REST_RESPONSE

log = structlog.get_logger("callcontrol.ari")


class EventFilter:
    """PUT /applications/{app}/eventFilter with the types we read, for our application name."""

    def __init__(self, ari: AriClient, types: Iterable[str] = HANDLED_TYPES):
        self._ari = ari
        self.types = tuple(sorted({*types, REST_RESPONSE}))

    async def apply(self) -> None:
        """Never raises: an Asterisk that refuses the filter only sends us more events, which are ignored."""
        try:
            await self._ari.only_events(self.types)
        except AriError as exc:
            log.warning("ari_event_filter_unavailable", app=self._ari.app, error=exc.message)
            return
        log.info("ari_event_filter_set", app=self._ari.app, types=len(self.types))

    def before(self, on_connect: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """A connect hook that sets the filter, then runs `on_connect` (the dispatcher's reconcile)."""

        async def hook() -> None:
            await self.apply()
            await on_connect()

        return hook
