"""Configurations that load but cannot work are refused by check-config (and run) with one located message per
mistake: agents, flows, files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from config_kit import FIXTURES, REPO, check, clean_env, problems, town

from callcontrol.__main__ import EXIT_CONFIG, main
from callcontrol.agents.pjsip import endpoints_from_conf

__all__ = ["clean_env"]  # autouse fixture


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
