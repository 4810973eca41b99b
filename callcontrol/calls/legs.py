"""The channels a call owns besides the citizen's (agent legs, transfer legs) and the identity they show.

One convention, used by whoever dials a leg and by whoever finds one again after a restart:
- a leg's channel id is `<call id>-<tag><random>`, so the call's legs are found from the call id alone;
- its Stasis arguments are `<kind>,<call id>`, so reconcile() knows whose leg a channel is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

AGENT_LEG = "agent-leg"
TRANSFER_LEG = "transfer-leg"
LEG_KINDS = (AGENT_LEG, TRANSFER_LEG)


def new_leg_id(call_id: str, kind: str = AGENT_LEG) -> str:
    """A fresh channel id for a leg of `call_id` (transfer legs are tagged `t`, for people reading logs)."""
    tag = "t" if kind == TRANSFER_LEG else ""
    return f"{call_id}-{tag}{uuid.uuid4().hex[: 8 - len(tag)]}"


def is_leg_of(channel_id: str, call_id: str) -> bool:
    return channel_id.startswith(f"{call_id}-")


def leg_args(kind: str, call_id: str) -> str:
    """The Stasis arguments of a leg we originate."""
    return f"{kind},{call_id}"


def owner_of(args: tuple[str, ...] | list[str]) -> str | None:
    """The call a channel is a leg of, from its Stasis arguments; None for a citizen's own channel."""
    if len(args) > 1 and args[0] in LEG_KINDS:
        return args[1]
    return None


@dataclass(frozen=True)
class PublicIdentity:
    """The town hall as the outside world sees it: every call we place shows this, never a private number."""

    number: str  # E.164 public number, e.g. +33556000000
    name: str  # e.g. "Mairie"
    carrier_endpoint: str = "carrier"  # the PJSIP trunk to the public network

    def caller_id(self, label: str = "", number: str | None = None) -> str:
        """'"Mairie <label>" <number>' (default: the public number)."""
        name = f"{self.name} {label}".strip()
        return f'"{name}" <{number or self.number}>'

    def external(self, number: str) -> str:
        """The dial string of an external number (E.164) through the carrier."""
        return f"PJSIP/{number}@{self.carrier_endpoint}"
