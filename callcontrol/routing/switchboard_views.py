"""What the switchboard sees (routing/switchboard.py builds them): waiting calls, agents, hotlines, today's figures,
and what an action did. Plain frozen values: the API and the CLI shape them for their readers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ANSWERED_WITHIN = 20.0  # service level: answered within 20 s of queueing


@dataclass(frozen=True, slots=True)
class WaitingCall:
    call_id: str
    hotline: str
    caller: str  # masked, e.g. "+33 6•• •• •• 78"
    status: str  # waiting, offered, connected
    waited: float  # seconds since it was queued (kept across a move)
    position: int | None  # 1-based, None unless waiting
    path: tuple[str, ...]  # the IVR steps before it queued
    agents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: str
    name: str
    status: str  # AgentStatus value
    device: str | None
    pause_reason: str | None
    since: float | None  # epoch seconds of the last change
    in_state: float | None  # seconds in that state
    hotlines: tuple[str, ...]
    call_id: str | None  # the call she is ringing for / on
    reachable: bool


@dataclass(frozen=True, slots=True)
class HotlineView:
    hotline_id: str
    name: str
    closed: bool  # a manual "closed now" applies (the hotline's own or the whole town hall's)
    closed_until: float | None
    waiting: tuple[WaitingCall, ...]
    agents: tuple[AgentView, ...]


@dataclass(frozen=True, slots=True)
class HotlineFigures:
    hotline_id: str
    calls: int  # journal entries of calls queued there today
    answered: int
    answered_within: int  # answered within ANSWERED_WITHIN seconds of queueing
    not_answered: int
    mean_wait: float | None


@dataclass(frozen=True, slots=True)
class Figures:
    since: float  # today's midnight (epoch seconds, city zone)
    calls: int  # every finished citizen call today
    by_outcome: Mapping[str, int]
    hotlines: tuple[HotlineFigures, ...]


@dataclass(frozen=True, slots=True)
class ActionDone:
    call_id: str
    action: str
    hotline: str
    agent_id: str | None = None
    position: int | None = None
