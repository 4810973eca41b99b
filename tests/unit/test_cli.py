"""The command line answers in one clear line when Redis is away, never with a traceback."""

from __future__ import annotations

import socket

import pytest

from callcontrol.__main__ import EXIT_REDIS, main


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # free once closed: nothing listens there


@pytest.mark.parametrize("argv", [["agent", "status"], ["agent", "login", "alice"], ["closed", "on", "--minutes", "5"]])
def test_redis_unreachable_is_one_line_and_exit_code_3(argv, monkeypatch, capsys) -> None:
    """agent and closed commands with Redis down: 'Redis unreachable at <url>: <reason>', exit 3."""
    url = f"redis://:secret@127.0.0.1:{_closed_port()}/0"
    monkeypatch.setenv("CALLCONTROL_REDIS_URL", url)
    assert main(["--secrets", "/nonexistent", *argv]) == EXIT_REDIS == 3
    err = capsys.readouterr().err
    assert err.startswith(f"callcontrol: Redis unreachable at {url.replace(':secret@', ':***@')}: "), err
    assert "secret" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
