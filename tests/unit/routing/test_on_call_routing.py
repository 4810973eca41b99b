"""On-call hotlines in routing: the relief announced on the colleague's next call, the escalation when nobody is
on duty, the dialplan fallback following the duty holder (an Asterisk global set through ARI)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

from callcontrol.ari.models import ChannelDestroyed
from callcontrol.ari.resources import Channel
from callcontrol.routing.duty_mirror import FALLBACK_VARIABLE, DutyMirror
from callcontrol.routing.hotlines import Escalation
from callcontrol.routing.relief import relief_media
from callcontrol.state import AgentRecord, Device
from callcontrol.state.duty import Relief

from .kit import HOTLINE, StubAri, StubDialer, citizen, eventually, make_router

PARIS = ZoneInfo("Europe/Paris")
DIRECTORY = [
    AgentRecord(id="damien", name="Damien", mobile="+33612000001", hotlines={HOTLINE: 0}),
    AgentRecord(id="emma", name="Emma", mobile="+33612000002", hotlines={HOTLINE: 1}),
]


class PrefaceDialer(StubDialer):
    """Records what each agent's leg hears before the whisper."""

    def __init__(self) -> None:
        super().__init__({})
        self.prefaces: dict[str, list[str]] = {}

    async def ring(self, call, agent, device, hotline, on_dialled=None, *, leg_id=None, on_answered=None,
                   on_placing=None, preface=()):
        self.prefaces[agent.id] = list(preface)
        return await super().ring(call, agent, device, hotline, on_dialled, leg_id=leg_id, on_answered=on_answered,
                                  on_placing=on_placing)


def test_the_relief_says_since_when_and_whom():
    """"Vous êtes d'astreinte depuis 14 h 02, relais de Damien": the time in the city's zone, then the name."""
    since = datetime(2026, 11, 18, 14, 2, tzinfo=PARIS).timestamp()
    media = relief_media(Relief(since, "damien", (HOTLINE,)), PARIS)
    assert media == ["callcontrol/oncall-since", "number:14", "callcontrol/oncall-hours", "number:2",
                     "callcontrol/oncall-relief-of", "callcontrol/agent-damien"]


async def test_given_a_handover_when_the_next_call_comes_then_the_colleague_hears_the_relief_once(state):
    """Emma's first on-call call after Damien's handover announces it before the whisper, once only."""
    layer, redis = state
    await layer.agents.sync_agents(DIRECTORY, on_call=[HOTLINE])
    await layer.agents.login("damien", Device.MOBILE)
    await layer.duty.handover("damien", "emma")
    ari, dialer = StubAri(), PrefaceDialer()
    router, _ = make_router(layer, redis, dialer, ari, on_call=True, strategy="linear", announce_interval=0,
                            wrap_up=0)
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: ari.named("add_channel"))
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="leg-emma")))
    assert await asyncio.wait_for(task, 2) == "answered"
    assert [a for a, _ in dialer.rung] == ["emma"]  # Damien is never offered a call after the swap
    assert dialer.prefaces["emma"][0] == "callcontrol/oncall-since"
    assert dialer.prefaces["emma"][-1] == "callcontrol/agent-damien"
    assert await layer.duty.take_relief("emma") is None  # said once


async def test_given_nobody_on_duty_when_a_call_comes_then_it_escalates_to_the_duty_manager(state, json_logs):
    """An empty on-call hotline: an `on_call_uncovered` error, the duty manager's mobile, then `unavailable`."""
    layer, redis = state
    await layer.agents.sync_agents(DIRECTORY, on_call=[HOTLINE])  # nobody logged in
    ari, dialer = StubAri(), StubDialer({})
    router, _ = make_router(layer, redis, dialer, ari, on_call=True, strategy="linear",
                            escalation=Escalation(mobile="+33612000009", ring_timeout=5))
    call = citizen(ari)
    dialled: list[tuple[str, float]] = []

    async def transfer(number: str, *, timeout: float = 30.0) -> bool:
        dialled.append((number, timeout))
        return False  # the duty manager does not answer either

    call.transfer = transfer  # type: ignore[method-assign]
    assert await router.enqueue(call, HOTLINE) == "unavailable"
    assert dialled == [("+33612000009", 5)]
    [line] = json_logs.events("on_call_uncovered")
    assert line["level"] == "error" and line["hotline"] == HOTLINE
    assert [p.step for p in call.path][-3:] == ["queue:escalated", "queue:escalation_no_answer", "queue:unavailable"]
    assert dialer.rung == []


async def test_the_fallback_number_follows_the_duty(state):
    """CALLCONTROL_ONCALL holds the reachable holder's mobile, then the colleague's after a handover."""
    layer, _ = state
    await layer.agents.sync_agents(DIRECTORY, on_call=[HOTLINE])
    ari = StubAri()
    mirror = DutyMirror(ari, layer, [HOTLINE])  # type: ignore[arg-type]
    await mirror.sync()
    assert ari.named("request")[-1] == ("request", "POST", "/asterisk/variable",
                                        repr(sorted({"variable": FALLBACK_VARIABLE, "value": "+33612000001"}.items())))
    await layer.agents.login("emma", Device.MOBILE)
    await mirror.sync()  # Damien is not logged in: Emma, logged in, is the one who answers
    assert "+33612000002" in ari.named("request")[-1][3]
    await layer.agents.login("damien", Device.MOBILE)
    await layer.duty.handover("emma", "damien")
    await mirror.sync()
    assert "+33612000001" in ari.named("request")[-1][3]
    count = len(ari.named("request"))
    await mirror.sync()
    assert len(ari.named("request")) == count  # unchanged: not written again
    await layer.agents.sync_agents([AgentRecord(id="paul", name="Paul", softphone="1004", hotlines={HOTLINE: 0})],
                                   on_call=[HOTLINE])
    await mirror.sync()
    assert ari.named("request")[-1][3] == repr(sorted({"variable": FALLBACK_VARIABLE, "value": ""}.items()))
