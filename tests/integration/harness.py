"""The integration harness's own plumbing: the project's scripts, a tiny ARI client, Asterisk's log.

Independent of the product code on purpose: when callcontrol's ARI client is broken, the harness still cleans up.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
STATE = Path(os.environ.get("CALLCONTROL_STATE", "/var/tmp/callcontrol"))
ARI_URL = os.environ.get("CALLCONTROL_ARI_URL", "http://127.0.0.1:8088")
ARI_USER = "callcontrol"
REDIS_PORT = int(os.environ.get("CALLCONTROL_REDIS_PORT", "6390"))


def script(name: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run scripts/NAME ARGS; output captured (stdout+stderr), never raises on a non-zero exit."""
    return subprocess.run(
        [str(SCRIPTS / name), *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


def ari_password() -> str:
    """What scripts/asterisk put in ari.conf: the environment, else the rendered file, else the demo default."""
    return _rendered_secret("CALLCONTROL_ARI_PASSWORD", "ari.conf", "password", "callcontrol-demo")


def ami_password() -> str:
    """What scripts/asterisk put in manager.conf, found the same way as the ARI password."""
    return _rendered_secret("CALLCONTROL_AMI_PASSWORD", "manager.conf", "secret", "callcontrol-ami-demo")


def _rendered_secret(variable: str, conf: str, name: str, default: str) -> str:
    if os.environ.get(variable):
        return os.environ[variable]
    root = script("asterisk", "root").stdout.strip()
    try:
        for line in (Path(root) / "etc/asterisk" / conf).read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == name and value.strip() and "@" not in value:
                return value.strip()
    except OSError:
        pass
    return default


class AriHttpError(Exception):
    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        super().__init__(f"ARI {method} {path}: {status} {body}")
        self.status = status


class Ari:
    """Blocking ARI REST client on urllib, for fixtures and assertions (not for driving calls)."""

    def __init__(self, url: str = ARI_URL, user: str = ARI_USER, password: str | None = None) -> None:
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{user}:{password or ari_password()}".encode()).decode()
        self._auth = f"Basic {token}"

    def request(self, method: str, path: str, body: Any = None, http_timeout: float = 5, **params: Any) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        url = f"{self.url}/ari/{path.lstrip('/')}" + (f"?{query}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={"Authorization": self._auth})
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=http_timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise AriHttpError(e.code, method, path, e.read().decode(errors="replace")) from None
        return json.loads(raw) if raw else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, **params)

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.request("POST", path, body, **params)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, **params)

    # -- the few questions the harness asks
    def info(self) -> dict[str, Any]:
        return self.get("asterisk/info")

    def version(self) -> str:
        return self.info()["system"]["version"]

    def applications(self) -> list[str]:
        """Names of the ARI applications that have a websocket connected right now."""
        return [a["name"] for a in self.get("applications")]

    def channels(self) -> list[dict[str, Any]]:
        return self.get("channels")

    def bridges(self) -> list[dict[str, Any]]:
        return self.get("bridges")

    def endpoint(self, tech: str, resource: str) -> dict[str, Any]:
        return self.get(f"endpoints/{tech}/{resource}")

    def hangup(self, channel_id: str) -> None:
        try:
            self.delete(f"channels/{channel_id}")
        except AriHttpError as e:
            if e.status != 404:  # already gone
                raise

    def hang_up_everything(self, timeout: float = 3.0) -> list[str]:
        """Hang up every channel and destroy every bridge (gotcha 9); names of the channels that were left."""
        left = self.channels()
        for ch in left:
            self.hangup(ch["id"])
        for br in self.bridges():
            try:
                self.delete(f"bridges/{br['id']}")
            except AriHttpError as e:
                # 404: gone already; 409: a dialplan's bridge (Dial in the fallback route), not ARI's to destroy: it
                # ends with its channels, hung up just above
                if e.status not in (404, 409):
                    raise
        deadline = time.monotonic() + timeout
        while self.channels() and time.monotonic() < deadline:
            time.sleep(0.02)
        return [ch["name"] for ch in left]


def resolve_log(reported: Path) -> Path:
    """The full log Asterisk really writes: `scripts/asterisk log` names full.log, logger.conf may say `full`."""
    candidates = [p for p in (reported, reported.with_suffix("")) if p.exists() and p.stat().st_size > 0]
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else reported


@dataclass
class AsteriskHandle:
    ari: Ari
    version: str
    log_path: Path
    started_here: bool


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def log_since(path: Path, offset: int, max_lines: int = 200) -> str:
    """Asterisk's full log from byte `offset` (from the start if it was truncated by a restart), last lines."""
    try:
        with path.open("rb") as f:
            if log_size(path) < offset:
                offset = 0
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError as e:
        return f"(cannot read {path}: {e})"
    lines = text.splitlines()
    skipped = len(lines) - max_lines
    return (f"... {skipped} lines before\n" if skipped > 0 else "") + "\n".join(lines[-max_lines:])


class AriEvents:
    """One ARI application's event websocket (aiohttp), for harness tests that need Stasis without callcontrol.

    Use an application name of its own (never "callcontrol": a second websocket replaces the first, gotcha 18).
    """

    def __init__(self, app: str, url: str = ARI_URL, password: str | None = None) -> None:
        self.app = app
        self.url = url.rstrip("/").replace("http", "ws", 1) + "/ari/events"
        token = base64.b64encode(f"{ARI_USER}:{password or ari_password()}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self.events: list[dict[str, Any]] = []
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def __aenter__(self) -> AriEvents:
        self._session = aiohttp.ClientSession()
        self._ws = await self._session.ws_connect(
            self.url, params={"app": self.app, "subscribeAll": "false"}, headers=self._headers
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._reader.cancel()
        await self._ws.close()
        await self._session.close()

    async def _read(self) -> None:
        async for msg in self._ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                event = json.loads(msg.data)
                self.events.append(event)
                self._queue.put_nowait(event)

    async def next(self, type_: str, timeout: float = 5.0, where: Any = None) -> dict[str, Any]:
        """The next event of that type (and matching `where(event)`), skipping others; TimeoutError otherwise."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self._queue.get()
                if event.get("type") == type_ and (where is None or where(event)):
                    return event


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll `predicate` until it returns something true (returned), or fail saying what did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)
