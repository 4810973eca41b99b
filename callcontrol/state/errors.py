"""Typed errors of the state layer; scripts report them as `{"error": CODE, ...}` and `raise_for` maps them."""

from __future__ import annotations

from typing import Any


class StateError(Exception):
    """Base class of every error raised by `callcontrol.state`."""


class AgentNotFound(StateError):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"agent {agent_id!r} is not in the agent directory")
        self.agent_id = agent_id


class InvalidTransition(StateError):
    def __init__(self, agent_id: str, state: str, operation: str) -> None:
        super().__init__(f"agent {agent_id!r} cannot {operation} while {state}")
        self.agent_id = agent_id
        self.state = state
        self.operation = operation


class AgentBusy(InvalidTransition):
    """The agent is not free (ringing, on a call, in wrap-up, paused or logged out) for what was asked."""


class DeviceNotConfigured(StateError):
    def __init__(self, agent_id: str, device: str) -> None:
        super().__init__(f"agent {agent_id!r} has no {device} configured")
        self.agent_id = agent_id
        self.device = device


class CallNotFound(StateError):
    def __init__(self, call_id: str) -> None:
        super().__init__(f"call {call_id!r} is not known to the queues (never queued, or already gone)")
        self.call_id = call_id


class CallNotWaiting(StateError):
    def __init__(self, call_id: str, status: str) -> None:
        super().__init__(f"call {call_id!r} is not waiting (status={status})")
        self.call_id = call_id
        self.status = status


class CallAlreadyQueued(StateError):
    def __init__(self, call_id: str, hotline: str, status: str) -> None:
        super().__init__(f"call {call_id!r} is already queued on hotline {hotline!r} (status={status})")
        self.call_id = call_id
        self.hotline = hotline
        self.status = status


class QueueFull(StateError):
    def __init__(self, hotline: str, length: int) -> None:
        super().__init__(f"hotline {hotline!r} already has {length} waiting calls (its maximum)")
        self.hotline = hotline
        self.length = length


class NobodyReachable(StateError):
    """Not queued: no member of the hotline could answer now (asked for with `require_reachable`)."""

    def __init__(self, hotline: str) -> None:
        super().__init__(f"nobody of hotline {hotline!r} could answer now")
        self.hotline = hotline


class OnCallUncovered(StateError):
    """The agent is the last reachable holder of these on-call hotlines: leaving would leave nobody on call."""

    def __init__(self, agent_id: str, hotlines: tuple[str, ...], operation: str) -> None:
        super().__init__(f"agent {agent_id!r} is the last reachable on call for {', '.join(hotlines)}")
        self.agent_id = agent_id
        self.hotlines = hotlines
        self.operation = operation


class HandoverRefused(StateError):
    """A handover the duty script refused; `code` says why (HANDOVER_TO_SELF, NOTHING_TO_HAND_OVER,
    NOT_IN_HOTLINE, COLLEAGUE_UNREACHABLE)."""

    def __init__(self, code: str, agent_id: str, hotlines: tuple[str, ...] = ()) -> None:
        super().__init__(f"handover refused: {code} ({agent_id})")
        self.code = code
        self.agent_id = agent_id
        self.hotlines = hotlines


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def raise_for(reply: dict[str, Any]) -> None:
    """Raise the typed error a script reported, if any."""
    code = reply.get("error")
    if code is None:
        return
    agent, state, call = reply.get("agent", ""), reply.get("state", ""), reply.get("call", "")
    match code:
        case "AGENT_NOT_FOUND":
            raise AgentNotFound(agent)
        case "AGENT_BUSY":
            raise AgentBusy(agent, state, reply.get("op", "take a call"))
        case "INVALID_TRANSITION":
            raise InvalidTransition(agent, state, reply.get("op", "?"))
        case "DEVICE_NOT_CONFIGURED":
            raise DeviceNotConfigured(agent, reply.get("device", "?"))
        case "CALL_NOT_FOUND":
            raise CallNotFound(call)
        case "CALL_NOT_WAITING":
            raise CallNotWaiting(call, reply.get("status", "?"))
        case "CALL_ALREADY_QUEUED":
            raise CallAlreadyQueued(call, reply.get("hotline", "?"), reply.get("status", "?"))
        case "ON_CALL_UNCOVERED":
            raise OnCallUncovered(agent, _tuple(reply.get("hotlines")), reply.get("op", "?"))
        case "HANDOVER_TO_SELF" | "NOTHING_TO_HAND_OVER" | "NOT_IN_HOTLINE" | "COLLEAGUE_UNREACHABLE":
            raise HandoverRefused(code, agent, _tuple(reply.get("hotlines")))
        case "NOBODY_REACHABLE":
            raise NobodyReachable(reply.get("hotline", "?"))
        case "QUEUE_FULL":
            raise QueueFull(reply.get("hotline", "?"), int(reply.get("length", 0)))
        case _:
            raise StateError(f"state script failed: {reply}")
