"""A day's figures read back from Redis: per hotline, per hour (what `stats`, `report` and the API show)."""

from __future__ import annotations

from collections.abc import Sequence

from callcontrol.followup.counting import ALL
from callcontrol.followup.report import DayReport
from callcontrol.followup.stats import Figures, figures, hours_with_calls
from callcontrol.state.figures import Figures as FigureStore


async def hotline_figures(store: FigureStore, day: str, levels: Sequence[int]) -> dict[str, Figures]:
    """Each hotline's figures of `day` (and `all`, every citizen call)."""
    return {h: figures(await store.read(day, h), levels) for h in await store.hotlines(day)}


async def hourly(store: FigureStore, day: str, hotline: str, levels: Sequence[int]) -> dict[int, Figures]:
    """One hotline's (or `all`'s) figures of each hour of `day` that had calls."""
    raw = await store.read(day, hotline)
    return {hour: figures(raw, levels, hour) for hour in hours_with_calls(raw)}


async def day_report(store: FigureStore, town: str, day: str, levels: Sequence[int]) -> DayReport:
    per_hotline = await hotline_figures(store, day, levels)
    total = per_hotline.get(ALL) or figures({}, levels)
    return DayReport(town=town, day=day, levels=tuple(levels), total=total,
                     by_hour=await hourly(store, day, ALL, levels), hotlines=per_hotline)
