"""Softphone reachability from Asterisk: is each agent's PJSIP endpoint registered (ARI endpoint state)?

`EndpointWatcher` keeps every agent's `softphone_reachable` flag in Redis presence up to date: at each ARI
(re)connection it subscribes its application to each agent's PJSIP endpoint and reads their states; then each
EndpointStateChange updates the flag at once. It runs on an ARI application of its own (`<app>-endpoints`, its own
websocket): Asterisk forwards to an application subscribed to an endpoint every event of that endpoint's channels
too (measured on Asterisk 22: ChannelDestroyed, ChannelHangupRequest... twice for a leg in our Stasis app), so on
the calls' application every agent leg and every citizen would get each event twice. An event filter keeps only
EndpointStateChange on that websocket. An unreachable softphone is never offered a call and does not count
as someone who could answer; registered again, it counts at once (the state script publishes agent_available).
`AriReachability` answers the presence use cases' Reachability port (agents/reachability.py) over ARI.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import structlog

from callcontrol.ari.client import AriClient
from callcontrol.ari.errors import AriError, ResourceGone
from callcontrol.ari.models import EndpointStateChange, Event
from callcontrol.ari.resources import Endpoint
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import AgentRecord, Device

log = structlog.get_logger("callcontrol.routing")

TECHNOLOGY = "PJSIP"
ENDPOINTS_APP_SUFFIX = "-endpoints"  # the watcher's ARI application: "<app>-endpoints"
_REGISTERED = {"online": True, "offline": False}  # "unknown": cannot tell


class AriReachability:
    """Reachability port over ARI: GET /endpoints/PJSIP/{softphone}."""

    def __init__(self, ari: AriClient):
        self._ari = ari

    async def softphone_registered(self, endpoint: str) -> bool | None:
        try:
            found = await self._ari.endpoint(TECHNOLOGY, endpoint)
        except ResourceGone:
            return False  # Asterisk has no such endpoint: nothing can ever register there
        except AriError as exc:
            log.debug("endpoint_state_unknown", endpoint=endpoint, error=exc.message)
            return None
        return _REGISTERED.get(found.state)


class EndpointWatcher:
    """Keeps the agents' softphone_reachable flags in Redis in step with Asterisk's endpoint states."""

    def __init__(self, ari: AriClient, state: StateLayer, agents: Iterable[AgentRecord]):
        self._ari = ari
        self._state = state
        self._agents_by_softphone: dict[str, list[str]] = defaultdict(list)
        for agent in agents:
            if agent.softphone:
                self._agents_by_softphone[agent.softphone].append(agent.id)
        # The last state each softphone's endpoint reported: Asterisk also sends EndpointStateChange when only the
        # endpoint's channels changed (every call an agent takes: two per call), which changes no flag.
        self._last_state: dict[str, str] = {}

    async def on_connect(self) -> None:
        """At each ARI (re)connection: subscribe to the PJSIP endpoints, then set every softphone's flag."""
        if not self._agents_by_softphone:
            return
        self._last_state.clear()  # written again from what Asterisk lists now
        try:
            await self._ari.only_events(["EndpointStateChange"])
        except AriError as exc:  # an Asterisk without event filters: the other events are only ignored here
            log.info("endpoint_event_filter_unavailable", error=exc.message)
        try:
            await self._subscribe()
            listed = {e.resource: e for e in await self._ari.endpoints(TECHNOLOGY)}
        except AriError as exc:
            log.warning("endpoint_states_unavailable", error=exc.message)
            return
        for softphone in self._agents_by_softphone:
            endpoint = listed.get(softphone) or Endpoint(TECHNOLOGY, softphone, "offline")
            await self._update(endpoint)

    async def _subscribe(self) -> None:
        """One subscription per agent's softphone, not `endpoint:PJSIP`: Asterisk converts every message of a
        subscribed endpoint's channels to JSON before the event filter drops it, and the whole technology is every
        citizen's carrier leg too (85 messages per call on the routing bench; bench/asterisk-side.md). The
        technology-wide subscription an older version left on the application is dropped."""
        wide = {"eventSource": f"endpoint:{TECHNOLOGY}"}
        try:
            await self._ari.request("DELETE", f"/applications/{self._ari.app}/subscription", params=wide)
        except AriError:
            pass  # not subscribed: the usual case
        for softphone in self._agents_by_softphone:
            try:
                await self._ari.subscribe(f"endpoint:{TECHNOLOGY}/{softphone}")
            except AriError as exc:  # not an endpoint Asterisk knows: it never registers (checked below)
                log.debug("softphone_not_subscribed", endpoint=softphone, error=exc.message)

    async def on_event(self, event: Event) -> None:
        if isinstance(event, EndpointStateChange) and event.endpoint.technology == TECHNOLOGY:
            endpoint = event.endpoint
            if self._last_state.get(endpoint.resource) == endpoint.state:
                return  # only its channels changed (a call): the flag already says so
            await self._update(endpoint)

    async def _update(self, endpoint: Endpoint) -> None:
        reachable = _REGISTERED.get(endpoint.state)
        if reachable is None:
            return
        self._last_state[endpoint.resource] = endpoint.state
        for agent_id in self._agents_by_softphone.get(endpoint.resource, ()):
            try:
                changed = await self._state.agents.set_reachable(agent_id, Device.SOFTPHONE, reachable)
            except Exception as exc:  # Redis away: the next (re)connection or state change sets it again
                self._last_state.pop(endpoint.resource, None)
                log.warning("softphone_reachability_not_saved", agent=agent_id, error=str(exc) or type(exc).__name__)
                continue
            if changed:
                log.info(
                    "softphone_reachable" if reachable else "softphone_unreachable",
                    agent=agent_id,
                    endpoint=endpoint.resource,
                )
