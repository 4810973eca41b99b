"""callcontrol itself, run as a real process (`python -m callcontrol run`) against the test Asterisk and Redis.

The test sees what ops see: the JSON log lines, the process exit code, and what ARI reports.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import REPO, Ari, ami_password, ari_password

SHIPPED_CONFIG = REPO / "config"


def make_config(directory: Path, overrides: dict[str, str] | None = None) -> Path:
    """A copy of the shipped config/ with some files replaced (name -> YAML text), e.g. short timeouts."""
    if directory.exists():
        shutil.rmtree(directory)
    shutil.copytree(SHIPPED_CONFIG, directory)
    for name, text in (overrides or {}).items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return directory


class AppProcess:
    """One callcontrol process; stopped by PID (SIGTERM, then SIGKILL) at teardown."""

    def __init__(
        self,
        workdir: Path,
        config_dir: Path,
        redis_url: str,
        *,
        app: str = "callcontrol",
        clock: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.config_dir = config_dir
        self.app = app
        self.log_path = workdir / f"callcontrol-{app}.log"
        restart = 1
        while self.log_path.exists():  # a restarted instance gets its own log: its lines are its own
            restart += 1
            self.log_path = workdir / f"callcontrol-{app}-{restart}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")},
            "CALLCONTROL_ARI_PASSWORD": ari_password(),
            "CALLCONTROL_AMI_PASSWORD": ami_password(),
            "CALLCONTROL_REDIS_URL": redis_url,
            "CALLCONTROL_ARI_APP": app,
            "CALLCONTROL_INSTANCE": app,
            "CALLCONTROL_LOG_SALT": "test-salt",
            **(env or {}),
        }
        if clock:
            self.env["CALLCONTROL_CLOCK"] = clock
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, ari: Ari, timeout: float = 15.0) -> AppProcess:
        """Start and return once ARI lists our application (the events websocket is up)."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "callcontrol", "--config", str(self.config_dir), "--secrets", "/nonexistent", "run"],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"callcontrol exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
            if self.app in ari.applications() and self.events("agents_synced"):
                return self
            time.sleep(0.05)
        raise AssertionError(f"callcontrol did not connect to ARI within {timeout} s:\n{self.log_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    # ---------------------------------------------------------------------------------------------- logs

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for raw in self.log_text().splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                out.append({"event": "_unparsed", "text": raw})
        return out

    def events(self, name: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            line
            for line in self.lines()
            if line.get("event") == name and all(line.get(k) == v for k, v in fields.items())
        ]

    def wait_for(
        self,
        name: str,
        timeout: float = 10.0,
        where: Callable[[dict[str, Any]], bool] | None = None,
        count: int = 1,
        **fields: Any,
    ) -> list[dict[str, Any]]:
        """Wait until `count` log lines with event `name` (and those fields) exist; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.events(name, **fields) if where is None or where(line)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                tail = "\n".join(self.log_text().splitlines()[-40:])
                raise AssertionError(f"no {count} x {name} {fields} in callcontrol's log within {timeout} s:\n{tail}")
            time.sleep(0.05)

    def call_lines(self, call_id: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("call_id") == call_id]
