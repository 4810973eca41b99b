"""Softphone reachability from Asterisk's endpoint states (fake ARI + fakeredis with the real Lua scripts)."""

from __future__ import annotations

import aiohttp
import fakeredis
import pytest
from fakes import FakeAri

from callcontrol.ari.client import AriClient
from callcontrol.ari.models import parse_event
from callcontrol.routing.endpoints import AriReachability, EndpointWatcher
from callcontrol.state import AgentRecord, Device, StateLayer

HOTLINE = "etat-civil"
AGENTS = [
    AgentRecord(id="alice", name="Alice", softphone="1001", hotlines={HOTLINE: 0}),
    AgentRecord(id="bruno", name="Bruno", softphone="1002", hotlines={HOTLINE: 0}),
    AgentRecord(id="damien", name="Damien", mobile="+33612000001", hotlines={HOTLINE: 0}),
]


@pytest.fixture
async def layer():
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    state = StateLayer.create(redis, clock=lambda: 1_800_000_000.0)
    await state.agents.sync_agents(AGENTS)
    yield state
    await redis.aclose()


@pytest.fixture
def client(fake_ari: FakeAri, http: aiohttp.ClientSession) -> AriClient:
    return AriClient(http, fake_ari.connection(request_timeout=2))


async def test_at_connection_every_softphone_gets_its_reachability_and_endpoints_are_subscribed(
    fake_ari: FakeAri, client: AriClient, layer: StateLayer
):
    """On each ARI connection: subscribed to each agent's softphone endpoint (not to every PJSIP endpoint, the
    carrier's citizens included); an offline or unknown-to-Asterisk softphone is unreachable, an online one
    reachable."""
    fake_ari.endpoints.update({"1001": "online", "1003": "online"})  # 1002 is not even listed
    await layer.agents.login("alice", Device.SOFTPHONE)
    await layer.agents.login("bruno", Device.SOFTPHONE)
    await EndpointWatcher(client, layer, AGENTS).on_connect()
    assert fake_ari.subscriptions == ["endpoint:PJSIP/1001", "endpoint:PJSIP/1002"]
    assert [r.query["eventSource"] for r in fake_ari.find("DELETE", "/applications/*/subscription")] == [
        "endpoint:PJSIP"
    ]  # what an older version subscribed to
    assert fake_ari.event_filter == {"allowed": [{"type": "EndpointStateChange"}], "disallowed": []}
    assert (await layer.agents.get_state("alice")).reachable
    assert not (await layer.agents.get_state("bruno")).reachable


async def test_endpoint_state_changes_follow_registration_lapsing_and_coming_back(
    fake_ari: FakeAri, client: AriClient, layer: StateLayer
):
    """EndpointStateChange offline makes the agent unreachable at once; online makes her reachable again."""
    watcher = EndpointWatcher(client, layer, AGENTS)
    await layer.agents.login("alice", Device.SOFTPHONE)
    await watcher.on_event(parse_event(fake_ari.endpoint_state_change("1001", "offline")))
    assert not (await layer.agents.get_state("alice")).reachable
    await watcher.on_event(parse_event(fake_ari.endpoint_state_change("1001", "unknown")))  # cannot tell: kept
    assert not (await layer.agents.get_state("alice")).reachable
    await watcher.on_event(parse_event(fake_ari.endpoint_state_change("1001", "online")))
    assert (await layer.agents.get_state("alice")).reachable


async def test_reachability_port_says_registered_not_registered_or_cannot_tell(
    fake_ari: FakeAri, client: AriClient
):
    """online -> True; offline or no such endpoint -> False; Asterisk refusing or away -> None."""
    fake_ari.endpoints.update({"1001": "online", "1002": "offline"})
    reach = AriReachability(client)
    assert await reach.softphone_registered("1001") is True
    assert await reach.softphone_registered("1002") is False
    assert await reach.softphone_registered("1009") is False
    fake_ari.fail("GET", "/endpoints/PJSIP/1001", 500, "Internal Server Error")
    assert await reach.softphone_registered("1001") is None


def test_endpoint_state_change_is_parsed():
    """Asterisk's EndpointStateChange becomes a typed event with the endpoint's technology, resource and state."""
    event = parse_event({"type": "EndpointStateChange", "endpoint": {
        "technology": "PJSIP", "resource": "1001", "state": "offline", "channel_ids": ["c1"]}})  # fmt: skip
    assert (event.endpoint.technology, event.endpoint.resource, event.endpoint.state) == ("PJSIP", "1001", "offline")
    assert event.endpoint.channel_ids == ("c1",)
