"""The agents' presence use cases: login, logout, pause, unpause, status, handover, on_duty; one door for the CLI,
the feature codes, the agents' line and the API.

Each caller says which route asked (`by`: "cli", "softphone", "agents-line", "api", "rota"...); it travels with
the presence_changed event. Errors are `PresenceRefused` subclasses with a message fit for the agent or operator.
Leaving service (logout, pause) is decided in one place, `_leave`: the `LeaveGuard` seam first, then the state
script, which refuses (OnCallUncovered) the last reachable holder of an on-call hotline in the same step as the
change (docs/on-call.md); `force=True` (a supervisor's routes only) passes it and is audited as forced.
A login on the softphone asks the `Reachability` port first: not registered, it is refused (calls would fail there
at once); Asterisk cannot tell, it is accepted with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

import structlog

from callcontrol.agents.reachability import NoReachabilityCheck, Reachability
from callcontrol.agents.refusals import (  # the refusals live there; import them from here
    AgentBusy,
    ColleagueUnreachable,
    DeviceNotConfigured,
    ForceRefused,
    HandoverToSelf,
    NothingToHandOver,
    NotInHotline,
    NotLoggedIn,
    OnCallUncovered,
    PresenceRefused,
    SoftphoneNotRegistered,
    UnknownAgent,
)
from callcontrol.state import errors as state_errors
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import AgentState, AgentStatus, Device

log = structlog.get_logger("callcontrol.agents.presence")

# The routes a supervisor acts through: only they may force the "never nobody on call" guard.
SUPERVISOR_ROUTES = frozenset({"cli", "api", "supervisor"})


@dataclass(frozen=True, slots=True)
class Handover:
    """A duty handed over: `hotlines` moved from `from_agent` to `to_agent` at `at` (epoch seconds)."""

    from_agent: str
    to_agent: str
    hotlines: tuple[str, ...]
    at: float


@dataclass(frozen=True, slots=True)
class DutyHolder:
    """Who is on duty now on an on-call hotline; `relieved`: whom they took it from (None: configured or rota)."""

    hotline: str
    agent_id: str
    since: float
    relieved: str | None


class Leaving(StrEnum):
    LOGOUT = "logout"
    PAUSE = "pause"


class LeaveGuard(Protocol):
    """Decides whether an agent may leave service now; raises a PresenceRefused to refuse (issue 9's seam)."""

    async def check(self, agent_id: str, leaving: Leaving, by: str) -> None: ...


class AllowLeaving:
    """Today's rule: anyone not ringing or on a call may leave (the state scripts refuse the busy ones)."""

    async def check(self, agent_id: str, leaving: Leaving, by: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class AgentPresence:
    """What a user sees of one agent's presence."""

    agent_id: str
    status: AgentStatus
    device: Device | None = None
    reason: str | None = None  # pause reason
    since: float | None = None  # epoch seconds of the last change
    warning: str | None = None  # done, but something the user should know (login: softphone not checked)

    @classmethod
    def of(cls, state: AgentState) -> AgentPresence:
        return cls(state.agent_id, state.status, state.device, state.pause_reason, state.changed_at)


def _translate(exc: state_errors.StateError, agent_id: str, action: str) -> PresenceRefused:
    match exc:
        case state_errors.AgentNotFound():
            return UnknownAgent(exc.agent_id or agent_id)
        case state_errors.DeviceNotConfigured():
            return DeviceNotConfigured(exc.agent_id or agent_id, exc.device)
        case state_errors.AgentBusy():
            return AgentBusy(exc.agent_id or agent_id, exc.state, exc.operation)
        case state_errors.InvalidTransition():
            return NotLoggedIn(exc.agent_id or agent_id, exc.state, exc.operation)
        case state_errors.OnCallUncovered():
            return OnCallUncovered(exc.agent_id or agent_id, exc.hotlines, action)
        case state_errors.HandoverRefused(code="HANDOVER_TO_SELF"):
            return HandoverToSelf(exc.agent_id or agent_id)
        case state_errors.HandoverRefused(code="NOTHING_TO_HAND_OVER"):
            return NothingToHandOver(exc.agent_id or agent_id)
        case state_errors.HandoverRefused(code="NOT_IN_HOTLINE"):
            return NotInHotline(exc.agent_id, exc.hotlines)
        case state_errors.HandoverRefused(code="COLLEAGUE_UNREACHABLE"):
            return ColleagueUnreachable(exc.agent_id)
    return PresenceRefused(f"agent {agent_id!r}: cannot {action}: {exc}")


class Presence:
    """Presence use cases over the state layer, on the one shared clock (callcontrol/clock.py)."""

    def __init__(
        self,
        state: StateLayer,
        clock: Callable[[], float],
        *,
        leave_guard: LeaveGuard | None = None,
        reachability: Reachability | None = None,
    ) -> None:
        self._agents = state.agents
        self._duty = state.duty
        self._clock = clock
        self._guard: LeaveGuard = leave_guard or AllowLeaving()
        self._reach: Reachability = reachability or NoReachabilityCheck()

    async def login(self, agent_id: str, device: Device | str, *, by: str) -> AgentPresence:
        """Log in (or move) `agent_id` to `device`: from then on it is offered calls there. On the softphone,
        refused (SoftphoneNotRegistered) when it is not registered; a warning when Asterisk cannot tell."""
        try:
            value = Device(device)
        except ValueError:
            raise DeviceNotConfigured(agent_id, str(device)) from None
        try:
            warning = await self._check_softphone(agent_id) if value is Device.SOFTPHONE else None
            result = AgentPresence.of(await self._agents.login(agent_id, value, now=self._clock(), by=by))
        except state_errors.StateError as exc:
            raise _translate(exc, agent_id, "log in") from exc
        return replace(result, warning=warning) if warning else result

    async def _check_softphone(self, agent_id: str) -> str | None:
        """Refuse an unregistered softphone; mark a registered one reachable (before the login announces her)."""
        softphone = (await self._agents.get_record(agent_id)).softphone
        if not softphone:
            return None  # the login itself refuses it (no softphone configured)
        registered = await self._reach.softphone_registered(softphone)
        if registered is False:
            raise SoftphoneNotRegistered(agent_id, softphone)
        if registered is None:
            return (
                f"could not ask Asterisk whether softphone {softphone} is registered: logged in anyway"
                " (calls are not offered there while Asterisk says it is not)"
            )
        await self._agents.set_reachable(agent_id, Device.SOFTPHONE, True, now=self._clock())
        return None

    async def logout(self, agent_id: str, *, by: str, force: bool = False, actor: str = "") -> AgentPresence:
        """-> logged out. OnCallUncovered for the last reachable member of an on-call hotline unless `force`
        (a supervisor's route only: ForceRefused otherwise); `actor`: who asked, for the audit."""
        return await self._leave(agent_id, Leaving.LOGOUT, by, force=force, actor=actor)

    async def pause(
        self, agent_id: str, reason: str, *, by: str, force: bool = False, actor: str = ""
    ) -> AgentPresence:
        """-> paused(reason); refused as logout."""
        return await self._leave(agent_id, Leaving.PAUSE, by, reason, force=force, actor=actor)

    async def handover(self, from_agent: str, to_agent: str, *, by: str, actor: str = "") -> Handover:
        """Hand every on-call duty `from_agent` holds (that `to_agent` may serve) to `to_agent`, in one step.
        The colleague is logged in on her mobile (or registered softphone) when she was not; her next offered
        call first announces the relief. Refused: HandoverToSelf, UnknownAgent, NothingToHandOver,
        NotInHotline, ColleagueUnreachable."""
        if from_agent == to_agent:
            raise HandoverToSelf(from_agent)
        await self._check_colleague_softphone(to_agent)
        try:
            hotlines, at = await self._duty.handover(from_agent, to_agent, now=self._clock(), by=by, actor=actor)
        except state_errors.StateError as exc:
            raise _translate(exc, from_agent, "hand over") from exc
        log.info("duty_handed_over", agent=from_agent, to=to_agent, hotlines=list(hotlines), by=by,
                 actor=actor or None)
        return Handover(from_agent, to_agent, hotlines, at)

    async def _check_colleague_softphone(self, agent_id: str) -> None:
        """A colleague without mobile, logged out: ask Asterisk whether her softphone is registered (the script
        logs her in there only when it is marked registered)."""
        try:
            record = await self._agents.get_record(agent_id)
        except state_errors.StateError as exc:
            raise _translate(exc, agent_id, "take the duty") from exc
        if record.softphone and not record.mobile:
            registered = await self._reach.softphone_registered(record.softphone)
            if registered is not None:
                await self._agents.set_reachable(agent_id, Device.SOFTPHONE, registered, now=self._clock())

    async def on_duty(self, hotline_id: str | None = None) -> list[DutyHolder]:
        """Who is on duty now on `hotline_id` (default: every on-call hotline), by hotline then rank."""
        rows = await self._duty.holders(hotline_id)
        return [DutyHolder(r.hotline, r.agent_id, r.since, r.relieved) for r in rows]

    async def unpause(self, agent_id: str, *, by: str) -> AgentPresence:
        try:
            return AgentPresence.of(await self._agents.unpause(agent_id, now=self._clock(), by=by))
        except state_errors.StateError as exc:
            raise _translate(exc, agent_id, "unpause") from exc

    async def status(self, agent_id: str | None = None) -> list[AgentPresence]:
        """One agent's presence, or every configured agent's (id order)."""
        if agent_id is None:
            return [AgentPresence.of(s) for s in await self._agents.states()]
        try:
            return [AgentPresence.of(await self._agents.get_state(agent_id))]
        except state_errors.StateError as exc:
            raise _translate(exc, agent_id, "show status") from exc

    async def _leave(
        self, agent_id: str, leaving: Leaving, by: str, reason: str = "", *, force: bool, actor: str
    ) -> AgentPresence:
        """The one place a logout or pause is decided: the guard first, then the atomic state change (which
        refuses the last reachable on-call member unless forced)."""
        if force and by not in SUPERVISOR_ROUTES:
            raise ForceRefused(by)
        await self._guard.check(agent_id, leaving, by)
        now = self._clock()
        try:
            if leaving is Leaving.LOGOUT:
                result = await self._agents.logout(agent_id, now=now, by=by, force=force, actor=actor)
            else:
                result = await self._agents.pause(agent_id, reason, now=now, by=by, force=force, actor=actor)
        except state_errors.StateError as exc:
            raise _translate(exc, agent_id, leaving.value) from exc
        log.info("presence_changed", agent=agent_id, status=result.status.value, by=by, forced=force,
                 actor=actor or None)
        return AgentPresence.of(result)


__all__ = [
    "SUPERVISOR_ROUTES",
    "AgentBusy",
    "AgentPresence",
    "AllowLeaving",
    "ColleagueUnreachable",
    "DeviceNotConfigured",
    "DutyHolder",
    "ForceRefused",
    "Handover",
    "HandoverToSelf",
    "LeaveGuard",
    "Leaving",
    "NotInHotline",
    "NotLoggedIn",
    "NothingToHandOver",
    "OnCallUncovered",
    "Presence",
    "PresenceRefused",
    "SoftphoneNotRegistered",
    "UnknownAgent",
]
