"""Time as every process sees it: the city's wall clock, shifted by one shared offset, and a monotonic clock.

One clock for every process that touches state (docs/architecture.md, "One clock"): a demo or test may set the
city clock (`run --clock` / CALLCONTROL_CLOCK); the offset (city time - real time) is then shared through Redis
(state/clockshare.py) so the CLI and every instance read the same time. Production leaves it unset: offset 0.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass
class Clock:
    """Wall time in the city's zone: real time + `offset` seconds. `start_at` (tests, demos) sets the offset so
    that the clock reads `start_at` now and runs forward from there."""

    zone: ZoneInfo
    start_at: datetime | None = None
    offset: float = 0.0

    def __post_init__(self) -> None:
        if self.start_at is not None:
            start = self.start_at if self.start_at.tzinfo else self.start_at.replace(tzinfo=self.zone)
            self.offset = start.timestamp() - time.time()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), self.zone)

    def time(self) -> float:
        """Epoch seconds on the same clock."""
        return time.time() + self.offset

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()
