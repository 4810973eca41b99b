"""`callcontrol agent login|logout|pause|unpause|status|set-pin|history|handover|on-duty` and the manual
`callcontrol closed on|off|status` switch.

Parsing and printing only: the presence use cases are agents/presence.py's (by = "cli"), the duty actions
cli/duty.py's, set-pin cli/pin.py's. Light to import (the use cases are imported when the command runs).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from callcontrol.cli import duty
from callcontrol.cli.session import AskAsterisk, local_time, open_state

if TYPE_CHECKING:
    from callcontrol.configset import ConfigSet

COMMANDS = ("agent", "closed")


def add_parsers(sub: Any) -> None:
    agent = sub.add_parser("agent", help="an agent's presence (login, logout, pause, ...), set-pin, on-call duty")
    agent.add_argument("action", choices=["login", "logout", "pause", "unpause", "status", "set-pin",
                                          *duty.DUTY_ACTIONS])
    agent.add_argument("agent_id", nargs="?", help="agent id from agents.yaml (status: all agents when omitted)")
    agent.add_argument("--device", choices=["softphone", "mobile"], default="softphone", help="login: where to ring")
    agent.add_argument("--reason", default="break", help="pause: the reason shown to the switchboard")
    duty.add_arguments(agent)
    closed = sub.add_parser("closed", help='the manual "closed now" switch: on, off, status')
    closed.add_argument("action", choices=["on", "off", "status"])
    closed.add_argument("--scope", default="all", help='"all" (default) or a schedule/hotline id')
    closed.add_argument("--sound", help="message played instead of the usual closed message")
    closed.add_argument("--minutes", type=float, help="switch off by itself after this many minutes")


async def agent_command(config: ConfigSet, args: argparse.Namespace) -> int:
    """Parse, call the presence use case (agents/presence.py), print; by = "cli"."""
    from callcontrol.agents.presence import Presence, PresenceRefused

    # No directory sync here: the running instances own it (a CLI run with another config directory must
    # not rewrite the agents every instance routes to).
    async with open_state(config) as (state, clock), AskAsterisk(config.settings.ari) as reachability:
        presence = Presence(state, clock.time, reachability=reachability)
        if args.action in duty.DUTY_ACTIONS:
            return await duty.duty_command(state, presence, clock, args)
        try:
            if args.action == "status" or args.agent_id is None:
                rows = await presence.status(args.agent_id)
                print(f"{'AGENT':<16} {'STATUS':<11} {'DEVICE':<10} {'REASON':<12} SINCE")
                for row in rows:
                    device = row.device.value if row.device else "-"
                    print(f"{row.agent_id:<16} {row.status.value:<11} {device:<10} {row.reason or '-':<12} "
                          f"{local_time(clock, row.since)}")
                return 0
            if args.action == "login":
                result = await presence.login(args.agent_id, args.device, by="cli")
            elif args.action == "logout":
                result = await presence.logout(args.agent_id, by="cli", force=args.force, actor=duty.actor())
            elif args.action == "pause":
                result = await presence.pause(args.agent_id, args.reason, by="cli", force=args.force,
                                              actor=duty.actor())
            else:
                result = await presence.unpause(args.agent_id, by="cli")
        except PresenceRefused as exc:
            print(f"callcontrol: {exc}", file=sys.stderr)
            return 1
        if result.warning:
            print(f"callcontrol: warning: {result.warning}", file=sys.stderr)
        print(f"{result.agent_id}: {result.status.value}" + (f" ({result.reason})" if result.reason else ""))
        return 0


async def closed_command(config: ConfigSet, args: argparse.Namespace) -> int:
    """The manual "closed now" switch, on the shared city clock (so a timed closure ends when the app says so)."""
    async with open_state(config) as (state, clock):
        closures = state.closures
        if args.action == "on":
            until = clock.time() + args.minutes * 60 if args.minutes else None
            await closures.set_closed(args.scope, args.sound, until)
            print(f"closed now: {args.scope}" + (f" for {args.minutes:g} min" if until else " until switched off"))
        elif args.action == "off":
            cleared = await closures.clear_closed(args.scope)
            print(f"{args.scope}: " + ("switched off" if cleared else "was not closed"))
        else:
            active = await closures.list_closed()
            for closure in active:
                print(
                    f"{closure.scope}: closed"
                    + (f" until {local_time(clock, closure.until)}" if closure.until else "")
                    + (f", message {closure.message_sound}" if closure.message_sound else "")
                )
            if not active:
                print("no manual closure")
        return 0
