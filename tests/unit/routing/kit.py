"""Stubs and fixtures shared by the routing unit tests: a recording ARI, a scripted dialer, a citizen's call
session on it, agents on fakeredis (real Lua scripts)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from callcontrol.ari.errors import AriError, ChannelGone
from callcontrol.ari.resources import Bridge, CallerId, Channel
from callcontrol.calls.session import CallSession
from callcontrol.clock import Clock
from callcontrol.routing.dialer import Leg, LegResult
from callcontrol.routing.distributor import Distributor
from callcontrol.routing.hotlines import HotlineRouting
from callcontrol.routing.ports import HotlineHours
from callcontrol.routing.router import HotlineRouter
from callcontrol.state import AgentRecord, Device, StateLayer
from callcontrol.state.health import RedisHealth

HOTLINE = "etat-civil"
INSTANCE = "i1"


class StubAri:
    """The ARI calls the router makes, recorded; `on_moh` runs inside start_moh (to interleave a distributor)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.on_moh: Callable[[], Awaitable[None]] | None = None
        self.originate_error: AriError | None = None
        self.live_bridges: list[Bridge] = []  # what GET /bridges answers
        self.live_channels: list[str] = []  # what GET /channels answers
        self.stasis: dict[str, str] = {}  # channel id -> its Stasis app_data, for the channels listed in Stasis
        self.app = "callcontrol"

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

    async def channel(self, channel_id: str) -> Channel:
        """Gone once hung up (or listed as not live when live_channels is used)."""
        if ("hangup", channel_id) in self.calls:
            raise ChannelGone(404, "Channel not found", "GET", f"/channels/{channel_id}")
        return Channel(id=channel_id)

    async def originate(self, endpoint: str, **kw) -> Channel:
        self.calls.append(("originate", endpoint, kw["channel_id"], kw.get("caller_id", "")))
        if self.originate_error is not None:
            raise self.originate_error
        return Channel(id=kw["channel_id"])

    async def set_variable(self, channel_id: str, name: str, value: str) -> None:
        self.calls.append(("set_variable", channel_id, name, value))

    async def continue_in_dialplan(self, channel_id: str, *, context=None, extension=None, priority=None) -> None:
        self.calls.append(("continue", channel_id, context or "", extension or ""))

    async def bridges(self) -> list[Bridge]:
        return list(self.live_bridges)

    async def channels(self) -> list[Channel]:
        return [
            Channel(id=c, app_name="Stasis" if c in self.stasis else "", app_data=self.stasis.get(c, ""))
            for c in self.live_channels
        ]

    async def request(self, method: str, path: str, *, params=None, body=None):
        """Raw REST (the takeover's channel move): recorded as ("request", method, path, sorted params)."""
        self.calls.append(("request", method, path, repr(sorted((params or {}).items()))))

    def named(self, name: str) -> list[tuple[str, ...]]:
        return [c for c in self.calls if c[0] == name]


class StubDialer:
    """Answers each agent's leg as scripted (default: accepted), after `delay` seconds. With `ari`, each originate
    is recorded there too (("originate", agent)), in order with the other ARI calls; agents in `unplaceable`
    are never dialled (no device: the real dialer returns FAILED without an originate)."""

    def __init__(self, results: dict[str, LegResult], delay: float = 0.0, *, ari: StubAri | None = None) -> None:
        self.results = results
        self.ari = ari
        self.unplaceable: set[str] = set()
        self.delay = delay
        self.delays: dict[str, float] = {}  # per agent, overrides `delay`
        self.rung: list[tuple[str, float]] = []  # (agent, loop time)
        self.answered: set[str] = set()  # agents whose phone answers without accepting (a mobile's voicemail)

        self.answered: set[str] = set()  # agents whose phone answers at once (before the result)
        self.dismissed: list[tuple[str, bool]] = []  # (leg, answered)
        self.told_taken: list[str] = []
        self.dismiss_delay = 0.0

    async def ring(
        self, call, agent: AgentRecord, device, hotline, on_dialled=None, *, leg_id=None, on_answered=None,
        on_placing=None,
    ) -> Leg:
        if agent.id in self.unplaceable:
            return Leg(agent.id, "", device, LegResult.FAILED)
        self.rung.append((agent.id, asyncio.get_running_loop().time()))
        if self.ari is not None:
            self.ari.calls.append(("originate", agent.id))
        if on_placing is not None:
            on_placing()
        await asyncio.sleep(0)  # the originate's request leaves
        if on_dialled is not None:
            on_dialled(agent.id)
        if agent.id in self.answered and on_answered is not None:
            on_answered(leg_id or f"leg-{agent.id}")
        await asyncio.sleep(self.delays.get(agent.id, self.delay))
        result = self.results.get(agent.id, LegResult.ACCEPTED)
        return Leg(agent.id, f"leg-{agent.id}", device, result, answered=agent.id in self.answered)

    async def tell_taken(self, leg_id: str) -> None:
        self.told_taken.append(leg_id)

    async def dismiss(self, call, leg_id: str, *, answered: bool) -> None:
        await asyncio.sleep(self.dismiss_delay)
        self.dismissed.append((leg_id, answered))


async def eventually(predicate: Callable[[], object], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.002)


def make_router(
    layer: StateLayer,
    redis,
    dialer: StubDialer,
    ari: StubAri,
    hours: HotlineHours | None = None,
    reach=None,
    *,
    health: RedisHealth | None = None,
    degraded_context: str = "",
    **settings,
) -> tuple[HotlineRouter, Distributor]:
    hotlines = {HOTLINE: HotlineRouting(id=HOTLINE, **settings)}
    distributor = Distributor(layer, hotlines, INSTANCE)
    router = HotlineRouter(
        ari=ari,  # type: ignore[arg-type]
        state=layer,
        distributor=distributor,
        dialer=dialer,  # type: ignore[arg-type]
        hotlines=hotlines,
        instance_id=INSTANCE,
        clock=Clock(zone=ZoneInfo("Europe/Paris")),
        hours=hours,
        reach=reach,
        health=health,
        degraded_context=degraded_context,
    )
    return router, distributor


def citizen(ari: StubAri, channel_id: str = "c1", *, resumed: bool = False, state: str = "") -> CallSession:
    channel = Channel(id=channel_id, caller=CallerId(number="0612345678"), state=state)
    return CallSession(
        channel=channel,
        kind="inbound",
        dialled="0556000000",
        ari=ari,  # type: ignore[arg-type]
        clock=Clock(zone=ZoneInfo("Europe/Paris")),
        resumed=resumed,
    )


async def staff(layer: StateLayer, *ids: str, logged_in: bool = True) -> None:
    """Agents of HOTLINE, logged in on their softphone in this order (the first is idle longest)."""
    await layer.agents.sync_agents(
        [AgentRecord(id=a, name=a, softphone=a, mobile=None, hotlines={HOTLINE: 0}) for a in ids]
    )
    for a in ids if logged_in else ():
        await layer.agents.login(a, Device.SOFTPHONE)
        await asyncio.sleep(0.002)  # distinct idle_since
