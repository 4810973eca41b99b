"""What routing needs from the rest of callcontrol, as small protocols (wired in app.py, faked in tests)."""

from __future__ import annotations

import math
from typing import Protocol

from callcontrol.routing.hotlines import HotlineRouting


class HotlineHours(Protocol):
    """Whether a hotline takes calls right now, by its own `schedule:` (hours, holidays, closures, "closed now")."""

    async def closed_reason(self, hotline: HotlineRouting) -> str | None:
        """None when the hotline is open now; else why it is closed (e.g. "closed: outside opening hours")."""
        ...

    def recheck_in(self, hotline: HotlineRouting) -> float:
        """Seconds until it is worth asking again (hours change on the minute; "closed now" any time)."""
        ...


class AlwaysOpen:
    """Hours for tests and for hotlines without a schedule: always open."""

    async def closed_reason(self, hotline: HotlineRouting) -> str | None:
        return None

    def recheck_in(self, hotline: HotlineRouting) -> float:
        return math.inf
