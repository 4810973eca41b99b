"""The pool of conversation bridges: a bridge is lent again only once every channel added to it left it, any doubt
destroys it, and a conversation on a pooled bridge costs no bridge create and no destroy."""

from __future__ import annotations

import asyncio

import pytest

from callcontrol.ari.errors import BridgeGone
from callcontrol.ari.models import BridgeDestroyed, ChannelLeftBridge
from callcontrol.ari.resources import Bridge, Channel
from callcontrol.routing.bridge_pool import BridgePool
from callcontrol.state.models import AgentStatus

from .kit import HOTLINE, StubAri, StubDialer, citizen, eventually, make_router, staff

pytestmark = pytest.mark.looptime


class CountingAri(StubAri):
    """Each bridge created gets its own id (b1, b2...), with the name asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.created = 0
        self.gone: set[str] = set()  # bridges Asterisk no longer has: addChannel answers 404

    async def create_bridge(self, kind: str = "", *, name: str = "", bridge_id: str | None = None) -> Bridge:
        self.calls.append(("create_bridge", kind))
        self.created += 1
        return Bridge(id=f"b{self.created}", name=name)

    async def add_channel(self, bridge_id: str, channel_id, *, role=None) -> None:
        if bridge_id in self.gone:
            raise BridgeGone(404, "Bridge not found", "POST", f"/bridges/{bridge_id}/addChannel")
        await super().add_channel(bridge_id, channel_id, role=role)


def left(bridge_id: str, channel_id: str) -> ChannelLeftBridge:
    return ChannelLeftBridge(type="ChannelLeftBridge", channel=Channel(id=channel_id), bridge=Bridge(id=bridge_id))


async def test_given_back_bridge_is_lent_again_only_once_both_channels_left_it():
    """A bridge given back is not lent while a channel is still in it; once both left, the next take reuses it."""
    ari = CountingAri()
    pool = BridgePool(ari, instance="i1")  # type: ignore[arg-type]
    first = await pool.take()
    pool.give_back(first, ("c1", "leg1"))
    pool.on_event(left(first, "leg1"))
    assert await pool.take() != first  # c1 is still in it: a new one
    pool.on_event(left(first, "c1"))
    assert await pool.take() == first and ari.created == 2


async def test_a_channel_seen_leaving_before_the_bridge_is_given_back_counts():
    """The agent's leg left while the call was still ending: only the citizen is waited for."""
    pool = BridgePool(CountingAri(), instance="i1")  # type: ignore[arg-type]
    bridge = await pool.take()
    pool.on_event(left(bridge, "leg1"))
    pool.give_back(bridge, ("c1", "leg1"))
    assert pool.idle == 0
    pool.on_event(left(bridge, "c1"))
    assert pool.idle == 1


async def test_a_bridge_not_drained_in_time_is_destroyed_and_never_lent_again():
    """A channel never seen leaving: after DRAIN_SECONDS the bridge is destroyed, as a bridge per call was."""
    ari = CountingAri()
    pool = BridgePool(ari, instance="i1", drain_seconds=5)  # type: ignore[arg-type]
    bridge = await pool.take()
    pool.give_back(bridge, ("c1", "leg1"))
    await asyncio.sleep(6)
    assert ("destroy_bridge", bridge) in ari.calls
    pool.on_event(left(bridge, "c1"))
    pool.on_event(left(bridge, "leg1"))
    assert pool.idle == 0


async def test_discarded_or_surplus_bridges_are_destroyed():
    """A bridge whose contents are unknown is destroyed; so is one given back when the pool is full."""
    ari = CountingAri()
    pool = BridgePool(ari, instance="i1", size=1)  # type: ignore[arg-type]
    a, b, c = await pool.take(), await pool.take(), await pool.take()
    pool.discard(a)
    for bridge in (b, c):
        pool.give_back(bridge, ("x",))
        pool.on_event(left(bridge, "x"))
    await asyncio.sleep(0)
    assert ari.named("destroy_bridge") == [("destroy_bridge", a), ("destroy_bridge", c)] and pool.idle == 1


async def test_after_a_reconnection_only_listed_empty_bridges_of_ours_stay_idle():
    """Asterisk may have restarted: idle are the empty bridges it lists under our prefix, a previous run's too."""
    ari = CountingAri()
    pool = BridgePool(ari, instance="i1")  # type: ignore[arg-type]
    mine = await pool.take()
    pool.give_back(mine, ())
    ari.live_bridges = [
        Bridge(id="old", name="cc-pool-i1-abc-3"), Bridge(id="busy", name="cc-pool-i1-abc-4", channels=("c9",)),
        Bridge(id="other", name="cc-pool-i2-abc-1"), Bridge(id="transfer", name="cc-transfer-c7"),
    ]  # fmt: skip
    await pool.on_connect()
    assert await pool.take() == "old" and ari.created == 1
    assert pool.idle == 0
    pool.on_event(BridgeDestroyed(type="BridgeDestroyed", bridge=Bridge(id="old")))
    assert not pool.owns("old")


async def test_two_conversations_in_a_row_share_one_bridge_and_none_is_destroyed(state):
    """The second citizen talks in the bridge the first conversation emptied: one create, no destroy."""
    layer, redis = state
    await staff(layer, "alice")
    ari = CountingAri()
    pool = BridgePool(ari, instance="i1")  # type: ignore[arg-type]
    router, _ = make_router(layer, redis, StubDialer({}), ari, wrap_up=0, bridges=pool)
    for channel in ("c1", "c2"):
        call = citizen(ari, channel)
        task = asyncio.create_task(router.enqueue(call, HOTLINE))
        await eventually(lambda c=call: c.facts.agent == "alice")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await call.cleanup()
        for gone in (channel, "leg-alice"):
            pool.on_event(left("b1", gone))
        await eventually(lambda: pool.idle == 1)
        assert (await layer.agents.get_state("alice")).status is AgentStatus.AVAILABLE
    assert [c for c in ari.calls if c[0] == "add_channel"] == [
        ("add_channel", "b1", "c1", "leg-alice"), ("add_channel", "b1", "c2", "leg-alice"),
    ]  # fmt: skip
    assert ari.created == 1 and not ari.named("destroy_bridge")


async def test_a_pooled_bridge_asterisk_no_longer_has_is_swapped_for_a_new_one(state):
    """A pooled bridge destroyed meanwhile (404 on addChannel): the conversation goes on in a new bridge."""
    layer, redis = state
    await staff(layer, "alice")
    ari = CountingAri()
    pool = BridgePool(ari, instance="i1")  # type: ignore[arg-type]
    stale = await pool.take()
    pool.give_back(stale, ())
    ari.gone.add(stale)
    router, _ = make_router(layer, redis, StubDialer({}), ari, wrap_up=0, bridges=pool)
    call = citizen(ari)
    task = asyncio.create_task(router.enqueue(call, HOTLINE))
    await eventually(lambda: call.facts.agent == "alice")
    assert ("add_channel", "b2", "c1", "leg-alice") in ari.calls and not pool.owns(stale)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await call.cleanup()
