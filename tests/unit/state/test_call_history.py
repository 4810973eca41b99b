"""A queued call's history (state/queues.py `history`): its start, path, agent and connection time are kept with
the queue entry, for an instance that adopts the call after a restart."""

from __future__ import annotations

from .helpers import HOTLINE, T0, staff


async def test_given_a_queued_call_when_connected_then_history_has_its_start_path_agent_and_connection(state, clock):
    """What the first instance knew of the call survives with its entry; a call queued without it has none."""
    await staff(state, clock, "alice")
    path = [{"at": T0 - 20, "step": "flow:main"}, {"at": T0 - 3, "step": "digit:1", "digit": "1"}]
    await state.queues.enqueue("c1", HOTLINE, owner="i1", started_at=T0 - 21, path=path)
    history = await state.queues.history("c1")
    assert history is not None and history.started_at == T0 - 21 and list(history.path) == path
    assert history.agent is None and history.connected_at is None

    claim = await state.queues.claim(HOTLINE, "longest_idle", instance="i1")
    assert claim is not None
    clock.advance(5)
    await state.queues.connect("c1", "alice")
    history = await state.queues.history("c1")
    assert history is not None and history.agent == "alice" and history.connected_at == clock.t

    await state.queues.enqueue("c2", HOTLINE, owner="i1")  # an older caller of enqueue: nothing kept
    assert await state.queues.history("c2") is None
    assert await state.queues.history("unknown") is None
