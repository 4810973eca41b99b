"""`callcontrol` command line: run, check-config, agent, closed, hotlines, agents, calls, call; journal, tickets,
stats, report (cli/followup.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callcontrol import logs
from callcontrol.cli import followup as followup_cli
from callcontrol.cli import switchboard as switchboard_cli
from callcontrol.cli.duty import DUTY_ACTIONS, actor, duty_command
from callcontrol.cli.duty import add_arguments as add_duty_arguments
from callcontrol.clock import Clock
from callcontrol.config import pjsip_conf_path, read_secrets_file
from callcontrol.configset import ConfigSet, load_config_set
from callcontrol.preflight import ask_asterisk
from callcontrol.state.layer import StateLayer
from callcontrol.yamlsource import ConfigError

EXIT_CONFIG = 2
EXIT_REDIS = 3  # Redis unreachable (agent, closed)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callcontrol", description=__doc__)
    parser.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("CALLCONTROL_CONFIG", "config")),
        help="configuration directory (default: $CALLCONTROL_CONFIG or ./config)",
    )
    parser.add_argument(
        "--secrets",
        type=Path,
        default=Path(os.environ.get("CALLCONTROL_SECRETS", ".secrets.env")),
        help="untracked KEY=VALUE file with secrets; the environment wins (default: .secrets.env)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the call-control application")
    run.add_argument("--log-format", choices=["json", "console"], help="override logging.format")
    run.add_argument("--clock", help="start the city clock at this ISO time (tests and demos only)")
    check = sub.add_parser("check-config", help="validate the configuration and exit (0 valid, 2 invalid)")
    check.add_argument("--no-ari", action="store_true", help="do not ask Asterisk which sounds exist (offline check)")
    agent = sub.add_parser("agent", help="an agent's presence (login, logout, pause, ...), set-pin, on-call duty")
    agent.add_argument("action", choices=["login", "logout", "pause", "unpause", "status", "set-pin", *DUTY_ACTIONS])
    agent.add_argument("agent_id", nargs="?", help="agent id from agents.yaml (status: all agents when omitted)")
    agent.add_argument("--device", choices=["softphone", "mobile"], default="softphone", help="login: where to ring")
    agent.add_argument("--reason", default="break", help="pause: the reason shown to the switchboard")
    add_duty_arguments(agent)
    closed = sub.add_parser("closed", help='the manual "closed now" switch: on, off, status')
    closed.add_argument("action", choices=["on", "off", "status"])
    closed.add_argument("--scope", default="all", help='"all" (default) or a schedule/hotline id')
    closed.add_argument("--sound", help="message played instead of the usual closed message")
    closed.add_argument("--minutes", type=float, help="switch off by itself after this many minutes")
    switchboard_cli.add_parsers(sub)
    followup_cli.add_commands(sub)
    return parser


@contextlib.asynccontextmanager
async def _state(config: ConfigSet) -> AsyncIterator[tuple[StateLayer, Clock]]:
    """The state layer on the shared city clock (cc:clock, set by a `run` with a demo clock): one time source."""
    from callcontrol.state.connect import connect_redis

    redis = connect_redis(config.settings.redis, socket_timeout=5)
    clock = Clock(zone=ZoneInfo(config.settings.city.timezone))
    state = StateLayer.create(redis, clock=clock.time)
    try:
        await state.shared_clock.adopt(clock)
        yield state, clock
    finally:
        await redis.aclose()


def _with_redis(config: ConfigSet, command: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a command that needs Redis; Redis away is one clear line and EXIT_REDIS, never a traceback."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    try:
        return asyncio.run(command())
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        from callcontrol.state.connect import describe

        where = describe(config.settings.redis)
        print(f"callcontrol: Redis unreachable at {where}: {str(exc) or type(exc).__name__}", file=sys.stderr)
        return EXIT_REDIS


def _since(clock: Clock, at: float | None) -> str:
    return datetime.fromtimestamp(at, clock.zone).strftime("%Y-%m-%d %H:%M:%S") if at else "-"


@contextlib.asynccontextmanager
async def _reachability(config: ConfigSet) -> AsyncIterator[Any]:
    """Asks Asterisk (ARI endpoint state) whether a softphone is registered, for `agent login`."""
    import aiohttp

    from callcontrol.ari.client import AriClient
    from callcontrol.routing.endpoints import AriReachability

    ari = config.settings.ari
    async with aiohttp.ClientSession() as http:
        yield AriReachability(AriClient(http, ari.url, ari.user, ari.password, ari.app, request_timeout=3.0))


async def agent_command(config: ConfigSet, args: argparse.Namespace) -> int:
    """Parse, call the presence use case (agents/presence.py), print; by = "cli"."""
    from callcontrol.agents.presence import Presence, PresenceRefused

    # No directory sync here: the running instances own it (a CLI run with another config directory must
    # not rewrite the agents every instance routes to).
    async with _state(config) as (state, clock), _reachability(config) as reachability:
        presence = Presence(state, clock.time, reachability=reachability)
        if args.action in DUTY_ACTIONS:
            return await duty_command(state, presence, clock, args)
        try:
            if args.action == "status" or args.agent_id is None:
                rows = await presence.status(args.agent_id)
                print(f"{'AGENT':<16} {'STATUS':<11} {'DEVICE':<10} {'REASON':<12} SINCE")
                for row in rows:
                    device = row.device.value if row.device else "-"
                    print(f"{row.agent_id:<16} {row.status.value:<11} {device:<10} {row.reason or '-':<12} "
                          f"{_since(clock, row.since)}")
                return 0
            if args.action == "login":
                result = await presence.login(args.agent_id, args.device, by="cli")
            elif args.action == "logout":
                result = await presence.logout(args.agent_id, by="cli", force=args.force, actor=actor())
            elif args.action == "pause":
                result = await presence.pause(args.agent_id, args.reason, by="cli", force=args.force, actor=actor())
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
    async with _state(config) as (state, clock):
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
                    + (f" until {_since(clock, closure.until)}" if closure.until else "")
                    + (f", message {closure.message_sound}" if closure.message_sound else "")
                )
            if not active:
                print("no manual closure")
        return 0


async def switchboard_command(config: ConfigSet, args: argparse.Namespace) -> int:
    """hotlines, agents, calls, call ...: the switchboard's use cases (cli/switchboard.py)."""
    async with _state(config) as (state, clock):
        return await switchboard_cli.run(config, args, state, clock)


def _report(directory: Path, exc: ConfigError) -> int:
    print(f"callcontrol: invalid configuration in {directory}/ ({len(exc.issues)} problem(s)):", file=sys.stderr)
    for issue in exc.issues:
        print(f"  {issue}", file=sys.stderr)
    return EXIT_CONFIG


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ask_asterisk_first = args.command == "run" or (args.command == "check-config" and not args.no_ari)
    try:
        env = {**read_secrets_file(args.secrets), **os.environ}
        config = load_config_set(args.config, env, check_softphones=not ask_asterisk_first)
    except ConfigError as exc:
        return _report(args.config, exc)
    if args.command == "agent" and args.action == "set-pin":
        from callcontrol.cli.pin import set_pin_main

        return set_pin_main(config, args.agent_id)
    if args.command == "agent":
        return _with_redis(config, lambda: agent_command(config, args))
    if args.command == "closed":
        return _with_redis(config, lambda: closed_command(config, args))
    if args.command in switchboard_cli.COMMANDS:
        return _with_redis(config, lambda: switchboard_command(config, args))
    if args.command in followup_cli.COMMANDS:
        return _with_redis(config, lambda: followup_cli.run(config, args, _state))
    asked = None
    if ask_asterisk_first:
        asked = asyncio.run(ask_asterisk(config.settings.ari))
        if asked.refused:  # the secrets are wrong: nothing would work
            print(f"callcontrol: {asked.problem}", file=sys.stderr)
            return EXIT_CONFIG
        try:  # Asterisk's sounds and endpoints; when it is away, the softphones against asterisk.pjsip_conf
            config = load_config_set(args.config, env, known_sounds=asked.sounds, known_endpoints=asked.endpoints)
        except ConfigError as exc:
            return _report(args.config, exc)
        if asked.problem and args.command == "check-config":
            unchecked = "" if asked.sounds is not None else ": sounds not checked"
            print(f"callcontrol: warning: {asked.problem}{unchecked} (--no-ari: check offline)", file=sys.stderr)
    if args.command == "check-config":
        pjsip = pjsip_conf_path(config.directory, config.settings)
        unchecked = (asked is None or asked.endpoints is None) and not pjsip.is_file()
        note = f" (softphones not checked: no {pjsip}, see asterisk.pjsip_conf)" if unchecked else ""
        print(f"callcontrol: configuration in {args.config}/ is valid{note}")
        return 0
    settings = config.settings
    logs.configure(args.log_format or settings.logging.format, settings.logging.level)
    from callcontrol import app

    clock = args.clock or os.environ.get("CALLCONTROL_CLOCK") or None
    with asyncio.Runner(loop_factory=app.loop_factory()) as runner:  # uvloop when installed
        runner.run(app.run(config, clock_override=clock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
