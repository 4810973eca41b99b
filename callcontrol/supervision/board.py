"""The live picture of the hotlines, read from Redis in one go: the wallboard's payload and the metrics' gauges.

`BoardReader.read()` gives a `Board` (typed, complete); `board_view(board, role_name)` is what a browser of that
role may see. A viewer sees an agent only as available / busy / away, never a pause reason, a device, a call id or
a caller (not even masked): the server never sends them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from callcontrol.metrics import HotlineFigures
from callcontrol.routing.switchboard_views import ANSWERED_WITHIN, Figures
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import AgentState, AgentStatus

TODAY_SECONDS = 2.0  # today's figures are read again after this long
SERVICE_LEVEL_TARGET = ANSWERED_WITHIN  # seconds: answered within this wait counts for the service level
_BUSY = {AgentStatus.RINGING, AgentStatus.ON_CALL, AgentStatus.WRAP_UP}
_METRIC_STATE = {
    AgentStatus.AVAILABLE: "available",
    AgentStatus.RINGING: "busy",
    AgentStatus.ON_CALL: "busy",
    AgentStatus.WRAP_UP: "wrap_up",
    AgentStatus.PAUSED: "paused",
    AgentStatus.LOGGED_OUT: "logged_out",
}


@dataclass(frozen=True, slots=True)
class HotlineInfo:
    id: str
    name: str
    on_call: bool = False  # a 24/7 duty (hotlines.yaml `on_call: true`): somebody must be reachable at any time


@dataclass(frozen=True, slots=True)
class AgentInfo:
    id: str
    name: str
    hotlines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WaitingCall:
    call_id: str
    hotline: str
    position: int
    enqueued_at: float
    caller_masked: str


@dataclass(frozen=True, slots=True)
class DayFigures:
    queued: int = 0  # finished calls queued in the hotline today
    answered: int = 0
    answered_in_time: int = 0
    abandoned: int = 0

    @property
    def service_level(self) -> float | None:
        return self.answered_in_time / self.queued if self.queued else None


@dataclass(frozen=True, slots=True)
class Board:
    now: float
    hotlines: Sequence[HotlineInfo]
    agents: Sequence[AgentInfo]
    states: Mapping[str, AgentState]
    waiting: Mapping[str, Sequence[WaitingCall]]
    today: Mapping[str, DayFigures] = field(default_factory=dict)
    open_tickets: Mapping[str, int] = field(default_factory=dict)  # hotline -> tickets new or assigned

    def figures(self) -> list[HotlineFigures]:
        """Per hotline, what the metrics publish."""
        result = []
        for h in self.hotlines:
            members = [self.states[a.id] for a in self.agents if h.id in a.hotlines and a.id in self.states]
            counts: dict[str, int] = {}
            for s in members:
                counts[_METRIC_STATE[s.status]] = counts.get(_METRIC_STATE[s.status], 0) + 1
            calls = self.waiting.get(h.id, ())
            day = self.today.get(h.id, DayFigures())
            result.append(HotlineFigures(
                hotline=h.id,
                waiting=len(calls),
                longest_wait=max((self.now - c.enqueued_at for c in calls), default=0.0),
                agents=counts,
                reachable=sum(1 for s in members if _reachable(s)),
                on_call=h.on_call,
                service_level=day.service_level,
                queued_today=day.queued,
            ))
        return result


def _reachable(s: AgentState) -> bool:
    return s.status not in (AgentStatus.LOGGED_OUT, AgentStatus.PAUSED) and s.device is not None and s.reachable


def day_figures(figures: Figures) -> dict[str, DayFigures]:
    """Today's figures per hotline (wiring passes supervision/figures.py's board_today: followup's counters)."""
    return {
        h.hotline_id: DayFigures(queued=h.calls, answered=h.answered, answered_in_time=h.answered_within,
                                 abandoned=h.not_answered)
        for h in figures.hotlines
    }


class BoardReader:
    def __init__(
        self,
        state: StateLayer,
        hotlines: Sequence[HotlineInfo],
        agents: Sequence[AgentInfo],
        *,
        clock: Callable[[], float],
        today: Callable[[], Awaitable[Figures]],
        today_every: float = TODAY_SECONDS,
    ) -> None:
        self._state = state
        self._hotlines = tuple(hotlines)
        self._agents = tuple(agents)
        self._clock = clock
        self._today = today
        self._today_every = today_every
        self._day: tuple[float, dict[str, DayFigures]] | None = None  # (read at, monotonic), figures

    async def read(self) -> Board:
        states = {s.agent_id: s for s in await self._state.agents.states([a.id for a in self._agents])}
        waiting: dict[str, list[WaitingCall]] = {}
        for h in self._hotlines:
            calls = await self._state.queues.waiting(h.id)
            waiting[h.id] = [
                WaitingCall(c.call_id, h.id, i, c.enqueued_at, c.caller_masked) for i, c in enumerate(calls, 1)
            ]
        return Board(
            now=self._clock(),
            hotlines=self._hotlines,
            agents=self._agents,
            states=states,
            waiting=waiting,
            today=await self._day_figures(),
            open_tickets=await self._open_tickets(),
        )

    async def _open_tickets(self) -> dict[str, int]:
        count: dict[str, int] = {}
        for t in await self._state.tickets.list():
            if t.status.value != "done":
                count[t.hotline] = count.get(t.hotline, 0) + 1
        return count

    async def _day_figures(self) -> dict[str, DayFigures]:
        """Today's figures: read at most every `today_every` s, not on every change."""
        if self._day is None or time.monotonic() - self._day[0] >= self._today_every:
            self._day = (time.monotonic(), day_figures(await self._today()))
        return self._day[1]


# ---------------------------------------------------------------------------------------------- what a role sees


def public_state(status: AgentStatus) -> str:
    """available | busy | away: all a viewer learns of an agent."""
    if status is AgentStatus.AVAILABLE:
        return "available"
    return "busy" if status in _BUSY else "away"


def board_view(board: Board, role: str) -> dict[str, Any]:
    """The JSON a browser of `role` (viewer | switchboard | supervisor) receives."""
    detailed = role in ("switchboard", "supervisor")
    figures = {f.hotline: f for f in board.figures()}
    hotlines = []
    for h in board.hotlines:
        members = [a for a in board.agents if h.id in a.hotlines]
        tally = {"available": 0, "busy": 0, "away": 0}
        for a in members:
            s = board.states.get(a.id)
            tally[public_state(s.status) if s else "away"] += 1
        day = board.today.get(h.id, DayFigures())
        calls = []
        for c in board.waiting.get(h.id, ()):
            call: dict[str, Any] = {"position": c.position, "since": c.enqueued_at}
            if detailed:
                call |= {"id": c.call_id, "caller": c.caller_masked}
            calls.append(call)
        hotlines.append({
            "id": h.id,
            "name": h.name,
            "on_call": h.on_call,
            "waiting": figures[h.id].waiting,
            "longest_wait": round(figures[h.id].longest_wait, 1),
            "agents": tally,
            "agent_ids": [a.id for a in members],
            "service_level": None if day.service_level is None else round(day.service_level, 3),
            "queued_today": day.queued,
            "answered_today": day.answered,
            "open_tickets": board.open_tickets.get(h.id, 0),
            "calls": calls,
        })
    agents = []
    for a in board.agents:
        s = board.states.get(a.id)
        status = s.status if s else AgentStatus.LOGGED_OUT
        agent: dict[str, Any] = {
            "id": a.id,
            "name": a.name,
            "hotlines": list(a.hotlines),
            "state": public_state(status),
            "since": s.changed_at if s else None,
        }
        if detailed and s is not None:
            agent |= {
                "status": status.value,
                "pause_reason": s.pause_reason,
                "device": s.device.value if s.device else None,
                "reachable": s.reachable,
            }
        agents.append(agent)
    return {"now": board.now, "role": role, "target": SERVICE_LEVEL_TARGET, "hotlines": hotlines, "agents": agents}
