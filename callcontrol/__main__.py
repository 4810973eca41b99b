"""`callcontrol` command line: run, check-config, agent, closed (cli/agent.py), hotlines, agents, calls, call
(cli/switchboard.py); journal, tickets, stats, report (cli/followup.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from callcontrol.cli import agent as agent_cli
from callcontrol.cli import followup as followup_cli
from callcontrol.cli import switchboard as switchboard_cli
from callcontrol.cli.session import EXIT_REDIS, open_state, with_redis

if TYPE_CHECKING:
    from callcontrol.configset import ConfigSet
    from callcontrol.yamlsource import ConfigError

# Light to import: the parser is built from cli/'s light modules; the configuration, Redis, aiohttp and the
# application are imported once the command is known (each CLI process pays only for what its command needs).
EXIT_CONFIG = 2
__all__ = ["EXIT_CONFIG", "EXIT_REDIS", "main"]


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
    agent_cli.add_parsers(sub)
    switchboard_cli.add_parsers(sub)
    followup_cli.add_commands(sub)
    return parser


def _report(directory: Path, exc: ConfigError) -> int:
    print(f"callcontrol: invalid configuration in {directory}/ ({len(exc.issues)} problem(s)):", file=sys.stderr)
    for issue in exc.issues:
        print(f"  {issue}", file=sys.stderr)
    return EXIT_CONFIG


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from callcontrol.config import read_secrets_file
    from callcontrol.configset import load_config_set
    from callcontrol.yamlsource import ConfigError

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
        return with_redis(config, lambda: agent_cli.agent_command(config, args))
    if args.command == "closed":
        return with_redis(config, lambda: agent_cli.closed_command(config, args))
    if args.command in switchboard_cli.COMMANDS:
        return with_redis(config, lambda: _switchboard(config, args))
    if args.command in followup_cli.COMMANDS:
        return with_redis(config, lambda: followup_cli.run(config, args, open_state))
    import asyncio

    asked = None
    if ask_asterisk_first:
        from callcontrol.preflight import ask_asterisk

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
        from callcontrol.config import pjsip_conf_path

        pjsip = pjsip_conf_path(config.directory, config.settings)
        unchecked = (asked is None or asked.endpoints is None) and not pjsip.is_file()
        note = f" (softphones not checked: no {pjsip}, see asterisk.pjsip_conf)" if unchecked else ""
        print(f"callcontrol: configuration in {args.config}/ is valid{note}")
        return 0
    from callcontrol import app, logs

    config.flows.load_calendars()  # now rather than in the event loop at the first call (~0.1 s of imports)
    settings = config.settings
    lines = logs.configure(args.log_format or settings.logging.format, settings.logging.level, cache=True, defer=True)
    clock = args.clock or os.environ.get("CALLCONTROL_CLOCK") or None
    app.freeze_startup_heap()  # what is loaded by now lives as long as the process: no full collection walks it
    try:
        with asyncio.Runner(loop_factory=app.loop_factory()) as runner:  # uvloop when installed
            runner.run(app.run(config, clock_override=clock))
    finally:
        if lines is not None:
            lines.flush()  # what the loop's last turn logged
    return 0


async def _switchboard(config: ConfigSet, args: argparse.Namespace) -> int:
    """hotlines, agents, calls, call ...: the switchboard's use cases (cli/switchboard.py)."""
    async with open_state(config) as (state, clock):
        return await switchboard_cli.run(config, args, state, clock)


if __name__ == "__main__":
    sys.exit(main())
