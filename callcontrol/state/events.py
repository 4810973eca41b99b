"""Notifications published by the scripts on the `cc:events` channel (no polling needed)."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentAvailable:
    """An agent became free (login, unpause, end of wrap-up, release): offer the longest-waiting citizen."""

    agent_id: str
    hotlines: tuple[str, ...]
    at: float


def parse_event(raw: bytes | str) -> AgentAvailable | None:
    """Typed event from a pub/sub message body; None for unknown or malformed messages (ignore them)."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") != "agent_available":
        return None
    hotlines = data.get("hotlines") or []  # Lua's cjson encodes an empty list as {}
    return AgentAvailable(agent_id=str(data.get("agent", "")), hotlines=tuple(hotlines), at=float(data.get("at", 0)))
