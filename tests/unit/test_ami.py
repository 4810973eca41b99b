"""The minimal AMI client (AstDB writes) and its settings: login, action, response; failures fail fast, typed."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from callcontrol.__main__ import main
from callcontrol.ami import AmiClient, AmiError, AmiSettings
from callcontrol.config import load_settings

SHIPPED = Path(__file__).resolve().parents[2] / "config"


class FakeAmi:
    """An AMI server on 127.0.0.1 speaking the wire protocol: banner, Login, DBPut / DBDel, Logoff."""

    def __init__(self, secret: str = "s3cret", *, silent: bool = False) -> None:
        self.secret = secret
        self.silent = silent  # accepts the connection, never answers (a stuck Asterisk)
        self.db: dict[tuple[str, str], str] = {}
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> FakeAmi:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.silent:
            await reader.read()
            return
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        logged_in = False
        try:
            while True:
                block = (await reader.readuntil(b"\r\n\r\n")).decode()
                m = dict(line.split(": ", 1) for line in block.strip().split("\r\n"))
                reply = {"Response": "Success", "ActionID": m.get("ActionID", "")}
                action = m["Action"]
                if action == "Login":
                    logged_in = m["Secret"] == self.secret
                    if not logged_in:
                        reply.update(Response="Error", Message="Authentication failed")
                    else:  # an event before the next response: the client must skip it
                        writer.write(b"Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n")
                elif action == "Logoff":
                    break
                elif not logged_in:
                    reply.update(Response="Error", Message="Permission denied")
                elif action == "DBPut":
                    self.db[(m["Family"], m["Key"])] = m["Val"]
                elif action == "DBDel":
                    if self.db.pop((m["Family"], m["Key"]), None) is None:
                        reply.update(Response="Error", Message="Database entry not found")
                writer.write("".join(f"{k}: {v}\r\n" for k, v in reply.items()).encode() + b"\r\n")
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


async def test_db_put_and_del_reach_astdb():
    """DBPut stores the value, DBDel removes it, and deleting an absent entry is no error."""
    async with FakeAmi() as ami:
        client = AmiClient(AmiSettings(port=ami.port, password="s3cret"))
        await client.db_put("callcontrol", "oncall", "+33612000002")
        assert ami.db == {("callcontrol", "oncall"): "+33612000002"}
        await client.db_del("callcontrol", "oncall")
        await client.db_del("callcontrol", "oncall")
        assert ami.db == {}


async def test_a_wrong_secret_is_a_login_error_naming_the_user():
    """A wrong CALLCONTROL_AMI_PASSWORD: AmiError saying the login was refused, and nothing written."""
    async with FakeAmi() as ami:
        client = AmiClient(AmiSettings(port=ami.port, password="wrong"))
        with pytest.raises(AmiError, match="login refused for 'callcontrol'"):
            await client.db_put("callcontrol", "oncall", "+33612000002")
        assert ami.db == {}


async def test_no_asterisk_or_a_silent_one_fails_fast():
    """Connection refused, or an AMI that never answers: AmiError within the timeout, never a hang."""
    async with FakeAmi(silent=True) as ami:
        port = ami.port
        with pytest.raises(AmiError, match="TimeoutError"):
            await AmiClient(AmiSettings(port=port), timeout=0.2).db_put("callcontrol", "oncall", "1")
    with pytest.raises(AmiError, match=f"127.0.0.1:{port}"):
        await AmiClient(AmiSettings(port=port), timeout=0.5).db_put("callcontrol", "oncall", "1")


# ------------------------------------------------------------------------------------------------ settings


def _config(tmp_path: Path, ami_section: str) -> Path:
    shutil.copytree(SHIPPED, tmp_path, dirs_exist_ok=True)
    text = (SHIPPED / "callcontrol.yaml").read_text(encoding="utf-8")
    start = text.index("ami:\n")
    end = text.index("\n\n", start)
    (tmp_path / "callcontrol.yaml").write_text(text[:start] + ami_section + text[end:], encoding="utf-8")
    return tmp_path


def test_the_shipped_ami_section_takes_its_secret_from_the_environment():
    """config/callcontrol.yaml enables AMI on loopback; the secret comes from CALLCONTROL_AMI_PASSWORD only."""
    settings = load_settings(SHIPPED, {"CALLCONTROL_AMI_PASSWORD": "from-env"})
    assert settings.ami == AmiSettings(host="127.0.0.1", port=5038, user="callcontrol", password="from-env")
    assert "from-env" not in repr(settings.ami)


def test_without_an_ami_section_the_secret_alone_does_not_enable_it(tmp_path: Path):
    """No `ami:` section: no AMI (today's behaviour), even with CALLCONTROL_AMI_PASSWORD set by load_secrets."""
    settings = load_settings(_config(tmp_path, "# no ami"), {"CALLCONTROL_AMI_PASSWORD": "x"})
    assert settings.ami is None


def test_a_remote_ami_host_is_refused_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch):
    """AMI logs in in clear text: a non-loopback host is a config error at its line (check-config exits 2)."""
    for name in [n for n in os.environ if n.startswith("CALLCONTROL_")]:
        monkeypatch.delenv(name)
    directory = _config(tmp_path, "ami:\n  host: 192.0.2.10\n  port: 70000")
    line = (directory / "callcontrol.yaml").read_text().splitlines().index("  host: 192.0.2.10") + 1
    code = main(["--config", str(directory), "--secrets", str(tmp_path / "absent.env"), "check-config", "--no-ari"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"callcontrol.yaml:{line}: ami.host: " in err, err
    assert "'192.0.2.10': AMI logs in in clear text, loopback only" in err, err
    assert f"callcontrol.yaml:{line + 1}: ami.port:" in err, err


def test_the_shipped_manager_conf_is_loopback_only_with_the_least_privileges():
    """asterisk-conf/manager.conf: AMI bound to 127.0.0.1, one user (callcontrol) allowed from loopback only, write
    class `system` (what DBPut / DBDel need), no read class, its secret filled in at start (never in git)."""
    text = (SHIPPED.parent / "asterisk-conf" / "manager.conf").read_text(encoding="utf-8")
    sections: dict[str, dict[str, list[str]]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = {}
        elif "=" in line:
            key, _, value = line.partition("=")
            sections[current].setdefault(key.strip(), []).append(value.strip())
    assert sections["general"]["bindaddr"] == ["127.0.0.1"] and sections["general"]["webenabled"] == ["no"]
    assert list(sections) == ["general", "callcontrol"]
    user = sections["callcontrol"]
    assert user["write"] == ["system"] and user["read"] == [""]
    assert user["deny"] == ["0.0.0.0/0.0.0.0"] and user["permit"] == ["127.0.0.1/255.255.255.255"]
    assert user["secret"] == ["@AMI_PASSWORD@"]
