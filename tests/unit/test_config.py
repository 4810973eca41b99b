"""Configuration: the shipped config is valid; every problem is reported with file, line and key path (exit 2)."""

import os
import shutil
from pathlib import Path

import pytest

from callcontrol.__main__ import EXIT_CONFIG, main
from callcontrol.config import load_settings
from callcontrol.yamlsource import ConfigError

SHIPPED = Path(__file__).resolve().parents[2] / "config"

VALID = """\
city:
  name: Mairie de Test
  timezone: Europe/Paris
  public_number: "+33556000000"
ari:
  url: http://127.0.0.1:8088
  password: from-yaml
http:
  port: 8080
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see no CALLCONTROL_* variable from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("CALLCONTROL_"):
            monkeypatch.delenv(name)


def check(directory: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--config", str(directory), "--secrets", str(directory / "absent.env"), "check-config", "--no-ari"])
    return code, capsys.readouterr().err


def write(tmp_path: Path, text: str) -> Path:
    """The shipped flows, hotlines and agents beside a callcontrol.yaml under test."""
    for item in SHIPPED.iterdir():
        if item.name != "callcontrol.yaml" and not (tmp_path / item.name).exists():
            (shutil.copytree if item.is_dir() else shutil.copy)(item, tmp_path / item.name)
    (tmp_path / "callcontrol.yaml").write_text(text, encoding="utf-8")
    return tmp_path / "callcontrol.yaml"


def test_shipped_config_is_valid(capsys: pytest.CaptureFixture[str]):
    """The config/ directory shipped in the repository passes check-config."""
    code = main(["--config", str(SHIPPED), "--secrets", "/nonexistent/.secrets.env", "check-config", "--no-ari"])
    out = capsys.readouterr()
    assert (code, out.err) == (0, "")
    assert "is valid" in out.out


def test_valid_config_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """A minimal correct file exits 0."""
    write(tmp_path, VALID)
    assert check(tmp_path, capsys) == (0, "")


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """A YAML syntax error exits 2 naming the file and the line of the problem."""
    path = write(tmp_path, 'city:\n  name: [unclosed\n  public_number: "+33556000000"\n')
    code, err = check(tmp_path, capsys)
    assert code == EXIT_CONFIG
    assert f"{path}:3: (top level): invalid YAML" in err


def test_unknown_key_names_file_line_and_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """A misspelt key exits 2 with file:line, the key path and a hint."""
    path = write(tmp_path, VALID.replace("  timezone: Europe/Paris\n", "  timezone: Europe/Paris\n  nmae: typo\n"))
    code, err = check(tmp_path, capsys)
    assert code == EXIT_CONFIG
    assert f"{path}:4: city.nmae: unknown key; check its spelling" in err


def test_bad_time_zone_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """An unknown time zone exits 2 at its line, quoting the bad value and an example."""
    path = write(tmp_path, VALID.replace("Europe/Paris", "Europe/Pariss"))
    code, err = check(tmp_path, capsys)
    assert code == EXIT_CONFIG
    assert f"{path}:3: city.timezone:" in err
    assert "unknown time zone 'Europe/Pariss'; use an IANA name such as Europe/Paris" in err


def test_public_number_not_in_e164_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """A public number in national form exits 2 at its line, asking for E.164."""
    path = write(tmp_path, VALID.replace('"+33556000000"', '"0556000000"'))
    code, err = check(tmp_path, capsys)
    assert code == EXIT_CONFIG
    assert f"{path}:4: city.public_number:" in err
    assert "'0556000000' is not a phone number in E.164 form" in err


def test_public_number_that_cannot_exist_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """A public number too short to exist (+33123) is refused, not used as caller ID."""
    path = write(tmp_path, VALID.replace('"+33556000000"', '"+33123"'))
    code, err = check(tmp_path, capsys)
    assert code == EXIT_CONFIG
    assert f"{path}:4: city.public_number:" in err


def test_duplicate_keys_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """A key defined twice (YAML would silently keep the last) exits 2 naming each duplicate."""
    path = write(tmp_path, VALID + "  port: 9090\nari:\n  user: other\n")
    code, err = check(tmp_path, capsys)
    assert code == EXIT_CONFIG
    assert f"{path}:10: http.port: key defined twice; keep one" in err
    assert f"{path}:11: ari: key defined twice; keep one" in err


def test_every_problem_is_listed_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Several mistakes are all listed in one run, with their count."""
    write(tmp_path, VALID.replace("Europe/Paris", "Mars/Olympus").replace("port: 8080", "port: 99999"))
    code, err = check(tmp_path, capsys)
    assert code == EXIT_CONFIG
    assert "(2 problem(s))" in err
    assert "city.timezone" in err and "http.port" in err


def test_environment_overrides_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """CALLCONTROL_ARI_PASSWORD wins over the YAML; the secret never shows in a repr."""
    write(tmp_path, VALID)
    settings = load_settings(tmp_path, env={"CALLCONTROL_ARI_PASSWORD": "from-env"})
    assert settings.ari.password == "from-env"
    assert "from-env" not in repr(settings)
    assert load_settings(tmp_path, env={}).ari.password == "from-yaml"


def test_environment_wins_over_secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    """check-config reads .secrets.env, but a variable set in the environment wins over it."""
    write(tmp_path, VALID.replace("http:\n  port: 8080\n", ""))
    secrets = tmp_path / ".secrets.env"
    secrets.write_text("# secrets\nexport CALLCONTROL_HTTP_PORT='70000'\n", encoding="utf-8")
    code, err = (
        main(["--config", str(tmp_path), "--secrets", str(secrets), "check-config", "--no-ari"]),
        capsys.readouterr().err,
    )
    assert code == EXIT_CONFIG and "http.port" in err
    monkeypatch.setenv("CALLCONTROL_HTTP_PORT", "8081")
    assert main(["--config", str(tmp_path), "--secrets", str(secrets), "check-config", "--no-ari"]) == 0


def test_bad_environment_value_names_the_variable(tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str]):
    """An invalid value from the environment is reported under its variable name, not a YAML line."""
    write(tmp_path, VALID)
    monkeypatch.setenv("CALLCONTROL_HTTP_PORT", "abc")
    code, err = check(tmp_path, capsys)
    assert code == EXIT_CONFIG
    assert "CALLCONTROL_HTTP_PORT" in err


def test_rest_transport_defaults_to_the_websocket_and_the_environment_can_switch_it(tmp_path: Path):
    """REST goes over the websockets (events + 3 request-only) unless ari.rest_transport / CALLCONTROL_ARI_REST_
    TRANSPORT says http; a transport that does not exist is refused under the variable's name."""
    write(tmp_path, VALID)
    default = load_settings(tmp_path, env={})
    assert (default.ari.rest_transport, default.ari.rest_websockets) == ("websocket", 3)
    env = {"CALLCONTROL_ARI_REST_TRANSPORT": "http", "CALLCONTROL_ARI_REST_WEBSOCKETS": "0"}
    chosen = load_settings(tmp_path, env=env)
    assert (chosen.ari.rest_transport, chosen.ari.rest_websockets) == ("http", 0)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, env={"CALLCONTROL_ARI_REST_TRANSPORT": "carrier-pigeon"})
    assert "CALLCONTROL_ARI_REST_TRANSPORT" in str(caught.value) and "ari.rest_transport" in str(caught.value)


def test_hotlines_yaml_problems_are_reported_once_and_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """hotlines.yaml has one parser: each mistake in it is one located line (a bad setting, an unknown schedule),
    and the flows and agents that name the broken hotline are not blamed for it."""
    text = (SHIPPED / "hotlines.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "    name: Services techniques\n    schedule: mairie\n", "    name: Services techniques\n    schedule: mairi\n"
    )
    text = text.replace("    name: Affaires sociales\n", "    name: Affaires sociales\n    ring_timeout: -1\n")
    (tmp_path / "hotlines.yaml").write_text(text, encoding="utf-8")
    write(tmp_path, VALID)
    code, err = check(tmp_path, capsys)
    lines = [line.strip() for line in err.splitlines()[1:]]
    name = tmp_path / "hotlines.yaml"  # as the configuration directory was given
    assert code == EXIT_CONFIG
    assert sorted(lines) == [
        f"{name}:15: hotlines.services-techniques.schedule: unknown schedule 'mairi' (did you mean 'mairie'?); "
        "known schedules: mairie, urbanisme",
        f"{name}:19: hotlines.ccas.ring_timeout: Input should be greater than 0",
    ]


def test_hotlines_yaml_syntax_error_is_reported_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """A YAML syntax error in hotlines.yaml is reported once, with its file and line."""
    (tmp_path / "hotlines.yaml").write_text("hotlines: [\n", encoding="utf-8")
    write(tmp_path, VALID)
    code, err = check(tmp_path, capsys)
    assert code == EXIT_CONFIG
    assert err.count("hotlines.yaml:2: (top level): invalid YAML") == 1
