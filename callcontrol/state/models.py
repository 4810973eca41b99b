"""Typed, frozen values returned by the state layer (never raw Redis hashes)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

_ID = re.compile(r"^[^\s:{}]+$")


def check_id(kind: str, value: str) -> str:
    """Ids become parts of Redis keys: refuse empty ones and ones with whitespace, ':' or braces."""
    if not isinstance(value, str) or not _ID.match(value):
        raise ValueError(f"invalid {kind} id {value!r}: must be non-empty, without whitespace, ':' or braces")
    return value


class AgentStatus(StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


class Device(StrEnum):
    SOFTPHONE = "softphone"
    MOBILE = "mobile"


class Strategy(StrEnum):
    LONGEST_IDLE = "longest_idle"
    LINEAR = "linear"
    ROUND_ROBIN = "round_robin"
    RING_ALL = "ring_all"


class CallStatus(StrEnum):
    WAITING = "waiting"  # in the hotline's waiting zset, no agent reserved
    OFFERED = "offered"  # out of the zset, >= 1 agent ringing for it
    CONNECTED = "connected"  # one agent on call with it
    RETRY = "retry"  # a kept callback between two attempts (state/callbacks.py): out of the zset until due


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """Static directory data of one agent (from configuration)."""

    id: str
    name: str
    softphone: str | None = None  # PJSIP endpoint, e.g. "1001"
    mobile: str | None = None  # E.164, e.g. "+33612345678"
    hotlines: Mapping[str, int] = field(default_factory=dict)  # hotline id -> penalty (lower rings first)
    pin_hash: str | None = None
    code: str | None = None  # digits identifying the agent on the agents' line (withheld caller ID, handover)
    language: str | None = None  # the prompts she hears on feature codes and the agents' line (None: the city's)

    def __post_init__(self) -> None:
        check_id("agent", self.id)
        for hotline, penalty in self.hotlines.items():
            check_id("hotline", hotline)
            if not isinstance(penalty, int) or penalty < 0:
                raise ValueError(f"agent {self.id!r}: penalty for {hotline!r} must be an int >= 0, got {penalty!r}")

    def device(self, device: Device) -> str | None:
        return self.softphone if device is Device.SOFTPHONE else self.mobile


def _f(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


def _s(value: Any) -> str | None:
    return value if value not in (None, "") else None


@dataclass(frozen=True, slots=True)
class AgentState:
    """Live presence of one agent."""

    agent_id: str
    status: AgentStatus
    device: Device | None = None
    pause_reason: str | None = None
    changed_at: float | None = None
    idle_since: float | None = None  # became available / last call end: the longest-idle ordering key
    last_call_end: float | None = None
    missed: int = 0  # consecutive no-answers
    reserved_by: str | None = None  # call id while ringing / on call
    reserved_owner: str | None = None  # instance owning that call
    reserved_hotline: str | None = None
    connected_at: float | None = None
    wrap_up_until: float | None = None
    reachable: bool = True  # the device she is logged in on answers at all (a softphone: registered)

    @classmethod
    def from_hash(cls, agent_id: str, h: Mapping[str, Any]) -> AgentState:
        device = _s(h.get("device"))
        return cls(
            agent_id=agent_id,
            status=AgentStatus(h.get("state") or AgentStatus.LOGGED_OUT),
            device=Device(device) if device else None,
            pause_reason=_s(h.get("pause_reason")),
            changed_at=_f(h.get("changed_at")),
            idle_since=_f(h.get("idle_since")),
            last_call_end=_f(h.get("last_call_end")),
            missed=int(h.get("missed") or 0),
            reserved_by=_s(h.get("reserved_by")),
            reserved_owner=_s(h.get("reserved_owner")),
            reserved_hotline=_s(h.get("reserved_hotline")),
            connected_at=_f(h.get("connected_at")),
            wrap_up_until=_f(h.get("wrap_up_until")),
            reachable=not device or h.get(f"{device}_reachable") != "0",
        )

    def is_free(self, now: float) -> bool:
        """Free to be offered a call: available, or in a wrap-up that has expired (claims end it lazily)."""
        if self.reserved_by or self.device is None or not self.reachable:
            return False
        if self.status is AgentStatus.AVAILABLE:
            return True
        return self.status is AgentStatus.WRAP_UP and (self.wrap_up_until or 0.0) <= now


@dataclass(frozen=True, slots=True)
class QueuedCall:
    """A citizen's call known to the queues (waiting, being offered, or connected)."""

    call_id: str
    hotline: str
    status: CallStatus
    priority: int
    enqueued_at: float
    owner: str  # instance id whose Asterisk holds the citizen
    caller_masked: str = ""
    agents: tuple[str, ...] = ()  # agents reserved for it (ringing, or the one on call)

    @classmethod
    def from_hash(cls, h: Mapping[str, Any], agents: tuple[str, ...] = ()) -> QueuedCall:
        return cls(
            call_id=h["call_id"],
            hotline=h["hotline"],
            status=CallStatus(h["status"]),
            priority=int(h["priority"]),
            enqueued_at=float(h["enqueued_at"]),
            owner=h.get("owner", ""),
            caller_masked=h.get("caller_masked", ""),
            agents=agents,
        )


@dataclass(frozen=True, slots=True)
class Claim:
    """A call handed to one agent (or, for ring_all, several agents ringing at once)."""

    call_id: str
    hotline: str
    owner: str
    agent_ids: tuple[str, ...]
    # what the claim script read of each agent as it reserved her (directory record, presence): ringing her needs
    # no read of its own; empty for a claim made elsewhere (a switchboard redirect)
    known: Mapping[str, tuple[AgentRecord, AgentState]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def agent_id(self) -> str:
        """The agent (the first one for ring_all)."""
        return self.agent_ids[0]


@dataclass(frozen=True, slots=True)
class NoAnswer:
    """Outcome of `release_no_answer`."""

    agent: AgentState
    missed: int
    auto_paused: bool
    requeued: bool  # the call went back to its place in the waiting queue


@dataclass(frozen=True, slots=True)
class SyncResult:
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reservation:
    agent_id: str
    call_id: str
    owner: str
    status: AgentStatus


@dataclass(frozen=True, slots=True)
class StaleEntries:
    """Queue entries and agent reservations owned by instances that are not alive (for start-up reconcile)."""

    calls: tuple[QueuedCall, ...]
    reservations: tuple[Reservation, ...]


@dataclass(frozen=True, slots=True)
class Closure:
    scope: str  # "all" or a hotline / flow id
    message_sound: str | None
    until: float | None
    set_at: float


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: str  # stream id "ms-seq"
    at: float  # epoch seconds from the stream id
    data: dict[str, Any]
