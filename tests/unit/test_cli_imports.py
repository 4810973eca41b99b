"""A command-line process imports only what its command needs: each start of `python -m callcontrol ...` costs
the imports of its command, not those of the whole application (the integration suite starts ~60 of them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Never needed to parse the command line.
PARSER_NEVER = ("pydantic", "redis", "aiohttp", "structlog", "phonenumbers", "prometheus_client", "yaml", "holidays",
                "icalendar", "argon2", "callcontrol.configset", "callcontrol.state", "callcontrol.app")
# Never needed by the commands that only read or write Redis (no Asterisk asked, no HTTP served, no iCalendar rota).
REDIS_COMMANDS_NEVER = ("aiohttp", "prometheus_client", "icalendar", "recurring_ical_events", "holidays.countries",
                        "callcontrol.ari", "callcontrol.app", "callcontrol.wiring", "callcontrol.supervision",
                        "callcontrol.calls.session", "callcontrol.metrics", "callcontrol.preflight")

_REPORT = "import json, sys; print(json.dumps(sorted(sys.modules)))"


def _modules(script: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", f"{script}\n{_REPORT}"], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(f"{n}.") for n in names))


def test_parsing_the_command_line_imports_no_heavy_module() -> None:
    """`callcontrol --help` (and every parse) needs argparse and cli/, not pydantic, Redis, aiohttp or the app."""
    modules = _modules("from callcontrol.__main__ import _parser\n_parser().parse_args(['agent', 'status'])")
    assert _loaded(modules, PARSER_NEVER) == []


def test_redis_commands_import_neither_aiohttp_nor_ari_nor_the_app() -> None:
    """agent status/logout/on-duty, closed, hotlines, stats and tickets load the config and talk to Redis only."""
    script = f"""
import fakeredis
from callcontrol.state import connect
server = fakeredis.FakeServer()
connect.connect_redis = lambda *a, **k: fakeredis.FakeAsyncRedis(server=server)
from callcontrol.__main__ import main
base = ["--config", {str(REPO / "config")!r}, "--secrets", "/nonexistent"]
for argv in (["agent", "status"], ["agent", "logout", "alice"], ["agent", "on-duty"], ["agent", "login", "damien",
             "--device", "mobile"], ["closed", "status"], ["hotlines"], ["calls"], ["stats"], ["tickets", "list"]):
    main([*base, *argv])
"""
    modules = _modules(script)
    assert "callcontrol.configset" in modules and "callcontrol.state.layer" in modules  # the commands did run
    assert _loaded(modules, REDIS_COMMANDS_NEVER) == []
