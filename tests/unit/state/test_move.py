"""The switchboard's move: a waiting call changes hotline keeping its arrival, atomically (move.lua)."""

from __future__ import annotations

import pytest

from callcontrol.state import CallNotFound, CallNotWaiting, StateLayer, parse_event
from callcontrol.state.events import CallChanged, SwitchboardAsked, encode_event

from .helpers import HOTLINE, T0, Clock, staff

OTHER = "urbanisme"


async def test_a_moved_call_keeps_its_arrival_and_enqueued_at_and_goes_before_later_calls(
    state: StateLayer, clock: Clock
) -> None:
    """Queued at T0 in état civil, moved to urbanisme where a call waits since T0+5: it is first there, still T0."""
    await state.queues.enqueue("early", HOTLINE, owner="i1", now=T0)
    await state.queues.enqueue("later", OTHER, owner="i1", now=T0 + 5)
    assert await state.queues.move("early", OTHER, 0) == (HOTLINE, 1)
    assert [c.call_id for c in await state.queues.waiting(OTHER)] == ["early", "later"]
    assert await state.queues.length(HOTLINE) == 0
    moved = await state.queues.get_call("early")
    assert (moved.hotline, moved.enqueued_at) == (OTHER, T0)
    assert await state.queues.requeue("early") == 1  # a failed offer later puts it back at that same place


async def test_only_a_waiting_call_moves(state: StateLayer, clock: Clock) -> None:
    """An unknown call: CallNotFound; a call being offered to an agent: CallNotWaiting (it stays where it is)."""
    with pytest.raises(CallNotFound):
        await state.queues.move("nope", OTHER, 0)
    await staff(state, clock, "alice")
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.claim(HOTLINE, "linear", instance="i1")
    with pytest.raises(CallNotWaiting):
        await state.queues.move("c1", OTHER, 0)
    assert (await state.queues.get_call("c1")).hotline == HOTLINE


def test_switchboard_requests_and_moves_travel_on_the_events_channel() -> None:
    """SwitchboardAsked round-trips through the channel's JSON; a move's call_changed names where it came from."""
    asked = SwitchboardAsked("c1", "redirect", "i1", 12.5, agent_id="bob", hotline=HOTLINE)
    assert parse_event(encode_event(asked)) == asked
    moved = parse_event('{"type": "call_changed", "call": "c1", "stage": "queued", "hotline": "urbanisme", '
                        '"agent": "", "at": 1, "detail": {"moved_from": "etat-civil", "position": 1}}')
    assert isinstance(moved, CallChanged) and moved.detail["moved_from"] == HOTLINE
