"""`callcontrol hotlines | agents | calls` (readable tables) and `callcontrol call redirect|move|pickup|voicemail`,
over the same use cases as the HTTP API (routing/switchboard.py), on the shared city clock; by = "cli".
Light to import (the parser is built from it; the use cases are imported when the command runs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callcontrol.clock import Clock
    from callcontrol.configset import ConfigSet
    from callcontrol.routing.switchboard import AgentView, Switchboard, WaitingCall
    from callcontrol.state.layer import StateLayer

COMMANDS = ("hotlines", "agents", "calls", "call")
EXIT_REFUSED = 1
EXIT_NOT_FOUND = 4


def add_parsers(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("hotlines", help="each hotline: closed?, waiting calls, longest wait, agents by state")
    agents = sub.add_parser("agents", help="every agent: state, time in state, hotlines")
    agents.add_argument("--hotline", help="only the members of this hotline")
    calls = sub.add_parser("calls", help="the waiting calls: hotline, position, wait, masked caller")
    calls.add_argument("--hotline", help="only this hotline")
    call = sub.add_parser("call", help="a waiting call: redirect CALL AGENT, move CALL HOTLINE, pickup, voicemail")
    call.add_argument("action", choices=["redirect", "move", "pickup", "voicemail"])
    call.add_argument("call_id", help="the call id (callcontrol calls)")
    call.add_argument("target", nargs="?", help="redirect: the agent id; move: the hotline id")


def duration(seconds: float | None) -> str:
    """12 s, 4 min 05, 1 h 02 (readable on a terminal)."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d}"
    return f"{s // 3600} h {s % 3600 // 60:02d}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def _agent_rows(agents: list[AgentView]) -> list[list[str]]:
    return [[a.agent_id, a.name, a.status + (f" ({a.pause_reason})" if a.pause_reason else ""),
             duration(a.in_state), a.device or "-", ",".join(a.hotlines) or "-"] for a in agents]


def _call_rows(calls: list[WaitingCall]) -> list[list[str]]:
    return [[c.call_id, c.hotline, str(c.position or "-"), duration(c.waited), c.caller or "-",
             " > ".join(c.path) or "-"] for c in calls]


async def run(config: ConfigSet, args: argparse.Namespace, state: StateLayer, clock: Clock) -> int:
    from callcontrol.routing.switchboard import NotFound, Switchboard, SwitchboardError

    switchboard = Switchboard(state, config.hotlines, clock, names={a.id: a.name for a in config.agents},
                              switchboard_phone=config.settings.http.switchboard_phone)
    try:
        return await _run(switchboard, args)
    except NotFound as exc:
        print(f"callcontrol: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except SwitchboardError as exc:
        print(f"callcontrol: {exc}", file=sys.stderr)
        return EXIT_REFUSED


async def _run(switchboard: Switchboard, args: argparse.Namespace) -> int:
    if args.command == "hotlines":
        rows = []
        for h in await switchboard.hotlines():
            states = [a.status for a in h.agents]
            rows.append([h.hotline_id, h.name, "closed" if h.closed else "open", str(len(h.waiting)),
                         duration(max((c.waited for c in h.waiting), default=None)),
                         str(states.count("available")),
                         str(sum(s in ("ringing", "on_call", "wrap_up") for s in states)),
                         str(sum(s in ("paused", "logged_out") for s in states))])
        print(table(["hotline", "name", "now", "waiting", "longest", "available", "busy", "away"], rows))
    elif args.command == "agents":
        print(table(["agent", "name", "state", "for", "device", "hotlines"],
                    _agent_rows(await switchboard.agents(args.hotline))))
    elif args.command == "calls":
        calls = await switchboard.calls(args.hotline)
        print(table(["call", "hotline", "pos", "waited", "caller", "path"], _call_rows(calls)) if calls
              else "no call waiting")
    else:
        return await _action(switchboard, args)
    return 0


async def _action(switchboard: Switchboard, args: argparse.Namespace) -> int:
    if args.action in ("redirect", "move") and not args.target:
        what = "agent id" if args.action == "redirect" else "hotline id"
        print(f"callcontrol: call {args.action} needs the {what}: callcontrol call {args.action} CALL TARGET",
              file=sys.stderr)
        return 2
    if args.action == "redirect":
        done = await switchboard.redirect(args.call_id, args.target, by="cli")
        print(f"{done.call_id}: ringing {done.agent_id}")
    elif args.action == "move":
        done = await switchboard.move(args.call_id, args.target, by="cli")
        print(f"{done.call_id}: now waits in {done.hotline}, position {done.position}")
    elif args.action == "pickup":
        done = await switchboard.pick_up(args.call_id, by="cli")
        print(f"{done.call_id}: ringing the switchboard phone ({done.agent_id})")
    else:
        done = await switchboard.voicemail(args.call_id, by="cli")
        print(f"{done.call_id}: sent to voicemail")
    return 0
