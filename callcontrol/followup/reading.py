"""The figures a reader asks for by day: what the API's /api/figures and the wallboard's service level show.

One source for every reader (`callcontrol stats`, `report`, the API, the wallboard): the counters of
state/figures.py, incremented as each call ends (followup/recorder.py), turned into rates by followup/stats.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from callcontrol.clock import Clock
from callcontrol.followup import daily
from callcontrol.followup.counting import ALL
from callcontrol.followup.stats import Figures, figures
from callcontrol.state.figures import Figures as FigureStore


class FigureReading:
    def __init__(self, store: FigureStore, clock: Clock, levels: Sequence[int] = (20, 30)) -> None:
        self._store = store
        self._clock = clock
        self.levels = tuple(levels)

    def today(self) -> str:
        """Today's date in the city (YYYY-MM-DD)."""
        return self._clock.now().date().isoformat()

    def day_start(self, day: str) -> float:
        """Midnight of `day`, city time, in epoch seconds."""
        return datetime.fromisoformat(day).replace(tzinfo=self._clock.zone).timestamp()

    async def day(self, day: str) -> dict[str, Figures]:
        """Each hotline's figures of `day`, and `all` (every citizen call), zeros for `all` on a quiet day."""
        found = await daily.hotline_figures(self._store, day, self.levels)
        found.setdefault(ALL, figures({}, self.levels))
        return found

    async def hours(self, day: str, hotline: str = ALL) -> dict[int, Figures]:
        """One hotline's (or `all`'s) figures per hour of `day` that had calls."""
        return await daily.hourly(self._store, day, hotline, self.levels)

    def empty(self) -> Figures:
        return figures({}, self.levels)
