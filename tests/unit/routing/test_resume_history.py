"""An adopted call keeps its history (routing/resume.py over state/queues.py `history`): its real start, its path
from the beginning, its agent and connection time, so its one journal entry covers the whole call."""

from __future__ import annotations

import asyncio
import time

from callcontrol.ari.models import Channel, ChannelDestroyed
from callcontrol.ari.resources import Bridge

from .kit import HOTLINE, StubAri, StubDialer, citizen, eventually, make_router, staff

OLD = "old-instance"


async def test_given_conversation_with_history_when_adopted_then_start_path_and_agent_are_the_first_instances(
    state, json_logs
):
    """The adopted conversation starts when the citizen called, its path begins with the flow, goes through the
    queue and the connection, and the agent's handling time counts from the connection, not the adoption."""
    layer, redis = state
    await staff(layer, "alice")
    start = time.time() - 40
    path = [{"at": start, "step": "flow:main"}, {"at": start + 12, "step": "digit:1", "digit": "1"},
            {"at": start + 12, "step": "enqueue:etat-civil"}]
    await layer.queues.enqueue("c1", HOTLINE, owner=OLD, started_at=start, path=path)
    await layer.instances.heartbeat(OLD, 30)
    assert await layer.queues.claim(HOTLINE, "longest_idle", instance=OLD) is not None
    await layer.queues.connect("c1", "alice", now=start + 15)

    ari = StubAri()
    ari.live_bridges = [Bridge(id="b1", channels=("c1", "c1-1a2b3c4d"))]
    router, _ = make_router(layer, redis, StubDialer({}), ari, wrap_up=0)
    call = citizen(ari, resumed=True, state="Up")
    task = asyncio.create_task(router.resume(call))
    await eventually(lambda: any(s.step == "connected:resumed" for s in call.path))
    assert call.started_at == start
    assert [s.step for s in call.path] == [
        "flow:main", "digit:1", "enqueue:etat-civil", "queue:waiting", "connected", "connected:resumed"
    ]
    assert call.path[1].detail == {"digit": "1"} and call.path[4].detail["agent"] == "alice"
    assert call.facts.agent == "alice" and call.facts.device == "softphone"
    call.deliver(ChannelDestroyed(type="ChannelDestroyed", channel=Channel(id="c1-1a2b3c4d")))
    assert await asyncio.wait_for(task, 2) is True
    await call.cleanup()
    released = json_logs.events("agent_released")
    assert len(released) == 1 and released[0]["handled"] >= 24, released
