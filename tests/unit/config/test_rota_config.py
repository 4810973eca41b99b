"""check-config and the on-call rules: on_call hotlines are 24/7 and linear, a rota must cover the whole week."""

from __future__ import annotations

from pathlib import Path

from config_kit import check, clean_env, problems, town  # noqa: F401 (clean_env: autouse fixture)

from callcontrol.__main__ import EXIT_CONFIG

GAPPY_ROTA = """rota:
  astreinte:
    - {days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00", agent: damien}
    - {days: [mon, tue, wed, thu], from: "19:00", to: "08:00", agent: emma}
    - {days: [fri, sat, sun], from: "18:00", to: "08:00", agent: [emma, damien]}
"""

FULL_ROTA = """rota:
  astreinte:
    - {days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00", agent: damien}
    - {days: [mon, tue, wed, thu, fri, sat, sun], from: "18:00", to: "08:00", agent: emma}
    - {days: [sat, sun], from: "08:00", to: "18:00", agent: [emma, damien], weeks: odd}
    - {days: [sat, sun], from: "08:00", to: "18:00", agent: damien, weeks: even}
"""


def test_a_rota_with_a_gap_is_refused_naming_the_gap(tmp_path, monkeypatch, capsys):
    """Nobody from 18:00 to 19:00 on weekdays: check-config names each gap at the hotline's line."""
    config = town(tmp_path, monkeypatch)
    (config / "rota.yaml").write_text(GAPPY_ROTA)
    code, _, err = check(config, capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert problems(err)[:2] == [
        "config/rota.yaml:2: rota.astreinte: nobody is on duty from monday 18:00 to monday 19:00",
        "config/rota.yaml:2: rota.astreinte: nobody is on duty from tuesday 18:00 to tuesday 19:00",
    ]


def test_a_rota_covering_the_whole_week_and_both_week_parities_is_accepted(tmp_path, monkeypatch, capsys):
    """Weekdays, nights (over midnight) and odd/even weekends: no gap, no overlap, accepted."""
    config = town(tmp_path, monkeypatch)
    (config / "rota.yaml").write_text(FULL_ROTA)
    code, _, err = check(config, capsys, "--no-ari")
    assert code == 0, err


def test_a_rota_naming_a_non_member_or_a_normal_hotline_is_refused(tmp_path, monkeypatch, capsys):
    """Only on-call hotlines have a rota, and only their members (agents.yaml) hold it."""
    config = town(tmp_path, monkeypatch)
    (config / "rota.yaml").write_text(FULL_ROTA.replace("agent: damien}", "agent: alice}", 1)
                                      + "  standard:\n    - {days: [mon], from: '00:00', to: '24:00', agent: alice}\n")
    code, _, err = check(config, capsys, "--no-ari")
    assert code == EXIT_CONFIG
    assert problems(err) == [
        "config/rota.yaml:3: rota.astreinte[0].agent: 'alice' is not a member of astreinte in agents.yaml",
        "config/rota.yaml:7: rota.standard: 'standard' is not an on-call hotline (on_call: true in hotlines.yaml)",
    ]


def test_an_on_call_hotline_with_hours_or_ring_all_is_refused(tmp_path: Path, monkeypatch, capsys):
    """on_call: true means 24/7 and linear escalation; an escalation needs on_call and an E.164 mobile."""
    config = town(tmp_path, monkeypatch)
    text = (config / "hotlines.yaml").read_text()
    text = text.replace("    on_call: true", "    on_call: true\n    schedule: mairie\n    strategy: ring_all")
    escalation = "    escalation: {mobile: '+33612000009'}\n    strategy: ring_all #"
    text = text.replace("    strategy: ring_all        #", escalation)
    (config / "hotlines.yaml").write_text(text)
    code, _, err = check(config, capsys, "--no-ari")
    assert code == EXIT_CONFIG
    found = problems(err)
    assert any("standard.escalation: only an on-call hotline escalates" in p for p in found), found
    assert any("astreinte.schedule: an on-call hotline answers 24/7" in p for p in found), found
    assert any("astreinte.strategy: an on-call hotline escalates in order" in p for p in found), found
