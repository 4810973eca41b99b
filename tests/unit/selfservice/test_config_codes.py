"""agents.yaml code/language and hotlines.yaml code: checked at load, reported as file:line: key.path: reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcontrol.agents.directory import load_agents
from callcontrol.routing.hotlines import read_hotline_routing
from callcontrol.yamlsource import ConfigError

AGENTS = """agents:
  - id: alice
    name: Alice
    softphone: "1001"
    code: "101"
    language: en
    hotlines: {etat-civil: 0}
  - id: bruno
    name: Bruno
    mobile: "+33612000001"
    code: 101
    hotlines: {etat-civil: 0}
  - id: damien
    name: Damien
    mobile: "+33612000001"
    code: "201"
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "agents.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_agents(tmp_path, ["etat-civil"])
    prefix = f"{tmp_path / 'agents.yaml'}:"
    assert all(str(i).startswith(prefix) for i in caught.value.issues)
    return sorted(str(i).removeprefix(prefix) for i in caught.value.issues)


def test_agent_codes_are_2_to_6_digits_and_languages_fr_or_en(tmp_path: Path) -> None:
    """code "7" and language de are each one located problem."""
    text = AGENTS.replace('code: 101', 'code: 102')
    text = text.replace('"+33612000001"\n    code: "201"', '"+33612000003"\n    code: "7"\n    language: de')
    found = problems(tmp_path, text)
    assert [": ".join(f.split(": ")[:2]) for f in found] == ["16: agents[2].code", "17: agents[2].language"], found
    assert "use 2 to 6 digits" in found[0]


def test_two_agents_with_one_code_or_one_caller_id_are_config_errors(tmp_path: Path) -> None:
    """bruno takes alice's code 101 (the line would not know who is meant) and damien bruno's mobile (as a caller
    ID it would name two agents): both reported, at their lines."""
    found = problems(tmp_path, AGENTS)
    assert [": ".join(f.split(": ")[:2]) for f in found] == ["11: agents[1].code", "15: agents[2].mobile"], found
    assert "already the code of agent 'alice'" in found[0]
    assert "+33 6" in found[1] and "612000001" not in found[1] and "agents' line" in found[1]


def test_hotline_codes_are_short_digits_and_unique(tmp_path: Path) -> None:
    """Two hotlines with code 1 and a code "1a": each located; a hotline without a code is fine."""
    (tmp_path / "hotlines.yaml").write_text(
        "hotlines:\n  a: {code: 1}\n  b:\n    code: '1'\n  c: {code: 1a}\n  d: {}\n", encoding="utf-8"
    )
    hotlines, issues = read_hotline_routing(tmp_path)
    assert hotlines["a"].code == "1" and hotlines["d"].code is None
    assert [(i.line, i.path) for i in issues] == [(5, "hotlines.c.code"), (4, "hotlines.b.code")]
    assert "already the code of hotline 'a'" in issues[1].message
