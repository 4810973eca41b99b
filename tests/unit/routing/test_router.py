"""HotlineRouter and Distributor on fakeredis (real Lua scripts) with a stub ARI and a stub dialer: the races
and timings that the integration tests found, reproduced deterministically."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

import fakeredis
import pytest

from callcontrol.ari.models import Bridge, CallerId, Channel, ChannelDestroyed
from callcontrol.calls.session import CallSession
from callcontrol.clock import Clock
from callcontrol.routing.dialer import Leg, LegResult
from callcontrol.routing.distributor import Distributor, Offer
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.routing.queue import HotlineRouter
from callcontrol.state import AgentRecord, Device, StateLayer
from callcontrol.state.models import AgentStatus

HOTLINE = "etat-civil"
INSTANCE = "i1"


class StubAri:
    """The ARI calls the router makes, recorded; `on_moh` runs inside start_moh (to interleave a distributor)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.on_moh: Callable[[], Awaitable[None]] | None = None

    async def answer(self, channel_id: str) -> None:
        self.calls.append(("answer", channel_id))

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        self.calls.append(("moh_on", channel_id))
        if self.on_moh is not None:
            await self.on_moh()

    async def stop_moh(self, channel_id: str) -> None:
        self.calls.append(("moh_off", channel_id))

    async def play(self, channel_id: str, media, *, lang=None, playback_id=None) -> str:
        self.calls.append(("play", channel_id, playback_id or ""))
        return playback_id or "p"

    async def stop_playback(self, playback_id: str) -> None:
        self.calls.append(("stop_playback", playback_id))

    async def create_bridge(self, kind: str = "", *, name: str = "", bridge_id: str | None = None) -> Bridge:
        self.calls.append(("create_bridge", kind))
        return Bridge(id="b1")

    async def add_channel(self, bridge_id: str, channel_id, *, role=None) -> None:
        self.calls.append(("add_channel", bridge_id, *channel_id))

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.calls.append(("destroy_bridge", bridge_id))

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.calls.append(("hangup", channel_id))

    def named(self, name: str) -> list[tuple[str, ...]]:
        return [c for c in self.calls if c[0] == name]


class StubDialer:
    """Answers each agent's leg as scripted (default: accepted), after `delay` seconds."""

    def __init__(self, results: dict[str, LegResult], delay: float = 0.0) -> None:
        self.results = results
        self.delay = delay
        self.rung: list[tuple[str, float]] = []  # (agent, loop time)

    async def ring(self, call, agent: AgentRecord, device, hotline, on_dialled=None) -> Leg:
        self.rung.append((agent.id, asyncio.get_running_loop().time()))
        if on_dialled is not None:
            on_dialled(agent.id)
        await asyncio.sleep(self.delay)
        return Leg(agent.id, f"leg-{agent.id}", device, self.results.get(agent.id, LegResult.ACCEPTED))


async def eventually(predicate: Callable[[], object], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.002)


@pytest.fixture
async def state():
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    yield StateLayer.create(redis, clock=time.time), redis
    await redis.aclose()


def make_router(
    layer: StateLayer, redis, dialer: StubDialer, ari: StubAri, **settings
) -> tuple[HotlineRouter, Distributor]:
    hotlines = {HOTLINE: HotlineRouting(id=HOTLINE, **settings)}
    distributor = Distributor(layer, redis, hotlines, INSTANCE)
    router = HotlineRouter(
        ari=ari,  # type: ignore[arg-type]
        state=layer,
        distributor=distributor,
        dialer=dialer,  # type: ignore[arg-type]
        hotlines=hotlines,
        instance_id=INSTANCE,
        clock=Clock(zone=ZoneInfo("Europe/Paris")),
    )
    return router, distributor


def citizen(ari: StubAri, channel_id: str = "c1") -> CallSession:
    channel = Channel(id=channel_id, caller=CallerId(number="0612345678"))
    return CallSession(
        channel=channel, kind="inbound", dialled="0556000000", ari=ari, clock=Clock(zone=ZoneInfo("Europe/Paris"))
    )  # type: ignore[arg-type]


async def staff(layer: StateLayer, *ids: str, logged_in: bool = True) -> None:
    """Agents of HOTLINE, logged in on their softphone in this order (the first is idle longest)."""
    await layer.agents.sync_agents(
        [AgentRecord(id=a, name=a, softphone=a, mobile=None, hotlines={HOTLINE: 0}) for a in ids]
    )
    for a in ids if logged_in else ():
        await layer.agents.login(a, Device.SOFTPHONE)
        await asyncio.sleep(0.002)  # distinct idle_since


async def test_given_no_answer_when_distributor_claims_first_then_router_takes_its_offer_instead_of_crashing(state):
    """The no-answer publishes agent_available: a distributor may claim the requeued call before the router does."""
    layer, redis = state
    await staff(layer, "alice", "bruno")
    ari, dialer = StubAri(), StubDialer({"alice": LegResult.NO_ANSWER})
    router, distributor = make_router(layer, redis, dialer, ari, announce_interval=0, wrap_up=0)

    async def distributor_wins() -> None:  # the pub/sub notification is handled while the router restarts MOH
        await distributor.offer_now(HOTLINE)

    ari.on_moh = distributor_wins
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: ari.named("add_channel"))
    assert [agent for agent, _ in dialer.rung] == ["alice", "bruno"]
    assert (await layer.agents.get_state("bruno")).status is AgentStatus.ON_CALL
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="leg-bruno")))
    assert await asyncio.wait_for(task, 2) == "answered"
    assert (await layer.agents.get_state("alice")).missed == 1


async def test_given_announcement_playing_when_agent_frees_up_then_announcement_stops_and_agent_rings_at_once(state):
    """An offer arriving during a position announcement cuts it short: the reserved agent is rung at once."""
    layer, redis = state
    await staff(layer, "alice", logged_in=False)
    ari, dialer = StubAri(), StubDialer({})
    router, distributor = make_router(
        layer, redis, dialer, ari, overflow_when_nobody=False, announce_first=0.01, announce_interval=30, wrap_up=0
    )
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: ari.named("play"))  # the announcement plays; its PlaybackFinished never comes
    playback_id = ari.named("play")[0][2]
    await layer.agents.login("alice", Device.SOFTPHONE)
    freed_at = asyncio.get_running_loop().time()
    await distributor.offer_now(HOTLINE, freed_at)
    await eventually(lambda: dialer.rung, timeout=1.0)
    assert dialer.rung[0][1] - freed_at < 0.5
    assert ("stop_playback", playback_id) in ari.calls
    await eventually(lambda: ari.named("add_channel"))
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="leg-alice")))
    assert await asyncio.wait_for(task, 2) == "answered"


async def test_given_trigger_time_when_distributor_claims_then_offer_carries_it_for_routing_latency(state):
    """routing_latency counts from what triggered the claim (enqueue, agent freed), not from the citizen's arrival."""
    layer, redis = state
    await staff(layer, "alice")
    _router, distributor = make_router(layer, redis, StubDialer({}), StubAri())
    await layer.queues.enqueue("c9", HOTLINE, owner=INSTANCE)
    inbox = distributor.register("c9", HOTLINE)
    await distributor.offer_now(HOTLINE, triggered_at=42.0)
    offer = inbox.get_nowait()
    assert isinstance(offer, Offer) and offer.triggered_at == 42.0 and offer.claim.agent_ids == ("alice",)
