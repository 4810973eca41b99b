"""`callcontrol agent history | handover | on-duty`: the on-call duty and the presence audit from the command line.

Parsing and printing only; the use cases are agents/presence.py's (route "cli", actor = the OS user). Light to
import (the `agent` parser is built from it).
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callcontrol.agents.presence import Presence
    from callcontrol.clock import Clock
    from callcontrol.state.layer import StateLayer

DUTY_ACTIONS = ("history", "handover", "on-duty")
_AGO = re.compile(r"^(\d+)\s*([mhd])$")


def add_arguments(agent: argparse.ArgumentParser) -> None:
    """The options of the duty actions on the `agent` sub-command."""
    agent.add_argument("--since", help="history: from this ISO time, or 30m / 12h / 7d ago (default: 24h)")
    agent.add_argument("--to", dest="colleague", help="handover: the colleague taking the duty")
    agent.add_argument("--force", action="store_true", help="logout/pause: even the last one on call (audited)")


def actor() -> str:
    """Who runs the command, for the audit."""
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def parse_since(value: str | None, clock: Clock) -> float:
    if not value:
        return clock.time() - 86400
    match = _AGO.match(value.strip())
    if match:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        return clock.time() - timedelta(**{unit: int(match.group(1))}).total_seconds()
    at = datetime.fromisoformat(value)
    return (at if at.tzinfo else at.replace(tzinfo=clock.zone)).timestamp()


def _when(clock: Clock, at: float) -> str:
    return datetime.fromtimestamp(at, clock.zone).strftime("%Y-%m-%d %H:%M:%S")


async def duty_command(state: StateLayer, presence: Presence, clock: Clock, args: argparse.Namespace) -> int:
    from callcontrol.agents.presence import PresenceRefused

    if args.action == "history":
        try:
            since = parse_since(args.since, clock)
        except ValueError:
            print(f"callcontrol: --since {args.since!r}: use an ISO time or 30m / 12h / 7d", file=sys.stderr)
            return 1
        rows = await state.duty.audit(args.agent_id, since=since)
        print(f"{'WHEN':<19}  {'AGENT':<12} {'WHAT':<28} {'BY':<12} {'FORCED':<6} {'ACTOR':<10} DETAIL")
        for e in rows:
            print(f"{_when(clock, e.at):<19}  {e.agent_id:<12} {e.what:<28} {e.by:<12} {'yes' if e.forced else '-':<6} "
                  f"{e.actor or '-':<10} {e.detail or ''}".rstrip())
        return 0
    if args.action == "on-duty":
        print(f"{'HOTLINE':<16} {'AGENT':<12} {'SINCE':<19}  RELIEVED")
        for h in await presence.on_duty():
            print(f"{h.hotline:<16} {h.agent_id:<12} {_when(clock, h.since):<19}  {h.relieved or '-'}")
        return 0
    if not args.agent_id or not args.colleague:
        print("callcontrol: handover needs the agent and --to COLLEAGUE", file=sys.stderr)
        return 1
    try:
        done = await presence.handover(args.agent_id, args.colleague, by="cli", actor=actor())
    except PresenceRefused as exc:
        print(f"callcontrol: {exc}", file=sys.stderr)
        return 1
    print(f"{done.from_agent} -> {done.to_agent}: on duty for {', '.join(done.hotlines)} since {_when(clock, done.at)}")
    return 0
