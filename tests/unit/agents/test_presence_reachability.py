"""Login checks the softphone first (Reachability port): not registered is refused, unknown is a warning."""

from __future__ import annotations

import fakeredis
import pytest

from callcontrol.agents.presence import Presence, SoftphoneNotRegistered
from callcontrol.state import AgentRecord, AgentStatus, Device, StateLayer

HOTLINE = "etat-civil"


class Answers:
    """A Reachability that answers as told and records what it was asked."""

    def __init__(self, registered: bool | None) -> None:
        self.registered = registered
        self.asked: list[str] = []

    async def softphone_registered(self, endpoint: str) -> bool | None:
        self.asked.append(endpoint)
        return self.registered


@pytest.fixture
async def state():
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    layer = StateLayer.create(redis, clock=lambda: 0.0)
    await layer.agents.sync_agents([
        AgentRecord(id="bob", name="Bob", softphone="1002", mobile="+33612345678", hotlines={HOTLINE: 0}),
    ])
    yield layer
    await redis.aclose()


async def test_login_on_an_unregistered_softphone_is_refused_with_what_to_do(state: StateLayer) -> None:
    """Not registered: refused, the agent stays logged out, and the message says how to get calls anyway."""
    presence = Presence(state, lambda: 1.0, reachability=Answers(False))
    with pytest.raises(SoftphoneNotRegistered) as refused:
        await presence.login("bob", "softphone", by="cli")
    assert str(refused.value) == (
        "softphone 1002 is not registered: start the softphone, or log in on the mobile with --device mobile"
    )
    assert (await state.agents.get_state("bob")).status is AgentStatus.LOGGED_OUT


async def test_login_on_the_mobile_does_not_ask_about_the_softphone(state: StateLayer) -> None:
    """A mobile login is never refused because the softphone is off."""
    reach = Answers(False)
    result = await Presence(state, lambda: 1.0, reachability=reach).login("bob", Device.MOBILE, by="cli")
    assert (result.status, result.device, result.warning) == (AgentStatus.AVAILABLE, Device.MOBILE, None)
    assert reach.asked == []


async def test_login_when_asterisk_cannot_tell_is_accepted_with_a_warning(state: StateLayer) -> None:
    """Asterisk away: the login goes through, with a warning naming the softphone."""
    result = await Presence(state, lambda: 1.0, reachability=Answers(None)).login("bob", "softphone", by="cli")
    assert result.status is AgentStatus.AVAILABLE
    assert result.warning is not None and "softphone 1002" in result.warning


async def test_login_on_a_registered_softphone_marks_it_reachable(state: StateLayer) -> None:
    """Registered: logged in, and a stale "unreachable" flag is cleared before she is announced."""
    await state.agents.set_reachable("bob", "softphone", False)
    result = await Presence(state, lambda: 1.0, reachability=Answers(True)).login("bob", "softphone", by="cli")
    assert (result.status, result.warning) == (AgentStatus.AVAILABLE, None)
    assert (await state.agents.get_state("bob")).reachable
