"""The figures a town reads, from the raw counters of a day (state/figures.py): rates, averages, per hour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figures:
    """One hotline's figures over a day or an hour."""

    offered: int
    answered: int
    answered_within: dict[int, int]  # service level (seconds) -> calls answered within it
    abandoned: int  # after the short-abandon threshold
    short_abandoned: int
    needing_agent: int
    handled: int  # answered, or called back
    avg_wait: float | None
    max_wait: float | None
    avg_handling: float | None  # talk time with the agent
    overflow: int
    voicemail: int
    closed: int
    fallback: int
    redirected: int
    callbacks_requested: int
    callbacks_done: int
    callbacks_on_time: int
    callbacks_late: int
    callbacks_failed: int
    repeat_callers: int
    calls: int

    @property
    def pickup_rate(self) -> float | None:
        """Taux de décroché: calls handled by an agent / calls needing one (None without such calls)."""
        return self.handled / self.needing_agent if self.needing_agent else None

    def service_level(self, seconds: int) -> float | None:
        """Share of the calls needing an agent answered within `seconds`."""
        return self.answered_within.get(seconds, 0) / self.needing_agent if self.needing_agent else None


def figures(raw: Mapping[str, float], levels: Sequence[int], hour: int | None = None) -> Figures:
    """The day's figures, or those of one hour (0-23) of it."""
    suffix = "" if hour is None else f"@{hour:02d}"

    def n(name: str) -> float:
        return raw.get(name + suffix, 0.0)

    def avg(total: str, count: str) -> float | None:
        return n(total) / n(count) if n(count) else None

    return Figures(
        offered=int(n("offered")), answered=int(n("answered")),
        answered_within={level: int(n(f"answered_{level}")) for level in levels},
        abandoned=int(n("abandoned")), short_abandoned=int(n("short_abandoned")),
        needing_agent=int(n("needing_agent")), handled=int(n("handled")),
        avg_wait=avg("wait_sum", "wait_n"), max_wait=raw.get("wait_max" + suffix),
        avg_handling=avg("talk_sum", "talk_n"), overflow=int(n("overflow")), voicemail=int(n("voicemail")),
        closed=int(n("closed")), fallback=int(n("fallback")), redirected=int(n("redirected")),
        callbacks_requested=int(n("callback_requested")), callbacks_done=int(n("callbacks_done")),
        callbacks_on_time=int(n("callbacks_on_time")), callbacks_late=int(n("callbacks_late")),
        callbacks_failed=int(n("callbacks_failed")), repeat_callers=int(n("repeat_callers")), calls=int(n("calls")),
    )


def hours_with_calls(raw: Mapping[str, float]) -> list[int]:
    """The hours (0-23) of the day that had calls."""
    return sorted({int(k.rsplit("@", 1)[1]) for k in raw if k.startswith("calls@")})


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f} %"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    minutes, secs = divmod(round(value), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
