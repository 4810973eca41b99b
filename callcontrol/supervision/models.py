"""The API's request and response bodies (pydantic: validation of what comes in, and the OpenAPI schemas).

Requests forbid unknown keys (a typo is a 422 with its location, never silently ignored).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class Error(_Response):
    """Every 4xx (and the rare 5xx) answer."""

    error: str = Field(description="a stable code: no_token, forbidden, not_found, invalid, conflict, ...")
    reason: str = Field(description="a sentence for the person who sent the request")


# -- reading -----------------------------------------------------------------------------------------------------
class CallOut(_Response):
    call_id: str
    hotline: str
    caller: str = Field(description="masked (+33 6•• •• •• 78); a viewer sees no digit at all")
    status: str = Field(description="waiting, offered or connected")
    waited: float = Field(description="seconds since it was queued (kept when moved to another hotline)")
    position: int | None = Field(description="1-based place in its hotline's queue while waiting")
    path: list[str] | None = Field(default=None, description="IVR steps before it queued (not for viewers)")
    agents: list[str] | None = Field(default=None, description="agents ringing for it / on it (not for viewers)")


class CallsOut(_Response):
    calls: list[CallOut]


class AgentOut(_Response):
    agent_id: str
    name: str
    status: str = Field(description="logged_out, available, ringing, on_call, wrap_up, paused; "
                                    "for a viewer only available, busy or away")
    in_state: float | None = Field(description="seconds in that state")
    since: float | None = Field(description="epoch seconds of the last change")
    hotlines: list[str]
    device: str | None = Field(default=None, description="softphone or mobile (not for viewers)")
    pause_reason: str | None = Field(default=None, description="not for viewers")
    call_id: str | None = Field(default=None, description="the call she rings for / is on (not for viewers)")
    reachable: bool | None = Field(default=None, description="her device answers at all (not for viewers)")


class AgentsOut(_Response):
    agents: list[AgentOut]


class HotlineOut(_Response):
    hotline_id: str
    name: str
    closed: bool = Field(description='a manual "closed now" applies (its own or the whole town hall\'s)')
    closed_until: float | None
    waiting: list[CallOut]
    agents: list[AgentOut]


class HotlinesOut(_Response):
    hotlines: list[HotlineOut]


class HotlineFiguresOut(_Response):
    hotline_id: str
    calls: int
    answered: int
    answered_within_20s: int
    not_answered: int
    mean_wait: float | None


class FiguresOut(_Response):
    since: float = Field(description="today's midnight, city time (epoch seconds)")
    calls: int
    by_outcome: dict[str, int]
    hotlines: list[HotlineFiguresOut]


class ClosureOut(_Response):
    scope: str
    closed: bool
    until: float | None = None


class ClosuresOut(_Response):
    closures: list[ClosureOut]


class PresenceOut(_Response):
    agent_id: str
    status: str
    device: str | None
    reason: str | None
    warning: str | None = None


class ActionOut(_Response):
    call_id: str
    action: Literal["redirect", "move", "pick_up", "voicemail"]
    hotline: str
    agent_id: str | None = None
    position: int | None = None


# -- actions -----------------------------------------------------------------------------------------------------
class RedirectIn(_Request):
    agent: str = Field(min_length=1, max_length=64, description="agent id (agents.yaml), member or not")


class MoveIn(_Request):
    hotline: str = Field(min_length=1, max_length=64)


class CloseIn(_Request):
    scope: str = Field(default="all", min_length=1, max_length=64, description='"all" or a hotline id')
    minutes: float | None = Field(default=None, gt=0, le=7 * 24 * 60, description="reopen by itself after")
    sound: str | None = Field(default=None, max_length=200, description="message played instead of the usual")


class LoginIn(_Request):
    device: Literal["softphone", "mobile"] = "softphone"


class LeaveIn(_Request):
    force: bool = Field(default=False, description="supervisor: even if nobody would be left on call")


class PauseIn(LeaveIn):
    reason: str = Field(default="break", min_length=1, max_length=40)
