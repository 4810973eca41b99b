"""What the presence use cases refuse (agents/presence.py re-exports them): `PresenceRefused` subclasses whose
str() is the sentence to show the agent or the operator."""

from __future__ import annotations


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


class OnCallUncovered(PresenceRefused):
    """The agent is the last reachable member of these on-call hotlines: hand the duty over first."""

    def __init__(self, agent_id: str, hotlines: tuple[str, ...], action: str = "leave") -> None:
        names = ", ".join(hotlines)
        super().__init__(
            f"agent {agent_id!r} is the last one reachable on call for {names}: hand the duty over to a colleague"
            f" first (a supervisor may force the {action})"
        )
        self.agent_id, self.hotlines, self.action = agent_id, tuple(hotlines), action


class ForceRefused(PresenceRefused):
    def __init__(self, by: str) -> None:
        super().__init__(f"only a supervisor may force a logout or pause (route {by!r} may not)")
        self.by = by


class HandoverToSelf(PresenceRefused):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"agent {agent_id!r} cannot hand the duty over to themselves")
        self.agent_id = agent_id


class NotInHotline(PresenceRefused):
    def __init__(self, agent_id: str, hotlines: tuple[str, ...]) -> None:
        super().__init__(
            f"agent {agent_id!r} is not a member of the on-call hotline(s) handed over ({', '.join(hotlines)})"
        )
        self.agent_id, self.hotlines = agent_id, tuple(hotlines)


class ColleagueUnreachable(PresenceRefused):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"agent {agent_id!r} cannot be reached: no known mobile and no registered softphone")
        self.agent_id = agent_id


class NothingToHandOver(PresenceRefused):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"agent {agent_id!r} holds no on-call duty to hand over")
        self.agent_id = agent_id
