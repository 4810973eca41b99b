"""What every bench does first: refuse while the demo's callcontrol runs (it would take the bench's calls), then
start the project's own Asterisk and Redis (scripts/asterisk, scripts/redis). Import it after the bench has put
tests/integration on sys.path (harness.script)."""

from __future__ import annotations

from harness import script


def stack_up() -> str | None:
    """None once Asterisk and Redis are up for a bench; else why not (the bench then exits 2)."""
    if script("stack", "status").stdout.startswith("callcontrol running"):
        return "the demo stack's callcontrol would take the calls: scripts/stack down first"
    for name in ("asterisk", "redis"):
        started = script(name, "start")
        if started.returncode != 0:
            return f"scripts/{name} start failed:\n{started.stdout}{started.stderr}"
    return None
