"""The end of a call in one round trip (state/call_end.py): the same journal line, figures and repeat check as the
four separate writes it replaces (Journal.append, Figures.seen_before, Figures.add for the hotline and `all`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import fakeredis

from callcontrol.followup.counting import ALL, counts_of
from callcontrol.followup.recorder import FollowUp
from callcontrol.settings_sections import FollowUpSettings
from callcontrol.state import StateLayer

from .calls import abandoned, answered, closed, voicemail
from .conftest import PARIS, T0, Clock


def _layer(clock: Clock) -> StateLayer:
    return StateLayer.create(fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True),
                             clock=clock, journal_max_entries=3)


async def _four_writes(state: StateLayer, settings: FollowUpSettings, entry: dict[str, Any]) -> None:
    """What FollowUp.call_ended wrote before: the journal line, then the repeat check, then each figures hash."""
    await state.journal.append(entry)
    counts = counts_of(entry, settings)
    if not counts.counts:
        return
    at, hotline = float(entry["started_at"]), entry.get("hotline")
    if hotline and entry.get("caller_hash") and "offered" in counts.counts:
        if await state.figures.seen_before(hotline, entry["caller_hash"], at, settings.repeat_days * 86400):
            counts.counts["repeat_callers"] = 1
    moment = datetime.fromtimestamp(at, PARIS)
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    for h in ([hotline] if hotline else []) + [ALL]:
        await state.figures.add(moment.date().isoformat(), moment.hour, h, counts.counts, counts.maxima,
                                day_start=start)


async def _dump(state: StateLayer) -> dict[str, Any]:
    redis = state.store.redis
    out: dict[str, Any] = {}
    for key in sorted(await redis.keys("*")):
        if key.startswith("cc:ticket"):  # the voicemail's ticket: not part of these writes
            continue
        kind = await redis.type(key)
        if kind == "hash":
            out[key] = await redis.hgetall(key)
        elif kind == "zset":
            out[key] = await redis.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            out[key] = await redis.xrange(key)
        out[f"{key} ttl>0"] = await redis.ttl(key) > 0 if kind == "hash" else None
    return out


async def test_a_call_end_writes_exactly_what_the_four_writes_did(settings: FollowUpSettings) -> None:
    """Answered, abandoned, voicemail, closed calls, a repeat caller, an entry older than the stream's top and a
    stream over its cap: every key (journal ids and lines, figures, maxima, days index, seen zset) is identical."""
    calls = [
        answered("c1", T0, wait=10.0, talk=100.0), answered("c2", T0 + 60, wait=25.0, talk=200.0),
        abandoned("c3", T0 + 3700, after=50.0), voicemail("c4", T0 + 3900, seconds=6.0), closed("c5", T0 + 4000),
        answered("c6", T0 + 3 * 86400, wait=5.0, talk=10.0),
    ]
    old_clock, new_clock = Clock(), Clock()
    old, new = _layer(old_clock), _layer(new_clock)
    followup = FollowUp(new, settings, PARIS, new_clock)
    for i, entry in enumerate(calls):
        for clock in (old_clock, new_clock):
            clock.t = T0 + i * 10 - (30 if i == 4 else 0)  # the 5th ends "before" the 4th (a clock behind)
        await _four_writes(old, settings, entry)
        await followup.call_ended(entry)
    assert await _dump(new) == await _dump(old)
    assert (await _dump(new))["cc:figures:2026-12-05:etat-civil"]["repeat_callers"] == "1"


async def test_a_call_end_is_one_redis_round_trip(followup: FollowUp, state: StateLayer) -> None:
    """An answered call's journal line, figures (hotline and all) and repeat check: one command to Redis."""
    redis = state.store.redis
    sent: list[Any] = []
    execute = redis.execute_command

    async def counting(*args: Any, **kwargs: Any) -> Any:
        sent.append(args[0])
        return await execute(*args, **kwargs)

    redis.execute_command = counting  # type: ignore[method-assign]
    await followup.call_ended(answered("c0", T0 - 600, wait=5.0, talk=10.0))  # loads the script (NOSCRIPT once)
    sent.clear()
    await followup.call_ended(answered("c1", T0, wait=5.0, talk=10.0))
    assert sent == ["EVALSHA"]
    assert [e.data["call_id"] for e in await state.journal.recent(2)] == ["c1", "c0"]
