"""Time as calls see it: the city's wall clock (which tests and demos may set) and a monotonic clock."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo


@dataclass
class Clock:
    """Wall time in the city's zone. `start_at` (tests, demos: CALLCONTROL_CLOCK) makes the clock start at that
    instant and run forward from there; production leaves it unset."""

    zone: ZoneInfo
    start_at: datetime | None = None
    _origin: float = field(default_factory=time.time, init=False)

    def now(self) -> datetime:
        if self.start_at is None:
            return datetime.now(self.zone)
        start = self.start_at if self.start_at.tzinfo else self.start_at.replace(tzinfo=self.zone)
        return datetime.fromtimestamp(start.timestamp() + time.time() - self._origin, self.zone)

    def time(self) -> float:
        """Epoch seconds on the same clock."""
        return self.now().timestamp()

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()
