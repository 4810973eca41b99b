"""The self-service prompts (asterisk-conf/prompts/{fr,en}.txt, sound callcontrol/<name>) and which refusal
says which. Numbers (hotline and agent codes, times) are spoken with Asterisk's own digit sounds."""

from __future__ import annotations

from collections.abc import Sequence

from callcontrol.agents import refusals
from callcontrol.state import errors as state_errors
from callcontrol.state.membership import NotAHotlineOf, OnCallDuty


def sound(name: str) -> str:
    return f"sound:callcontrol/{name}"


def digits(value: str) -> str:
    return f"digits:{value}"


LOGGED_IN_ALL = "agent-logged-in-all"
JOINED = "agent-joined-hotline"  # + the hotline's code
LOGGED_OUT_ALL = "agent-logged-out-all"
LEFT = "agent-left-hotline"  # + the hotline's code
PAUSED = "agent-paused"
RESUMED = "agent-resumed"
STATE = {
    "available": "agent-state-available",
    "paused": "agent-state-paused",
    "logged_out": "agent-state-logged-out",
    "wrap_up": "agent-state-wrap-up",
    "on_call": "agent-state-on-call",
    "ringing": "agent-state-on-call",
}
YOUR_HOTLINES = "agent-your-hotlines"  # + each code
NO_HOTLINE = "agent-no-hotline"
UNKNOWN_CODE = "agent-unknown-code"
UNKNOWN_HOTLINE = "agent-unknown-hotline"
UNKNOWN_REASON = "agent-unknown-reason"
NOT_AN_AGENT = "agent-not-an-agent"
FAILED = "agent-failed"
NOT_AVAILABLE = "agent-not-available"  # a menu choice this installation does not offer yet

LINE_WELCOME = "line-welcome"
ENTER_CODE = "line-enter-code"
ENTER_PIN = "line-enter-pin"
WRONG_PIN = "line-wrong-pin"
UNKNOWN_AGENT = "line-unknown-agent"
NO_PIN = "line-no-pin"
LOCKED = "line-locked"
MENU = "line-menu"
INVALID_CHOICE = "invalid-choice"
LOGGED_IN_MOBILE = "line-logged-in-mobile"
ENTER_COLLEAGUE = "line-enter-colleague"
HANDED_OVER = "line-handed-over"  # + the colleague's code
ON_DUTY_NOBODY = "line-on-duty-nobody"
ON_DUTY_LINE = "line-on-duty-hotline"  # + hotline code
ON_DUTY_AGENT = "line-on-duty-agent"  # + agent code
ON_DUTY_SINCE = "line-on-duty-since"  # + hours "h" minutes
HOURS = "line-hours"
GOODBYE = "goodbye"

# Refusals of the presence use cases (agents/refusals.py) and of the per-hotline membership (state/membership.py),
# and the prompt that tells the agent why; the most specific class in the exception's MRO wins.
REFUSALS: dict[type[BaseException], str] = {
    refusals.OnCallUncovered: "agent-on-call-last",
    state_errors.OnCallUncovered: "agent-on-call-last",
    OnCallDuty: "agent-on-call-duty",
    refusals.AgentBusy: "agent-refused-busy",
    refusals.NotLoggedIn: "agent-refused-logged-out",
    refusals.DeviceNotConfigured: "agent-refused-no-device",
    refusals.SoftphoneNotRegistered: "agent-refused-unregistered",
    NotAHotlineOf: UNKNOWN_HOTLINE,
    refusals.HandoverToSelf: "line-handover-self",
    refusals.UnknownAgent: UNKNOWN_AGENT,
    refusals.NotInHotline: "line-handover-not-member",
    refusals.ColleagueUnreachable: "line-handover-unreachable",
    refusals.NothingToHandOver: "line-handover-nothing",
}


def refusal(exc: BaseException) -> str:
    """The prompt telling an agent why she was refused."""
    for cls in type(exc).__mro__:
        if cls in REFUSALS:
            return REFUSALS[cls]
    return FAILED


def spoken(*names: str, codes: Sequence[str] = ()) -> list[str]:
    return [sound(n) for n in names] + [digits(c) for c in codes]
