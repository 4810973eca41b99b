"""Shared by the configuration-check tests: the shipped config with a fixture laid over it, check-config's
output, a clean environment."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from callcontrol.__main__ import main

REPO = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).parent / "fixtures"


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
