"""Follow-up tickets: open once per call, new -> assigned -> done with who and when, listed, purged."""

from __future__ import annotations

import pytest

from callcontrol.state import StateLayer, TicketClosed, TicketNotFound, TicketStatus

from .helpers import Clock


async def test_ticket_goes_new_assigned_done_with_who_and_when(state: StateLayer, clock: Clock) -> None:
    """A voicemail ticket is new, then assigned to an agent, then done by someone with a note and times."""
    t = await state.tickets.open("voicemail", "etat-civil", "c1", "06 •• •• •• 78", recording="vm-c1",
                                 duration=7.5)
    assert (t.status, t.recording, t.duration, t.created_at) == (TicketStatus.NEW, "vm-c1", 7.5, clock.t)
    clock.advance(60)
    t = await state.tickets.assign(t.id, "alice")
    assert (t.status, t.assigned_to, t.assigned_at) == (TicketStatus.ASSIGNED, "alice", clock.t)
    clock.advance(60)
    t = await state.tickets.done(t.id, "alice", "rappelée, acte envoyé")
    assert (t.status, t.done_by, t.done_at, t.done_note) == (TicketStatus.DONE, "alice", clock.t,
                                                             "rappelée, acte envoyé")
    assert t.assigned_at == clock.t - 60


async def test_opening_twice_for_one_call_gives_one_ticket(state: StateLayer, redis2) -> None:
    """Two instances opening the same kind of ticket for the same call get the same ticket."""
    other = StateLayer.create(redis2)
    a = await state.tickets.open("callback_late", "etat-civil", "c2", "06 •• •• •• 78", number="+33612345678")
    b = await other.tickets.open("callback_late", "etat-civil", "c2", "06 •• •• •• 78", number="+33612345678")
    assert a == b
    c = await state.tickets.open("callback_failed", "etat-civil", "c2", "06 •• •• •• 78")
    assert c.id != a.id
    assert len(await state.tickets.list()) == 2


async def test_done_forgets_the_number_and_cannot_be_redone(state: StateLayer) -> None:
    """Closing a callback ticket forgets the citizen's full number; a done ticket is neither reassigned nor closed."""
    t = await state.tickets.open("callback_failed", "urba", "c3", "06 •• •• •• 78", number="+33612345678")
    assert t.number == "+33612345678"
    t = await state.tickets.done(t.id, "bob")
    assert t.number is None and t.assigned_to == "bob"
    with pytest.raises(TicketClosed):
        await state.tickets.assign(t.id, "alice")
    with pytest.raises(TicketClosed):
        await state.tickets.done(t.id, "alice")
    with pytest.raises(TicketNotFound):
        await state.tickets.assign("t999", "alice")


async def test_list_filters_by_status_and_hotline(state: StateLayer, clock: Clock) -> None:
    """list() gives tickets oldest first, filtered by status and hotline."""
    a = await state.tickets.open("voicemail", "etat-civil", "c1", "x")
    clock.advance(1)
    b = await state.tickets.open("voicemail", "urba", "c2", "x")
    clock.advance(1)
    c = await state.tickets.open("voicemail", "etat-civil", "c3", "x")
    await state.tickets.assign(c.id, "alice")
    assert [t.id for t in await state.tickets.list()] == [a.id, b.id, c.id]
    assert [t.id for t in await state.tickets.list(status="new")] == [a.id, b.id]
    assert [t.id for t in await state.tickets.list(hotline="etat-civil")] == [a.id, c.id]
    assert [t.id for t in await state.tickets.list(status="assigned", hotline="urba")] == []


async def test_unknown_kind_is_refused(state: StateLayer) -> None:
    """Only voicemail, callback_late and callback_failed tickets exist."""
    with pytest.raises(ValueError):
        await state.tickets.open("complaint", "etat-civil", "c1", "x")


async def test_purge_removes_tickets_older_than_the_retention(state: StateLayer, clock: Clock) -> None:
    """Tickets created before the retention limit are deleted with their personal data."""
    old = await state.tickets.open("callback_late", "etat-civil", "c1", "x", number="+33612345678")
    clock.advance(100)
    new = await state.tickets.open("voicemail", "etat-civil", "c2", "x")
    assert await state.tickets.purge(clock.t - 50) == 1
    assert [t.id for t in await state.tickets.list()] == [new.id]
    with pytest.raises(TicketNotFound):
        await state.tickets.get(old.id)
    assert await state.store.redis.keys("*c1*") == []
