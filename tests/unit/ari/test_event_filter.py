"""The calls' application asks Asterisk for the event types callcontrol reads, at every connection."""

from __future__ import annotations

import aiohttp
import pytest
from fakes import FakeAri, JsonLogs

from callcontrol.ari.client import AriClient
from callcontrol.ari.event_filter import EventFilter
from callcontrol.ari.models import HANDLED_TYPES


@pytest.fixture
def client(fake_ari: FakeAri, http: aiohttp.ClientSession) -> AriClient:
    return AriClient(http, fake_ari.connection(request_timeout=2))


def allowed(fake_ari: FakeAri) -> set[str]:
    return {entry["type"] for entry in fake_ari.event_filter["allowed"]}


async def test_the_filter_lets_through_every_type_the_adapter_types_and_no_variable_floods(
    fake_ari: FakeAri, client: AriClient
):
    """Asterisk is asked for exactly the types parse_event turns into typed events (the calls' digits, playbacks'
    ends, hangups, recordings, a replaced application), plus RESTResponse (the answers to REST requests sent over the
    websocket, which Asterisk filters too), and so stops sending ChannelVarset and the like."""
    await EventFilter(client).apply()
    types = allowed(fake_ari)
    assert types == set(HANDLED_TYPES) | {"RESTResponse"}
    assert {"StasisStart", "StasisEnd", "ChannelDtmfReceived", "PlaybackFinished", "ChannelDestroyed",
            "ChannelHangupRequest", "RecordingFinished", "ApplicationReplaced"} <= types  # fmt: skip
    assert not {"ChannelVarset", "ChannelDialplan", "ChannelConnectedLine", "ChannelCallerId", "Dial",
                "ChannelStateChange", "PlaybackStarted", "ChannelEnteredBridge"} & types
    assert fake_ari.event_filter["disallowed"] == []


async def test_at_each_connection_the_filter_is_set_before_the_reconcile_runs(fake_ari: FakeAri, client: AriClient):
    """The connect hook sets the filter first, then runs the reconcile; again at a reconnection (Asterisk may have
    re-created the application)."""
    seen: list[object] = []

    async def reconcile() -> None:
        seen.append(fake_ari.event_filter)

    hook = EventFilter(client).before(reconcile)
    await hook()
    fake_ari.event_filter = None
    await hook()
    assert len(seen) == 2 and all(s is not None for s in seen)
    assert len(fake_ari.find("PUT", "/applications/callcontrol/eventFilter")) == 2


async def test_an_asterisk_refusing_the_filter_still_gets_its_calls_reconciled(
    fake_ari: FakeAri, client: AriClient, json_logs: JsonLogs
):
    """A refused filter is logged as a warning and the reconcile runs anyway: the app only receives more events."""
    fake_ari.fail("PUT", "/applications/*/eventFilter", 400, "Invalid format definition")
    ran: list[bool] = []

    async def reconcile() -> None:
        ran.append(True)

    await EventFilter(client).before(reconcile)()
    assert ran == [True]
    assert [line["app"] for line in json_logs.events("ari_event_filter_unavailable")] == ["callcontrol"]
