"""The state events' types and their wire format on `cc:events` (the Lua scripts publish the same JSON): parse
what arrives, encode what Python publishes. The channel itself, publish and listen: events.py. Formats:
docs/state.md."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson


class CallStage(StrEnum):
    QUEUED = "queued"  # waiting on a hotline
    OFFERED = "offered"  # reserved for one or more agents
    RINGING = "ringing"  # an agent's device rings
    CONNECTED = "connected"  # an agent took it
    ENDED = "ended"  # the conversation is over (the agent was released)
    LEFT = "left"  # the citizen hung up while waiting or being offered


@dataclass(frozen=True, slots=True)
class AgentAvailable:
    """An agent became free (login, unpause, end of wrap-up, release): offer the longest-waiting citizen."""

    agent_id: str
    hotlines: tuple[str, ...]
    at: float


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    """An agent's presence changed: `status` is an AgentStatus value, `by` the route that asked for it
    ("cli", "softphone", "agents-line", "api", "rota", "auto-pause", "system", ...)."""

    agent_id: str
    status: str
    device: str | None
    reason: str | None
    at: float
    by: str = "system"


@dataclass(frozen=True, slots=True)
class CallChanged:
    """A citizen's call reached a stage; `detail` carries stage-specific facts (position, agents, ...)."""

    call_id: str
    stage: CallStage
    hotline: str | None
    agent_id: str | None
    at: float
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resubscribed:
    """Not a state change: `listen` is (again) subscribed; events may have been missed before it, so re-sweep.
    `down_seconds` is 0.0 for the first subscription and when the client re-subscribed by itself (not measured)."""

    down_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class SwitchboardAsked:
    """The switchboard asked something of a waiting call; only the call's `owner` instance acts on it (its task
    holds the citizen): `action` "redirect" (a claim for `agent_id` is already made: ring her), "move" (the entry
    is already in `hotline`: wait there), "voicemail" (leave the queue for the mailbox). routing/switchboard.py."""

    call_id: str
    action: str
    owner: str
    at: float
    agent_id: str | None = None
    hotline: str | None = None


@dataclass(frozen=True, slots=True)
class DutyChanged:
    """Who holds an on-call hotline's duty changed (handover, rota shift): `agents` by rank, `relieved` whom they
    took it from (comma-separated, may be empty), `by` the route."""

    hotline: str
    agents: tuple[str, ...]
    relieved: str | None
    at: float
    by: str = "system"


StateEvent = AgentAvailable | PresenceChanged | CallChanged | SwitchboardAsked | DutyChanged


def _opt(value: Any) -> str | None:
    return None if value in (None, "", False) else str(value)


def _parse(data: Mapping[str, Any]) -> StateEvent | None:
    at = float(data.get("at") or 0)
    match data.get("type"):
        case "agent_available":
            hotlines = data.get("hotlines") or []  # Lua's cjson encodes an empty list as {}
            return AgentAvailable(agent_id=str(data.get("agent", "")), hotlines=tuple(hotlines), at=at)
        case "presence_changed":
            return PresenceChanged(
                agent_id=str(data.get("agent", "")),
                status=str(data.get("status", "")),
                device=_opt(data.get("device")),
                reason=_opt(data.get("reason")),
                at=at,
                by=str(data.get("by") or "system"),
            )
        case "duty_changed":
            agents = data.get("agents") or []
            return DutyChanged(
                hotline=str(data.get("hotline", "")),
                agents=tuple(str(a) for a in agents) if isinstance(agents, list) else (),
                relieved=_opt(data.get("relieved")),
                at=at,
                by=str(data.get("by") or "system"),
            )
        case "call_changed":
            detail = data.get("detail") or {}
            return CallChanged(
                call_id=str(data.get("call", "")),
                stage=CallStage(data.get("stage")),
                hotline=_opt(data.get("hotline")),
                agent_id=_opt(data.get("agent")),
                at=at,
                detail=dict(detail) if isinstance(detail, Mapping) else {},
            )
        case "switchboard_asked":
            return SwitchboardAsked(
                call_id=str(data.get("call", "")),
                action=str(data.get("action", "")),
                owner=str(data.get("owner", "")),
                at=at,
                agent_id=_opt(data.get("agent")),
                hotline=_opt(data.get("hotline")),
            )
    return None


def parse_event(raw: bytes | str) -> StateEvent | None:
    """Typed event from a pub/sub message body; None for unknown or malformed messages (ignore them)."""
    try:
        data = orjson.loads(raw)
        return _parse(data) if isinstance(data, dict) else None
    except (ValueError, TypeError):
        return None


def parse_agent_available(raw: bytes | str) -> AgentAvailable | None:
    """Only the agent_available events (what the distributor's own loop knows how to handle)."""
    event = parse_event(raw)
    return event if isinstance(event, AgentAvailable) else None


def encode_event(event: StateEvent) -> str:
    """The JSON body of `event`, in the scripts' format (parse_event(encode_event(e)) == e)."""
    match event:
        case AgentAvailable():
            body: dict[str, Any] = {"type": "agent_available", "agent": event.agent_id,
                                    "hotlines": list(event.hotlines), "at": event.at}
        case PresenceChanged():
            body = {"type": "presence_changed", "agent": event.agent_id, "status": event.status,
                    "device": event.device or "", "reason": event.reason or "", "at": event.at, "by": event.by}
        case CallChanged():
            body = {"type": "call_changed", "call": event.call_id, "stage": event.stage.value,
                    "hotline": event.hotline or "", "agent": event.agent_id or "", "at": event.at,
                    "detail": dict(event.detail)}
        case SwitchboardAsked():
            body = {"type": "switchboard_asked", "call": event.call_id, "action": event.action,
                    "owner": event.owner, "agent": event.agent_id or "", "hotline": event.hotline or "",
                    "at": event.at}
        case DutyChanged():
            body = {"type": "duty_changed", "hotline": event.hotline, "agents": list(event.agents),
                    "relieved": event.relieved or "", "at": event.at, "by": event.by}
        case _:
            raise TypeError(f"not a state event: {event!r}")
    return json.dumps(body)
