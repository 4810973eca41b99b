"""`callcontrol` command line: run, check-config."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from callcontrol import logs
from callcontrol.config import Config, load_config, read_secrets_file
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
    sub.add_parser("check-config", help="validate the configuration and exit (0 valid, 2 invalid)")
    return parser


def _load(args: argparse.Namespace) -> Config:
    env = {**read_secrets_file(args.secrets), **os.environ}
    return load_config(args.config, env)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = _load(args)
    except ConfigError as exc:
        print(f"callcontrol: invalid configuration in {args.config}/ ({len(exc.issues)} problem(s)):", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check-config":
        print(f"callcontrol: configuration in {args.config}/ is valid")
        return 0
    settings = config.settings
    logs.configure(args.log_format or settings.logging.format, settings.logging.level)
    from callcontrol import app

    clock = args.clock or os.environ.get("CALLCONTROL_CLOCK") or None
    asyncio.run(app.run(config, clock_override=clock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
