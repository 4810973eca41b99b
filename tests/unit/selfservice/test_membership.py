"""Per-hotline membership (membership.lua): out of one hotline while logged in for the others, kept by a sync."""

from __future__ import annotations

import pytest

from callcontrol.state.membership import Membership, NotAHotlineOf, OnCallDuty
from callcontrol.state.models import Device

from .kit import AGENTS, T0, make_state


@pytest.fixture
async def state():
    layer = await make_state()
    yield layer
    await layer.store.redis.aclose()


async def members(state, hotline: str) -> list[str]:
    return [a for a, _ in await state.agents.members(hotline)]


async def test_an_agent_out_of_one_hotline_is_not_offered_its_calls_and_a_sync_keeps_her_out(state) -> None:
    """leave(urbanisme): not a member of it any more (no claim reaches her), still of etat-civil; a directory sync
    (an instance restarting) does not put her back; join puts her back with her configured penalty."""
    membership = Membership(state.store)
    await state.agents.login("alice", Device.SOFTPHONE, now=T0)
    change = await membership.leave("alice", "urbanisme", by="softphone")
    assert change.hotlines == ("etat-civil",) and change.changed
    assert await state.agents.reachable_count("urbanisme") == 0  # the index the claim reads follows her out
    await state.queues.enqueue("c1", "urbanisme", owner="i1")
    assert await state.queues.claim("urbanisme", "longest_idle", instance="i1") is None
    await state.queues.leave("c1")
    assert await members(state, "urbanisme") == []
    assert "alice" in await members(state, "etat-civil")
    await state.agents.sync_agents(AGENTS)
    assert await members(state, "urbanisme") == []
    assert await membership.hotlines_of("alice") == ("etat-civil",)
    await membership.join("alice", "urbanisme", by="softphone")
    assert await state.agents.members("urbanisme") == [("alice", 1)]
    audit = [f for _id, f in await state.store.redis.xrange("cc:audit") if f["by"] == "softphone"]  # not the login
    assert [(f["agent"], f["what"], f["by"]) for f in audit] == [
        ("alice", "left urbanisme", "softphone"), ("alice", "joined urbanisme", "softphone")
    ]


async def test_only_and_join_all(state) -> None:
    """only(h): in that hotline alone; join_all: back in every configured hotline."""
    membership = Membership(state.store)
    assert (await membership.only("alice", "urbanisme", by="softphone")).hotlines == ("urbanisme",)
    assert await members(state, "etat-civil") == ["bob"]
    assert (await membership.join_all("alice", by="softphone")).hotlines == ("etat-civil", "urbanisme")


async def test_a_hotline_that_is_not_hers_is_refused(state) -> None:
    """bob has no urbanisme in agents.yaml: he cannot join it."""
    with pytest.raises(NotAHotlineOf):
        await Membership(state.store).join("bob", "urbanisme", by="softphone")


async def test_on_call_hotlines_follow_the_duty_not_the_feature_codes(state) -> None:
    """astreinte is on call: damien can neither leave nor join it by code, and "all" / "only" leave his duty as it
    is (handover and rota move it)."""
    membership = Membership(state.store, on_call=["astreinte"])
    for change in (membership.leave, membership.join, membership.only):
        with pytest.raises(OnCallDuty):
            await change("damien", "astreinte", by="softphone")
    assert "damien" in await members(state, "astreinte")
    await state.store.redis.zrem(state.store.keys.members("astreinte"), "emma")  # emma handed hers over
    assert (await membership.join_all("emma", by="softphone")).hotlines == ()
    assert await members(state, "astreinte") == ["damien"]
