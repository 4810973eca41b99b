"""Retention (personal data of older calls gone), the export (CSV, JSON lines) and the day's printable report."""

from __future__ import annotations

import csv
import io
import json

from callcontrol.followup import daily, export, report
from callcontrol.followup.recorder import FollowUp
from callcontrol.followup.retention import purge
from callcontrol.settings_sections import FollowUpSettings
from callcontrol.state import StateLayer

from .calls import abandoned, answered, voicemail
from .conftest import PARIS, T0


async def test_a_shortened_retention_deletes_older_calls_and_tickets(state: StateLayer, clock) -> None:
    """With a 2-day retention, a call and its voicemail ticket of 3 days ago are gone (caller, hash, number, the
    recording in Asterisk), today's stay; the figures (no personal data) stay."""
    settings = FollowUpSettings(retention_days=2)
    followup = FollowUp(state, settings, PARIS, clock)
    clock.t = T0
    await followup.call_ended(voicemail("old", T0, seconds=6.0), number="+33611111111")
    clock.t = T0 + 3 * 86400
    await followup.call_ended(answered("new", clock.t, wait=5, talk=10))
    deleted: list[str] = []

    class Recordings:
        async def delete_stored_recording(self, name: str) -> None:
            deleted.append(name)

    purged = await purge(state, settings, clock.t, Recordings())
    assert (purged.journal, purged.tickets, purged.recordings) == (1, 1, 1)
    assert deleted == ["callcontrol-old-abc"]  # the message's audio in Asterisk goes too
    assert [e.data["call_id"] for e in await state.journal.recent(10)] == ["new"]
    assert await state.tickets.list() == []
    redis = state.store.redis
    dump = [await redis.hgetall(k) for k in await redis.keys("*") if await redis.type(k) == "hash"]
    assert "+33611111111" not in str(dump) and "old" not in str(await redis.keys("*ticket*"))
    assert (await daily.hotline_figures(state.figures, "2026-12-02", (20, 30)))["etat-civil"].voicemail == 1


async def test_export_csv_and_jsonl(followup: FollowUp, state: StateLayer) -> None:
    """CSV: a header and one row per call, times in the city's zone; JSON lines: the journaled objects."""
    await followup.call_ended(answered("c1", T0, wait=12, talk=60))
    await followup.call_ended(abandoned("c2", T0 + 60, after=30))
    entries = await state.journal.between(T0 - 1, T0 + 3600)
    rows = list(csv.DictReader(io.StringIO("".join(export.csv_lines(entries, PARIS)))))
    assert [(r["call_id"], r["result"], r["started"]) for r in rows] == [
        ("c1", "answered", "2026-12-02T11:00:00+01:00"), ("c2", "abandoned", "2026-12-02T11:01:00+01:00")]
    assert rows[0]["offered"] == "bob alice" and rows[1]["abandoned_after"] == "30.0"
    lines = [json.loads(x) for x in export.jsonl(entries)]
    assert [x["call_id"] for x in lines] == ["c1", "c2"]


async def test_the_report_is_one_self_contained_page_with_an_hourly_chart(
    followup: FollowUp, state: StateLayer
) -> None:
    """The report: the taux de décroché and service level in words, an inline SVG chart, nothing loaded from
    elsewhere."""
    await followup.call_ended(answered("c1", T0, wait=12, talk=60))
    await followup.call_ended(abandoned("c2", T0 + 3600, after=30))
    page = report.render(await daily.day_report(state.figures, "Mairie de Pessac", "2026-12-02", (20, 30)))
    assert "2 décembre 2026" in page and "Taux de décroché" in page and "50 %" in page
    assert page.count("<svg") == 1 and "11 h" in page and "<polyline" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page


async def test_the_app_keeps_the_retention_on_its_own_clock(state: StateLayer, clock) -> None:
    """The app's retention loop purges as it starts, on the clock it is given (the city clock), then waits for its
    next round: no one has to run a batch."""
    import asyncio
    import contextlib

    from callcontrol.followup.retention import keep_retention

    settings = FollowUpSettings(retention_days=1)
    await state.journal.append({"call_id": "old", "caller": "06 •• •• •• 78"}, now=T0 - 2 * 86400)
    await state.journal.append({"call_id": "new"}, now=T0)
    with contextlib.suppress(TimeoutError):  # cancelled while it waits for the next round (every hour)
        await asyncio.wait_for(keep_retention(state, settings, clock, every=3600), timeout=0.5)
    assert [e.data["call_id"] for e in await state.journal.recent(5)] == ["new"]
