"""The figures routes (today's, and any day's per hotline and hour) and the wallboard's reading of today.

Both come from followup's counters (state/figures.py, counted as each call ends; followup/reading.py), the same
numbers as `callcontrol stats` and the day's report: the wallboard's "service level today" is `service_level`
of the API's figures at the wallboard's target (20 s).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from callcontrol.followup.counting import ALL
from callcontrol.followup.reading import FigureReading
from callcontrol.followup.stats import Figures as DayFigures
from callcontrol.routing.switchboard_views import ANSWERED_WITHIN, Figures, HotlineFigures
from callcontrol.supervision import models as m
from callcontrol.supervision.auth import Role, json_error, require
from callcontrol.supervision.bodies import refusals, reply
from callcontrol.supervision.routes import RouteDoc, documented
from callcontrol.supervision.server import DEPS

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_OUTCOMES = ("answered", "abandoned", "voicemail", "overflow", "closed", "fallback", "redirected",
             "callbacks_requested")


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def figures_out(hotline: str, f: DayFigures, levels: Sequence[int]) -> dict:
    return dict(
        hotline_id=hotline, calls=f.calls, offered=f.offered, needing_agent=f.needing_agent, answered=f.answered,
        answered_within={str(s): f.answered_within.get(s, 0) for s in levels},
        answered_within_20s=f.answered_within.get(20) if 20 in levels else None,
        service_level={str(s): _round(f.service_level(s), 3) for s in levels},
        abandoned=f.abandoned, short_abandoned=f.short_abandoned, not_answered=max(0, f.needing_agent - f.handled),
        handled=f.handled, pickup_rate=_round(f.pickup_rate, 3), mean_wait=_round(f.avg_wait),
        max_wait=_round(f.max_wait), avg_handling=_round(f.avg_handling), overflow=f.overflow, voicemail=f.voicemail,
        closed=f.closed, fallback=f.fallback, redirected=f.redirected, callbacks_requested=f.callbacks_requested,
        callbacks_done=f.callbacks_done, callbacks_on_time=f.callbacks_on_time, callbacks_late=f.callbacks_late,
        callbacks_failed=f.callbacks_failed, repeat_callers=f.repeat_callers,
    )


async def _answer(request: web.Request, day: str, hotline: str | None) -> web.Response:
    deps = request.app[DEPS]
    reading = deps.figure_reading()
    known = deps.switchboard.hotline_ids()
    if hotline is not None and hotline != ALL and hotline not in known:
        raise json_error(web.HTTPNotFound, "not_found", f"no hotline {hotline!r}")
    async with refusals():
        per = await reading.day(day)
        hours = await reading.hours(day, hotline or ALL)
    levels = reading.levels
    ids = [h for h in (*known, *sorted(set(per) - set(known) - {ALL})) if hotline in (None, ALL, h)]
    total = per[ALL]
    outcomes = {name: getattr(total, name) for name in _OUTCOMES}
    return reply(m.FiguresOut(
        day=day, since=reading.day_start(day), levels=list(levels), calls=total.calls,
        by_outcome={k.replace("callbacks_", "callback_"): v for k, v in outcomes.items() if v},
        total=m.HotlineFiguresOut(**figures_out(ALL, total, levels)),
        hotlines=[m.HotlineFiguresOut(**figures_out(h, per.get(h) or reading.empty(), levels)) for h in ids],
        hours=[m.HourFiguresOut(hour=hour, **figures_out(hotline or ALL, f, levels)) for hour, f in hours.items()],
    ))


async def today(request: web.Request) -> web.Response:
    require(request, Role.VIEWER)
    return await _answer(request, request.app[DEPS].figure_reading().today(), None)


async def any_day(request: web.Request) -> web.Response:
    require(request, Role.VIEWER)
    day = request.query.get("day") or request.app[DEPS].figure_reading().today()
    if not _DAY.match(day):
        raise json_error(web.HTTPUnprocessableEntity, "invalid", f"day: {day!r} is not YYYY-MM-DD")
    try:
        request.app[DEPS].figure_reading().day_start(day)
    except ValueError:
        raise json_error(web.HTTPUnprocessableEntity, "invalid", f"day: {day!r} is not a date") from None
    return await _answer(request, day, request.query.get("hotline") or None)


def board_today(reading: FigureReading, hotline_ids: Sequence[str],
                level: int = int(ANSWERED_WITHIN)) -> Callable[[], Awaitable[Figures]]:
    """The wallboard's today (supervision/board.py reads the switchboard's Figures view) from followup's counters:
    `calls` = needing an agent, `answered_within` = answered within `level` s, so the tile's service level is
    the API's service_level[level]."""

    async def read() -> Figures:
        day = reading.today()
        per = await reading.day(day)
        total = per[ALL]
        return Figures(
            since=reading.day_start(day), calls=total.calls,
            by_outcome={name: getattr(total, name) for name in _OUTCOMES if getattr(total, name)},
            hotlines=tuple(_hotline(h, per.get(h) or reading.empty(), level) for h in hotline_ids),
        )

    return read


def _hotline(hotline: str, f: DayFigures, level: int) -> HotlineFigures:
    return HotlineFigures(hotline_id=hotline, calls=f.needing_agent, answered=f.answered,
                          answered_within=f.answered_within.get(level, 0),
                          not_answered=max(0, f.needing_agent - f.handled), mean_wait=_round(f.avg_wait))


def add_routes(app: web.Application) -> None:
    documented(app, RouteDoc("GET", "/api/figures/today", "Today's figures per hotline and per hour (counted as "
                             "each call ends)", Role.VIEWER, response=m.FiguresOut, tag="figures"), today)
    documented(app, RouteDoc("GET", "/api/figures", "A day's figures per hotline, and per hour of one hotline",
                             Role.VIEWER, response=m.FiguresOut, tag="figures", errors=(404,),
                             params={"day": "YYYY-MM-DD (default today, city time)",
                                     "hotline": "only this hotline (its hours; default all)"}), any_day)
