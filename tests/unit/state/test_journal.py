"""Rule 8: capped journal stream and wait estimates from recent handling times."""

from __future__ import annotations

from redis.asyncio import Redis

from callcontrol.state import Device, Journal, StateLayer

from .helpers import HOTLINE, Clock, agent, staff


async def test_journal_append_and_recent(state: StateLayer) -> None:
    """journal.recent(n) returns the n latest entries, newest first, as typed entries."""
    for i in range(5):
        await state.journal.append({"event": "call_end", "n": i})
    recent = await state.journal.recent(2)
    assert [e.data["n"] for e in recent] == [4, 3]
    assert recent[0].at > 1_600_000_000


async def test_journal_is_capped(redis: Redis, state: StateLayer) -> None:
    """The journal stream is trimmed (MAXLEN ~) so it never grows without bound."""
    journal = Journal(state.store, max_entries=10)
    for i in range(500):
        await journal.append({"n": i})
    length = await redis.xlen("cc:journal")
    assert length < 500
    assert (await journal.recent(1))[0].data == {"n": 499}


async def test_handling_samples_are_capped_at_50(state: StateLayer) -> None:
    """Only the 50 most recent handling times of a hotline are kept."""
    for i in range(60):
        await state.journal.record_handling_time(HOTLINE, i)
    samples = await state.journal.handling_times(HOTLINE)
    assert len(samples) == 50 and samples[0] == 59.0


async def test_estimated_wait(state: StateLayer, clock: Clock) -> None:
    """Wait estimate = mean handling time x position / staffed members; None without samples or staff."""
    await staff(state, clock, "1001", "1002")
    assert await state.journal.estimated_wait(HOTLINE, 1) is None
    for seconds in (100, 200):
        await state.journal.record_handling_time(HOTLINE, seconds)
    assert await state.journal.estimated_wait(HOTLINE, 4) == 150 * 4 / 2
    await state.agents.pause("1002", "lunch")
    assert await state.journal.estimated_wait(HOTLINE, 1) == 150
    await state.agents.logout("1001")
    assert await state.journal.estimated_wait(HOTLINE, 1) is None


async def test_estimated_wait_counts_busy_members_as_staffed(state: StateLayer, clock: Clock) -> None:
    """Members on a call count as staffed (they will be free after their call)."""
    await state.agents.sync_agents([agent("1001")])
    await state.agents.login("1001", Device.SOFTPHONE)
    await state.queues.enqueue("c1", HOTLINE, owner="i1")
    await state.queues.claim(HOTLINE, "linear", instance="i1")
    await state.journal.record_handling_time(HOTLINE, 60)
    assert await state.journal.estimated_wait(HOTLINE, 2) == 120


async def test_journal_ids_follow_the_city_clock_and_range_by_time(state: StateLayer, clock: Clock) -> None:
    """Entries are stamped with the city clock (a demo clock too) and read back by time range, oldest first."""
    await state.journal.append({"n": 1})
    clock.advance(3600)
    await state.journal.append({"n": 2})
    clock.advance(3600)
    await state.journal.append({"n": 3})
    found = await state.journal.between(clock.t - 3600, clock.t)
    assert [e.data["n"] for e in found] == [2, 3] and found[1].at == clock.t


async def test_journal_entry_older_than_the_stream_top_still_lands(state: StateLayer, clock: Clock) -> None:
    """An instance whose clock is a little behind another's still writes its entry (just after the last one)."""
    await state.journal.append({"n": 1})
    await state.journal.append({"n": 2}, now=clock.t - 5)
    assert [e.data["n"] for e in await state.journal.recent(5)] == [2, 1]


async def test_purge_removes_entries_older_than_the_retention(state: StateLayer, clock: Clock) -> None:
    """With a retention of 2 days, the calls of 3 days ago are gone, their masked number and hash with them."""
    await state.journal.append({"caller": "06 •• •• •• 78", "caller_hash": "abc"})
    clock.advance(3 * 86400)
    await state.journal.append({"caller": "06 •• •• •• 11", "caller_hash": "def"})
    assert await state.journal.purge(clock.t - 2 * 86400) == 1
    assert [e.data["caller_hash"] for e in await state.journal.recent(10)] == ["def"]
