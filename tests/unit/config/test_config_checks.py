"""Configurations that load but cannot work are refused by check-config (and run) with one located message per
mistake; Asterisk is asked what really exists, and what it answered is said as it is."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from callcontrol.__main__ import EXIT_CONFIG, main
from callcontrol.agents.pjsip import endpoints_from_conf

REPO = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "fixtures"
PASSWORD = "ari-test-secret"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see no CALLCONTROL_* variable from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("CALLCONTROL_"):
            monkeypatch.delenv(name)


def town(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str | None = None, *, pjsip: bool = True) -> Path:
    """tmp/config (the shipped config with the files of fixtures/CASE laid over it) beside tmp/asterisk-conf/
    pjsip.conf, as in the repository; the current directory is tmp, so the config dir is given as `config`."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    if pjsip:
        (tmp_path / "asterisk-conf").mkdir()
        shutil.copy(REPO / "asterisk-conf" / "pjsip.conf", tmp_path / "asterisk-conf" / "pjsip.conf")
    if case:
        shutil.copytree(FIXTURES / case, tmp_path / "config", dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    return Path("config")


def check(config: Path, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), "--secrets", "/nonexistent/.secrets.env", "check-config", *options])
    out = capsys.readouterr()
    return code, out.out, out.err


def problems(err: str) -> list[str]:
    return [line.strip() for line in err.splitlines()[1:]]


# ------------------------------------------------------------------------------------------------ agents


def test_two_agents_sharing_a_softphone_or_a_mobile_are_refused(tmp_path, monkeypatch, capsys):
    """One softphone or one mobile (however written) for two agents: located at the second, naming both agents;
    the mobile is masked in the message."""
    code, _, err = check(town(tmp_path, monkeypatch, "duplicate_devices"), capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert problems(err) == [
        "config/agents.yaml:9: agents[1].softphone: softphone 1001 of agent 'bruno' is already used by agent 'alice'"
        " (line 5): a call offered to one would ring the other; give each agent their own softphone",
        "config/agents.yaml:17: agents[3].mobile: mobile +33 6•• •• •• 01 of agent 'emma' is already used by agent"
        " 'damien' (line 13): as a caller ID it would name two agents (agents' line), and a call to one would reach"
        " the other; give each agent their own mobile",
    ]
    assert "612000001" not in err and "12 00 00 01" not in err


def test_missing_or_empty_agents_file_is_refused(tmp_path, monkeypatch, capsys):
    """No agents.yaml, or one listing nobody: a town hall with no agent cannot route a hotline call."""
    config = town(tmp_path, monkeypatch, "no_agents")
    code, _, err = check(config, capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert problems(err) == [
        "config/agents.yaml:2: agents: no agent defined: a town hall with no agent cannot route a hotline call; list"
        " them under agents: (id, name, softphone and/or mobile, hotlines; see docs/configuration.md)"
    ]
    (config / "agents.yaml").unlink()
    code, _, err = check(config, capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert problems(err) == [
        "config/agents.yaml: (top level): file not found: a town hall with no agent cannot route a hotline call;"
        " list them under agents: (id, name, softphone and/or mobile, hotlines; see docs/configuration.md)"
    ]


def test_softphone_must_be_an_endpoint_of_the_shipped_pjsip_conf(tmp_path, monkeypatch, capsys):
    """Offline, a softphone is checked against ../asterisk-conf/pjsip.conf, at the line of its softphone key."""
    code, _, err = check(town(tmp_path, monkeypatch, "unknown_softphone"), capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert problems(err) == [
        "config/agents.yaml:9: agents[1].softphone: softphone '1004' is not a PJSIP endpoint of"
        " asterisk-conf/pjsip.conf (did you mean '1003'?); known: 1001, 1002, 1003, carrier; define [1004]"
        " (type = endpoint) in pjsip.conf or fix the name"
    ]


def test_softphone_check_follows_the_setting_or_is_skipped_with_a_note(tmp_path, monkeypatch, capsys):
    """asterisk.pjsip_conf points elsewhere; without any such file the check is skipped, and check-config says so."""
    config = town(tmp_path, monkeypatch, "unknown_softphone", pjsip=False)
    code, out, err = check(config, capsys, "--no-ari")
    assert (code, err) == (0, "")
    assert "is valid (softphones not checked: no asterisk-conf/pjsip.conf, see asterisk.pjsip_conf)" in out
    shutil.copy(REPO / "asterisk-conf" / "pjsip.conf", tmp_path / "pbx.conf")
    settings = config / "callcontrol.yaml"
    settings.write_text(settings.read_text(encoding="utf-8") + "asterisk:\n  pjsip_conf: ../pbx.conf\n", "utf-8")
    code, _, err = check(config, capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert "config/agents.yaml:9: agents[1].softphone: softphone '1004' is not a PJSIP endpoint of pbx.conf" in err


def test_pjsip_conf_endpoints_come_from_sections_and_templates(tmp_path: Path):
    """Endpoints are the sections of type endpoint, directly or by template (templates and auths/aors are not),
    including #included files."""
    (tmp_path / "pjsip.conf").write_text(
        "[tpl](!)\ntype = endpoint\n\n[1001](tpl)\n[1001]\ntype=aor\n[trunk]\ntype => endpoint ; the carrier\n"
        ";--\n[commented]\ntype = endpoint\n--;\n#include extra.conf\n",
        encoding="utf-8",
    )
    (tmp_path / "extra.conf").write_text("[2001]\ntype = endpoint\n[2001-auth]\ntype = auth\n", encoding="utf-8")
    found = endpoints_from_conf(tmp_path / "pjsip.conf")
    assert found is not None and found.names == {"1001", "trunk", "2001"}
    assert endpoints_from_conf(tmp_path / "absent.conf") is None


# ------------------------------------------------------------------------------------------------ flows


def test_empty_flow_file_is_refused_naming_the_fix(tmp_path, monkeypatch, capsys):
    """An empty flows/main.yaml (every citizen would get 603 Decline) is one located error saying what to write;
    `run` refuses to start on it."""
    config = town(tmp_path, monkeypatch, "empty_flow")
    code, _, err = check(config, capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert problems(err) == [
        "config/flows/main.yaml: (top level): this flow file defines nothing: give it flows: {main: [- play: ...]}"
        " and, in one file, entry: {inbound: main} (without an inbound flow every citizen's call is declined), or"
        " delete it"
    ]
    assert main(["--config", str(config), "--secrets", "/nonexistent", "run"]) == EXIT_CONFIG


def test_flow_file_without_steps_is_refused(tmp_path, monkeypatch, capsys):
    """A flow file whose flows: is empty is refused at that key, once (its entry is not blamed as well)."""
    code, _, err = check(town(tmp_path, monkeypatch, "stepless_flow"), capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert problems(err) == [
        "config/flows/main.yaml:3: flows: no flow under flows:; this flow file defines nothing: give it flows:"
        " {main: [- play: ...]} and, in one file, entry: {inbound: main} (without an inbound flow every citizen's"
        " call is declined), or delete it"
    ]


def test_no_flow_at_all_for_inbound_is_refused(tmp_path, monkeypatch, capsys):
    """Flow files that define no flow at all (only a caller list) still need an inbound entry."""
    code, _, err = check(town(tmp_path, monkeypatch, "lists_only_flow"), capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert problems(err) == [
        "config/flows/main.yaml:2: entry: no flow takes incoming calls: declare entry: {inbound: FLOW} in one flow file"
    ]


# ------------------------------------------------------------------------------------------------ files


def test_file_not_in_utf8_is_a_located_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    """A Latin-1 schedules.yaml: the file, line and byte, exit 2, and no cascade into the hotlines using it."""
    code, _, err = check(town(tmp_path, monkeypatch, "not_utf8"), capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert problems(err) == ["config/schedules.yaml:1: (top level): not UTF-8 (byte 0xE9 at line 1): save it as UTF-8"]


def test_impossible_date_is_reported_at_its_line(tmp_path, monkeypatch, capsys):
    """2026-02-30 in a closure is reported at its line and key, like any other bad value."""
    code, _, err = check(town(tmp_path, monkeypatch, "impossible_date"), capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert problems(err) == [
        "config/schedules.yaml:7: schedules.mairie.closures[1].date: '2026-02-30' is not a date; write YYYY-MM-DD,"
        " e.g. 2026-12-24"
    ]


SYNTAX_ERRORS = {
    "broken_schedules": "config/schedules.yaml:5: (top level): invalid YAML: expected ',' or ']', but got '<scalar>'",
    "broken_flow": "config/flows/closed.yaml:6: (top level): invalid YAML: expected ',' or ']', but got '<stream end>'",
}


@pytest.mark.parametrize(("case", "message"), SYNTAX_ERRORS.items())
def test_syntax_error_is_one_message_without_its_consequences(case, message, tmp_path, monkeypatch, capsys):
    """A file that cannot be parsed is reported once; the schedules or flows it defines are not then reported
    unknown wherever they are used (hotlines, flow:closed)."""
    code, _, err = check(town(tmp_path, monkeypatch, case), capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert problems(err) == [message]


def test_every_message_spells_paths_as_the_config_dir_was_given(tmp_path, monkeypatch, capsys):
    """With an absolute --config, flows and agents messages both name files under that absolute directory."""
    config = (town(tmp_path, monkeypatch, "empty_flow") / "..").resolve() / "config"
    shutil.copy(FIXTURES / "no_agents" / "agents.yaml", config / "agents.yaml")
    code, _, err = check(config, capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert [line.split(":", 1)[0] for line in problems(err)] == [
        f"{config}/flows/main.yaml",
        f"{config}/agents.yaml",
    ]


# ------------------------------------------------------------------------------------------------ Asterisk


@dataclass
class TinyAri:
    """Just enough of ARI for check-config: /sounds and /endpoints/PJSIP behind basic auth, in its own thread."""

    endpoints: list[str] = field(default_factory=lambda: ["1001", "1002", "carrier"])
    status: int = 200
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
        "config/agents.yaml:14: agents[2].softphone: softphone '1003' is not a PJSIP endpoint of Asterisk"
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
