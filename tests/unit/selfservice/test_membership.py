"""Per-hotline membership (membership.lua): out of one hotline while logged in for the others, kept by a sync."""

from __future__ import annotations

import pytest

from callcontrol.state.membership import LastOnCall, Membership, NotAHotlineOf
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
    change = await membership.leave("alice", "urbanisme", guard=False, by="softphone")
    assert change.hotlines == ("etat-civil",) and change.changed
    assert await members(state, "urbanisme") == []
    assert "alice" in await members(state, "etat-civil")
    await state.agents.sync_agents(AGENTS)
    assert await members(state, "urbanisme") == []
    assert await membership.hotlines_of("alice") == ("etat-civil",)
    await membership.join("alice", "urbanisme", by="softphone")
    assert await state.agents.members("urbanisme") == [("alice", 1)]


async def test_only_and_join_all(state) -> None:
    """only(h): in that hotline alone; join_all: back in every configured hotline."""
    membership = Membership(state.store)
    assert (await membership.only("alice", "urbanisme", guard=False, by="softphone")).hotlines == ("urbanisme",)
    assert await members(state, "etat-civil") == ["bob"]
    assert (await membership.join_all("alice", by="softphone")).hotlines == ("etat-civil", "urbanisme")


async def test_a_hotline_that_is_not_hers_is_refused(state) -> None:
    """bob has no urbanisme in agents.yaml: he cannot join it."""
    with pytest.raises(NotAHotlineOf):
        await Membership(state.store).join("bob", "urbanisme", by="softphone")


async def test_the_last_reachable_member_cannot_leave_an_on_call_hotline(state) -> None:
    """damien alone logged in for astreinte: leaving it is refused; once emma is logged in too, he may."""
    membership = Membership(state.store)
    await state.agents.login("damien", Device.MOBILE, now=T0)
    with pytest.raises(LastOnCall):
        await membership.leave("damien", "astreinte", guard=True, by="softphone")
    assert "damien" in await members(state, "astreinte")
    await state.agents.login("emma", Device.MOBILE, now=T0)
    assert (await membership.leave("damien", "astreinte", guard=True, by="softphone")).hotlines == ()
