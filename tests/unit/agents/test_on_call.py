"""On-call duty through the presence use cases: never nobody on call, forced leaves, handover, who is on duty."""

from __future__ import annotations

import fakeredis
import pytest

from callcontrol.agents.presence import (
    ColleagueUnreachable,
    ForceRefused,
    HandoverToSelf,
    NothingToHandOver,
    NotInHotline,
    OnCallUncovered,
    Presence,
    PresenceRefused,
    UnknownAgent,
)
from callcontrol.state import AgentRecord, AgentStatus, Device, StateLayer

T0 = 1_800_000_000.0
ONCALL = "astreinte"

DIRECTORY = [
    AgentRecord(id="damien", name="Damien Roux", mobile="+33612000001", hotlines={ONCALL: 0, "tech": 1}),
    AgentRecord(id="emma", name="Emma Girard", mobile="+33612000002", hotlines={ONCALL: 1}),
    AgentRecord(id="alice", name="Alice", softphone="1001", hotlines={"tech": 0}),
    AgentRecord(id="paul", name="Paul", softphone="1004", hotlines={ONCALL: 2}),
]


@pytest.fixture
async def state():
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    layer = StateLayer.create(redis, clock=lambda: 0.0)
    await layer.agents.sync_agents(DIRECTORY, on_call=[ONCALL], now=T0)
    yield layer
    await redis.aclose()


class NoSoftphoneRegistered:
    async def softphone_registered(self, endpoint: str) -> bool | None:
        return False


@pytest.fixture
def presence(state: StateLayer) -> Presence:
    return Presence(state, lambda: T0 + 60, reachability=NoSoftphoneRegistered())


async def test_the_last_reachable_on_call_member_cannot_log_out_or_pause(presence: Presence) -> None:
    """Logout and pause of the last reachable on-call member are refused, saying to hand over; others pass."""
    await presence.login("damien", Device.MOBILE, by="agents-line")
    with pytest.raises(OnCallUncovered, match="hand the duty over") as refused:
        await presence.logout("damien", by="softphone")
    assert refused.value.hotlines == (ONCALL,)
    with pytest.raises(OnCallUncovered):
        await presence.pause("damien", "lunch", by="agents-line")
    await presence.login("emma", Device.MOBILE, by="agents-line")
    assert (await presence.logout("damien", by="agents-line")).status is AgentStatus.LOGGED_OUT
    with pytest.raises(OnCallUncovered):
        await presence.logout("emma", by="cli")


async def test_only_a_supervisor_may_force_and_it_is_audited(presence: Presence, state: StateLayer) -> None:
    """force=True passes the guard from the CLI/API only, and the audit says it was forced and by whom."""
    await presence.login("damien", Device.MOBILE, by="agents-line")
    with pytest.raises(ForceRefused):
        await presence.logout("damien", by="softphone", force=True)
    await presence.logout("damien", by="cli", force=True, actor="sophie")
    last = (await state.duty.audit("damien"))[-1]
    assert (last.what, last.by, last.forced, last.actor) == ("logged_out", "cli", True, "sophie")
    assert last.detail == f"left uncovered: {ONCALL}"


async def test_a_handover_moves_every_duty_in_one_step(presence: Presence, state: StateLayer) -> None:
    """Damien hands over to Emma: she is logged in on her mobile, on duty, relieving him; he is out of duty."""
    await presence.login("damien", Device.MOBILE, by="agents-line")
    # by default every configured member holds the duty: take Emma and Paul off by handing Damien theirs first
    assert [h.agent_id for h in await presence.on_duty(ONCALL)] == ["damien", "emma", "paul"]
    await state.duty.handover("emma", "damien", now=T0)
    await state.duty.handover("paul", "damien", now=T0)
    done = await presence.handover("damien", "emma", by="agents-line")
    assert (done.from_agent, done.to_agent, done.hotlines, done.at) == ("damien", "emma", (ONCALL,), T0 + 60)
    holders = await presence.on_duty()
    assert [(h.hotline, h.agent_id, h.since, h.relieved) for h in holders] == [(ONCALL, "emma", T0 + 60, "damien")]
    emma = (await presence.status("emma"))[0]
    assert (emma.status, emma.device) == (AgentStatus.AVAILABLE, Device.MOBILE)
    # Damien now may leave: he holds no duty any more
    assert (await presence.logout("damien", by="agents-line")).status is AgentStatus.LOGGED_OUT
    relief = await state.duty.take_relief("emma")
    assert relief is not None and (relief.relieved, relief.since) == ("damien", T0 + 60)
    assert await state.duty.take_relief("emma") is None


@pytest.mark.parametrize(
    ("giver", "colleague", "error"),
    [
        ("damien", "damien", HandoverToSelf),
        ("damien", "nobody", UnknownAgent),
        ("damien", "alice", NotInHotline),
        ("alice", "emma", NothingToHandOver),
        ("damien", "paul", ColleagueUnreachable),  # softphone only, never seen registered
    ],
)
async def test_a_handover_is_refused_with_the_reason(
    presence: Presence, state: StateLayer, giver: str, colleague: str, error: type[PresenceRefused]
) -> None:
    """Each bad handover is refused with its own error and changes nobody's duty."""
    await presence.login("damien", Device.MOBILE, by="agents-line")
    await state.duty.handover("paul", "damien", now=T0)  # Paul logged out of duty (so unreachable is checked)
    before = await presence.on_duty()
    with pytest.raises(error):
        await presence.handover(giver, colleague, by="agents-line")
    assert await presence.on_duty() == before


async def test_duty_survives_a_directory_sync(presence: Presence, state: StateLayer) -> None:
    """Another instance starting (sync) keeps who holds the duty; an agent removed from config loses it."""
    await presence.login("damien", Device.MOBILE, by="cli")
    await presence.handover("damien", "emma", by="cli")
    await state.agents.sync_agents(DIRECTORY, on_call=[ONCALL], now=T0 + 100)
    assert [h.agent_id for h in await presence.on_duty(ONCALL)] == ["emma", "paul"]
    await state.agents.sync_agents([r for r in DIRECTORY if r.id != "emma"], on_call=[ONCALL], now=T0 + 200)
    assert [h.agent_id for h in await presence.on_duty(ONCALL)] == ["paul"]


async def test_a_colleague_already_free_is_announced_available_for_her_new_duty(
    presence: Presence, state: StateLayer
) -> None:
    """Emma, logged in and free, takes Damien's duty: agent_available at once (a waiting call reaches her now)."""
    from callcontrol.state import AgentAvailable, parse_event

    await presence.login("damien", Device.MOBILE, by="cli")
    await presence.login("emma", Device.MOBILE, by="cli")
    pubsub = state.store.redis.pubsub()
    await pubsub.subscribe(state.store.keys.events)
    await pubsub.get_message(timeout=0.2)
    await presence.handover("damien", "emma", by="agents-line")
    events = []
    while (msg := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)) is not None:
        events.append(parse_event(msg["data"]))
    await pubsub.aclose()
    assert any(isinstance(e, AgentAvailable) and e.agent_id == "emma" for e in events), events


async def test_after_a_handover_only_the_new_holder_is_claimed_for_the_on_call_hotline(
    presence: Presence, state: StateLayer
) -> None:
    """The claim reads the hotline indexes: the one who handed over is never offered an on-call call again."""
    await presence.login("damien", Device.MOBILE, by="agents-line")
    await state.duty.handover("emma", "damien", now=T0)
    await state.duty.handover("paul", "damien", now=T0)
    await presence.handover("damien", "emma", by="agents-line")
    assert await state.agents.reachable_count(ONCALL) == 1
    await state.queues.enqueue("c1", ONCALL, owner="i1")
    claim = await state.queues.claim(ONCALL, "linear", instance="i1")
    assert claim is not None and claim.agent_ids == ("emma",)
