"""Figures per hotline, day and hour, counted as each call ends (followup/recorder.py, state/figures.py)."""

from __future__ import annotations

import pytest

from callcontrol.followup import daily
from callcontrol.followup.recorder import FollowUp
from callcontrol.state import StateLayer

from .calls import abandoned, answered, closed, voicemail
from .conftest import T0

DAY = "2026-12-02"
LEVELS = (20, 30)


async def test_a_scripted_morning_gives_exactly_the_expected_figures(followup: FollowUp, state: StateLayer) -> None:
    """Answered fast and slow, an early (misdial) and a late abandon, a voicemail, a closed call: the counters,
    the service levels, the waits and the taux de décroché are exactly what a person counts by hand."""
    await followup.call_ended(answered("c1", T0, wait=10.0, talk=100.0))  # 11:00, within 20 s
    await followup.call_ended(answered("c2", T0 + 60, wait=25.0, talk=200.0, caller="0633333333"))  # within 30 s
    await followup.call_ended(answered("c3", T0 + 3600, wait=45.0, talk=60.0, caller="0644444444"))  # 12:00, late
    await followup.call_ended(abandoned("c4", T0 + 3700, after=2.0))  # a misdial: not counted as an abandon
    await followup.call_ended(abandoned("c5", T0 + 3800, after=50.0))
    await followup.call_ended(voicemail("c6", T0 + 3900, seconds=6.0))
    await followup.call_ended(closed("c7", T0 + 4000))
    per = await daily.hotline_figures(state.figures, DAY, LEVELS)
    assert sorted(per) == ["all", "etat-civil"]
    f = per["etat-civil"]
    assert (f.offered, f.answered, f.answered_within, f.abandoned, f.short_abandoned) == (6, 3, {20: 1, 30: 2}, 1, 1)
    assert (f.needing_agent, f.handled, f.voicemail) == (5, 3, 1)
    assert f.pickup_rate == pytest.approx(3 / 5)
    assert f.avg_wait == pytest.approx((10 + 25 + 45 + 50 + 10) / 5) and f.max_wait == 50.0
    assert f.avg_handling == pytest.approx(120.0)
    assert per["all"].calls == 7 and per["all"].closed == 1 and f.closed == 0
    hours = await daily.hourly(state.figures, DAY, "etat-civil", LEVELS)
    assert sorted(hours) == [11, 12]
    assert (hours[11].answered, hours[11].service_level(20)) == (2, 0.5)
    assert (hours[12].answered, hours[12].abandoned, hours[12].voicemail) == (1, 1, 1)


async def test_a_caller_calling_again_within_7_days_is_a_repeat_caller(followup: FollowUp, state: StateLayer) -> None:
    """The same citizen (same salted hash) calling the same hotline 3 days later counts once as a repeat caller;
    8 days later it does not."""
    await followup.call_ended(answered("c1", T0, wait=5, talk=10))
    await followup.call_ended(answered("c2", T0 + 3 * 86400, wait=5, talk=10))
    await followup.call_ended(answered("c3", T0 + 11 * 86400, wait=5, talk=10))
    days = ["2026-12-02", "2026-12-05", "2026-12-13"]
    repeats = [(await daily.hotline_figures(state.figures, d, LEVELS))["etat-civil"].repeat_callers for d in days]
    assert repeats == [0, 1, 0]


async def test_callbacks_count_as_handled_and_on_time(followup: FollowUp, state: StateLayer) -> None:
    """A callback done on time counts as handled and on time; a late one and a failed one are counted apart."""
    await followup.callback_ended("c1", "etat-civil", "done", on_time=True, attempts=1)
    await followup.callback_ended("c2", "etat-civil", "late", on_time=False)
    await followup.callback_ended("c3", "etat-civil", "failed", on_time=False, attempts=3)
    f = (await daily.hotline_figures(state.figures, DAY, LEVELS))["etat-civil"]
    assert (f.callbacks_done, f.callbacks_on_time, f.callbacks_late, f.callbacks_failed, f.handled) == (1, 1, 1, 1, 1)
    results = [e.data["result"] for e in await state.journal.recent(3)]
    assert results == ["callback_failed", "callback_late", "callback_done"]


async def test_several_instances_count_into_the_same_figures(state: StateLayer, settings, clock) -> None:
    """Two instances on one Redis add up their calls in the same hashes."""
    from .conftest import PARIS

    other = StateLayer.create(state.store.redis, clock=clock)
    a, b = FollowUp(state, settings, PARIS, clock), FollowUp(other, settings, PARIS, clock)
    await a.call_ended(answered("c1", T0, wait=5, talk=10))
    await b.call_ended(answered("c2", T0, wait=7, talk=10, caller="0655555555"))
    f = (await daily.hotline_figures(state.figures, DAY, LEVELS))["etat-civil"]
    assert (f.answered, f.max_wait) == (2, 7.0)
