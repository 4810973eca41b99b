"""What routing needs from the rest of callcontrol, as small protocols (wired in app.py, faked in tests)."""

from __future__ import annotations

from typing import Protocol

from callcontrol.routing.hotlines import HotlineRouting


class HotlineHours(Protocol):
    """Whether a hotline takes calls right now, by its own `schedule:` (hours, holidays, closures, "closed now")."""

    async def closed_reason(self, hotline: HotlineRouting) -> str | None:
        """None when the hotline is open now; else why it is closed (e.g. "closed: outside opening hours")."""
        ...


class AlwaysOpen:
    """Hours for tests and for hotlines without a schedule: always open."""

    async def closed_reason(self, hotline: HotlineRouting) -> str | None:
        return None
