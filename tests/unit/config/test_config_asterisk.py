"""check-config and run ask Asterisk what really exists (sounds, PJSIP endpoints) and say what it answered:
401 is a configuration error, Asterisk away is a warning."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from config_kit import REPO, check, clean_env, problems, town

from callcontrol.__main__ import EXIT_CONFIG, main
from callcontrol.config import AriSettings
from callcontrol.preflight import ask_asterisk

__all__ = ["clean_env"]  # autouse fixture
PASSWORD = "ari-test-secret"


@dataclass
class TinyAri:
    """Just enough of ARI for check-config: /sounds and /endpoints/PJSIP behind basic auth, in its own thread."""

    endpoints: list[str] = field(default_factory=lambda: ["1001", "1002", "carrier"])
    status: int = 200
    delay: float = 0.0  # seconds before answering
    port: int = 0

    def serve(self) -> Iterator[TinyAri]:
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(self.app(), handle_signals=False)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.run_until_complete(runner.cleanup())
            loop.close()

    def app(self) -> web.Application:
        token = "Basic " + base64.b64encode(f"callcontrol:{PASSWORD}".encode()).decode()

        async def handle(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != token:
                return web.json_response({"message": "Authentication required"}, status=401)
            await asyncio.sleep(self.delay)
            if self.status != 200:
                return web.json_response({"message": "Internal Server Error"}, status=self.status)
            if request.path == "/ari/sounds":
                return web.json_response([{"id": s} for s in demo_sounds()])
            if request.path == "/ari/endpoints/PJSIP":
                return web.json_response([{"technology": "PJSIP", "resource": r} for r in self.endpoints])
            return web.json_response({"message": "Resource not found"}, status=404)

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handle)
        return app


def demo_sounds() -> set[str]:
    """The sounds the shipped flows play: our rendered prompts (asterisk-conf/prompts/*.txt) and core ones."""
    names = {"vm-intro", "digits/1", "beep"}
    for prompts in (REPO / "asterisk-conf" / "prompts").glob("*.txt"):
        for line in prompts.read_text(encoding="utf-8").splitlines():
            if "|" in line and not line.startswith("#"):
                names.add("callcontrol/" + line.split("|", 1)[0].strip())
    return names


@pytest.fixture
def tiny_ari() -> Iterator[TinyAri]:
    yield from TinyAri().serve()


def test_ari_refusing_the_credentials_is_a_config_error(tiny_ari, tmp_path, monkeypatch, capsys):
    """Without the ARI password Asterisk answers 401: check-config (and run) say so and exit 2."""
    config = town(tmp_path, monkeypatch)
    monkeypatch.setenv("CALLCONTROL_ARI_URL", f"http://127.0.0.1:{tiny_ari.port}")
    code, _, err = check(config, capsys)
    assert code == EXIT_CONFIG
    assert err == (
        f"callcontrol: Asterisk refused the ARI credentials (401) of user 'callcontrol' at http://127.0.0.1:"
        f"{tiny_ari.port}: no ARI password is set; set CALLCONTROL_ARI_PASSWORD (environment or .secrets.env) to"
        " that user's password in Asterisk's ari.conf\n"
    )
    assert main(["--config", str(config), "--secrets", "/nonexistent", "run"]) == EXIT_CONFIG


def test_ari_endpoints_are_the_truth_for_softphones(tiny_ari, tmp_path, monkeypatch, capsys):
    """When ARI answers, softphones are checked against GET /ari/endpoints/PJSIP (here 1003 is missing)."""
    config = town(tmp_path, monkeypatch)
    monkeypatch.setenv("CALLCONTROL_ARI_URL", f"http://127.0.0.1:{tiny_ari.port}")
    monkeypatch.setenv("CALLCONTROL_ARI_PASSWORD", PASSWORD)
    code, _, err = check(config, capsys)
    assert code == EXIT_CONFIG
    assert problems(err) == [
        "config/agents.yaml:19: agents[2].softphone: softphone '1003' is not a PJSIP endpoint of Asterisk"
        " (GET /ari/endpoints/PJSIP) (did you mean '1002'?); known: 1001, 1002, carrier; define [1003]"
        " (type = endpoint) in pjsip.conf or fix the name"
    ]
    tiny_ari.endpoints.append("1003")
    code, out, err = check(config, capsys)
    assert (code, err) == (0, "")
    assert out == "callcontrol: configuration in config/ is valid\n"


def test_asterisk_away_or_failing_is_a_warning_saying_what_happened(tiny_ari, tmp_path, monkeypatch, capsys):
    """Connection refused names the URL; an HTTP error names the request and status; a valid config still
    exits 0 (the softphones are then checked against pjsip.conf)."""
    config = town(tmp_path, monkeypatch)
    with refused_port() as port:
        monkeypatch.setenv("CALLCONTROL_ARI_URL", f"http://127.0.0.1:{port}")
        code, out, err = check(config, capsys)
    assert code == 0 and "is valid" in out
    assert err == (
        f"callcontrol: warning: Asterisk not reachable at http://127.0.0.1:{port} (connection refused: is it running,"
        " is ari.url right?): sounds not checked (--no-ari: check offline)\n"
    )
    tiny_ari.status = 500
    monkeypatch.setenv("CALLCONTROL_ARI_URL", f"http://127.0.0.1:{tiny_ari.port}")
    monkeypatch.setenv("CALLCONTROL_ARI_PASSWORD", PASSWORD)
    code, out, err = check(config, capsys)
    assert code == 0 and "is valid" in out
    assert "warning: Asterisk answered GET /ari/sounds with 500 (Internal Server Error) at http://127.0.0.1:" in err


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_asterisk_that_does_not_answer_in_time_is_named_with_the_timeout(tiny_ari):
    """A request Asterisk leaves unanswered is 'did not answer at URL within N s', not a crash or a hang."""
    tiny_ari.delay = 2.0
    settings = AriSettings(url=f"http://127.0.0.1:{tiny_ari.port}", password=PASSWORD)
    asked = await ask_asterisk(settings, timeout=0.2)
    assert (asked.sounds, asked.refused) == (None, False)
    assert asked.problem == f"Asterisk did not answer at http://127.0.0.1:{tiny_ari.port} within 0.2 s"
