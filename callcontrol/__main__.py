"""`callcontrol` command line: run, check-config, agent, closed."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from callcontrol import logs
from callcontrol.config import pjsip_conf_path, read_secrets_file
from callcontrol.configset import ConfigSet, load_config_set
from callcontrol.preflight import ask_asterisk
from callcontrol.yamlsource import ConfigError

EXIT_CONFIG = 2


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
    agent = sub.add_parser("agent", help="an agent's presence: login, logout, pause, unpause, status")
    agent.add_argument("action", choices=["login", "logout", "pause", "unpause", "status"])
    agent.add_argument("agent_id", nargs="?", help="agent id from agents.yaml (status: all agents when omitted)")
    agent.add_argument("--device", choices=["softphone", "mobile"], default="softphone", help="login: where to ring")
    agent.add_argument("--reason", default="break", help="pause: the reason shown to the switchboard")
    closed = sub.add_parser("closed", help='the manual "closed now" switch: on, off, status')
    closed.add_argument("action", choices=["on", "off", "status"])
    closed.add_argument("--scope", default="all", help='"all" (default) or a schedule/hotline id')
    closed.add_argument("--sound", help="message played instead of the usual closed message")
    closed.add_argument("--minutes", type=float, help="switch off by itself after this many minutes")
    return parser


async def agent_command(config: ConfigSet, args: argparse.Namespace) -> int:
    import redis.asyncio as aioredis

    from callcontrol.state.errors import StateError
    from callcontrol.state.layer import StateLayer
    from callcontrol.state.models import Device

    redis = aioredis.from_url(config.settings.redis.url, socket_connect_timeout=2)
    state = StateLayer.create(redis)
    try:
        # No directory sync here: the running instances own it (a CLI run with another config directory must
        # not rewrite the agents every instance routes to).
        agents = state.agents
        if args.action == "status" or args.agent_id is None:
            ids = [args.agent_id] if args.agent_id else await agents.agent_ids()
            for agent_state in await agents.states(ids):
                extra = f" ({agent_state.pause_reason})" if agent_state.pause_reason else ""
                device = agent_state.device.value if agent_state.device else "-"
                print(f"{agent_state.agent_id:<16} {agent_state.status.value}{extra:<12} {device}")
            return 0
        if args.action == "login":
            result = await agents.login(args.agent_id, Device(args.device))
        elif args.action == "logout":
            result = await agents.logout(args.agent_id)
        elif args.action == "pause":
            result = await agents.pause(args.agent_id, args.reason)
        else:
            result = await agents.unpause(args.agent_id)
        print(f"{result.agent_id}: {result.status.value}")
        return 0
    except StateError as exc:
        print(f"callcontrol: {exc}", file=sys.stderr)
        return 1
    finally:
        await redis.aclose()


async def closed_command(config: ConfigSet, args: argparse.Namespace) -> int:
    import time

    import redis.asyncio as aioredis

    from callcontrol.state.layer import StateLayer

    redis = aioredis.from_url(config.settings.redis.url, socket_connect_timeout=2)
    closures = StateLayer.create(redis).closures
    try:
        if args.action == "on":
            until = time.time() + args.minutes * 60 if args.minutes else None
            await closures.set_closed(args.scope, args.sound, until)
            print(f"closed now: {args.scope}" + (f" for {args.minutes:g} min" if until else " until switched off"))
        elif args.action == "off":
            cleared = await closures.clear_closed(args.scope)
            print(f"{args.scope}: " + ("switched off" if cleared else "was not closed"))
        else:
            active = await closures.list_closed()
            for closure in active:
                print(
                    f"{closure.scope}: closed" + (f", message {closure.message_sound}" if closure.message_sound else "")
                )
            if not active:
                print("no manual closure")
        return 0
    finally:
        await redis.aclose()


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
    if args.command == "agent":
        return asyncio.run(agent_command(config, args))
    if args.command == "closed":
        return asyncio.run(closed_command(config, args))
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
    asyncio.run(app.run(config, clock_override=clock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
