"""The agents' presence use cases: login, logout, pause, unpause, status; one door for the CLI, flows and API.

Each caller says which route asked (`by`: "cli", "softphone", "agents-line", "api", "rota"...); it travels with
the presence_changed event. Errors are `PresenceRefused` subclasses with a message fit for the agent or operator.
Leaving service (logout, pause) is decided in one place, `_leave`, through the `LeaveGuard` seam: the "never
nobody on call" rule and the handover (issue 9) plug in there without touching the callers.
A login on the softphone asks the `Reachability` port first: not registered, it is refused (calls would fail there
at once); Asterisk cannot tell, it is accepted with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from callcontrol.agents.reachability import NoReachabilityCheck, Reachability
from callcontrol.state import errors as state_errors
from callcontrol.state.layer import StateLayer
from callcontrol.state.models import AgentState, AgentStatus, Device


class PresenceRefused(Exception):
    """Base of the presence use cases' errors; str() is the sentence to show."""


class UnknownAgent(PresenceRefused):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"agent {agent_id!r} is not in the agent directory")
        self.agent_id = agent_id


class AgentBusy(PresenceRefused):
    def __init__(self, agent_id: str, status: str, action: str) -> None:
        super().__init__(f"agent {agent_id!r} cannot {action} while {status}")
        self.agent_id, self.status, self.action = agent_id, status, action


class NotLoggedIn(PresenceRefused):
    def __init__(self, agent_id: str, status: str, action: str) -> None:
        super().__init__(f"agent {agent_id!r} cannot {action} while {status}")
        self.agent_id, self.status, self.action = agent_id, status, action


class DeviceNotConfigured(PresenceRefused):
    def __init__(self, agent_id: str, device: str) -> None:
        super().__init__(f"agent {agent_id!r} has no {device} configured")
        self.agent_id, self.device = agent_id, device


class SoftphoneNotRegistered(PresenceRefused):
    def __init__(self, agent_id: str, softphone: str) -> None:
        super().__init__(
            f"softphone {softphone} is not registered: start the softphone,"
            " or log in on the mobile with --device mobile"
        )
        self.agent_id, self.softphone = agent_id, softphone


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

    async def logout(self, agent_id: str, *, by: str) -> AgentPresence:
        return await self._leave(agent_id, Leaving.LOGOUT, by)

    async def pause(self, agent_id: str, reason: str, *, by: str) -> AgentPresence:
        return await self._leave(agent_id, Leaving.PAUSE, by, reason)

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

    async def _leave(self, agent_id: str, leaving: Leaving, by: str, reason: str = "") -> AgentPresence:
        """The one place a logout or pause is decided: the guard first, then the atomic state change."""
        await self._guard.check(agent_id, leaving, by)
        now = self._clock()
        try:
            if leaving is Leaving.LOGOUT:
                result = await self._agents.logout(agent_id, now=now, by=by)
            else:
                result = await self._agents.pause(agent_id, reason, now=now, by=by)
        except state_errors.StateError as exc:
            raise _translate(exc, agent_id, leaving.value) from exc
        return AgentPresence.of(result)
