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
    """One hotline's figures (or `all`'s: every citizen call) over a day or an hour: docs/followup.md defines them."""

    hotline_id: str
    calls: int = Field(description="finished citizen calls that reached this hotline (or the town hall: all)")
    offered: int = Field(description="reached the hotline while it was open")
    needing_agent: int = Field(description="offered, short abandons (misdials) excluded")
    answered: int
    answered_within: dict[str, int] = Field(description="service level in seconds -> calls answered within it")
    answered_within_20s: int | None = Field(description="answered_within['20'] (None: 20 s is not a level)")
    service_level: dict[str, float | None] = Field(description="seconds -> share of needing_agent answered within")
    abandoned: int = Field(description="hung up while waiting, after the short-abandon threshold")
    short_abandoned: int
    not_answered: int = Field(description="needing an agent and neither answered nor called back")
    handled: int = Field(description="answered by an agent, or called back")
    pickup_rate: float | None = Field(description="taux de décroché: handled / needing_agent")
    mean_wait: float | None = Field(description="average wait of the calls needing an agent, seconds")
    max_wait: float | None
    avg_handling: float | None = Field(description="average talk time with the agent, seconds")
    overflow: int
    voicemail: int
    closed: int
    fallback: int
    redirected: int
    callbacks_requested: int
    callbacks_done: int
    callbacks_on_time: int
    callbacks_late: int
    callbacks_failed: int
    repeat_callers: int


class HourFiguresOut(HotlineFiguresOut):
    hour: int = Field(ge=0, le=23)


class FiguresOut(_Response):
    day: str = Field(description="YYYY-MM-DD, city time")
    since: float = Field(description="that day's midnight, city time (epoch seconds)")
    levels: list[int] = Field(description="the configured service levels, seconds (followup.service_levels)")
    calls: int = Field(description="every finished citizen call of the day")
    by_outcome: dict[str, int] = Field(description="answered, abandoned, voicemail, overflow, closed... (non-zero)")
    total: HotlineFiguresOut = Field(description="every citizen call (hotline_id `all`)")
    hotlines: list[HotlineFiguresOut]
    hours: list[HourFiguresOut] = Field(description="per hour with calls, of `hotline` if asked, else of `all`")


# -- tickets -----------------------------------------------------------------------------------------------------
class TicketOut(_Response):
    id: str
    kind: str = Field(description="voicemail, callback_late or callback_failed")
    hotline: str
    call_id: str
    status: Literal["new", "assigned", "done"]
    created_at: float
    duration: float | None = Field(description="seconds of the voicemail's recording")
    has_audio: bool = Field(description="GET /api/tickets/{id}/audio gives its WAV (switchboard role)")
    assigned_to: str | None
    assigned_at: float | None
    done_by: str | None
    done_at: float | None
    caller: str | None = Field(default=None, description="masked (+33 6•• •• •• 78); never sent to a viewer")
    number: str | None = Field(default=None, description="the full number to call back, while the ticket is open; "
                                                         "switchboard and supervisor only")
    note: str | None = Field(default=None, description="why it was opened (not for viewers)")
    done_note: str | None = Field(default=None, description="what was done (not for viewers)")


class TicketsOut(_Response):
    tickets: list[TicketOut]


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


class AssignIn(_Request):
    agent: str = Field(min_length=1, max_length=64, description="agent id (agents.yaml)")


class DoneIn(_Request):
    note: str = Field(default="", max_length=2000, description="what was done (called back, ...)")
