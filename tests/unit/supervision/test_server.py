"""Serving: the API binds where configured; a port already taken never stops the calls; http.bind is checked."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest
from aiohttp import web

from callcontrol.config import HttpSettings
from callcontrol.supervision.server import serve


async def test_a_port_already_taken_is_logged_and_serve_returns(json_logs) -> None:
    """Another program holds the port: http_bind_failed is logged and serve returns (the app's loops go on)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        await asyncio.wait_for(serve(web.Application(), "127.0.0.1", port), 5)
    assert json_logs.events("http_bind_failed")[0]["port"] == port


async def test_port_zero_picks_a_free_port_and_logs_it(json_logs) -> None:
    """Port 0: the system picks one, logged in http_listening (what the integration tests read)."""
    task = asyncio.create_task(serve(web.Application(), "127.0.0.1", 0))
    for _ in range(100):
        if json_logs.events("http_listening"):
            break
        await asyncio.sleep(0.01)
    assert json_logs.events("http_listening")[0]["port"] > 0
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_http_bind_must_be_an_ip_address() -> None:
    """http.bind: localhost (a name) is refused with a reason; 127.0.0.1 and :: are accepted."""
    with pytest.raises(ValueError, match="not an IP address"):
        HttpSettings(bind="localhost")
    assert HttpSettings(bind="::").bind == "::"


def test_a_bad_token_list_in_the_environment_is_reported_by_variable_without_the_token(tmp_path) -> None:
    """CALLCONTROL_API_TOKENS with an unknown role: the config error names the variable and the role, not the token."""
    from callcontrol.config import load_settings
    from callcontrol.yamlsource import ConfigError

    (tmp_path / "callcontrol.yaml").write_text(
        'city: {name: Mairie de Test, timezone: Europe/Paris, public_number: "+33556000000"}\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, env={"CALLCONTROL_API_TOKENS": "boss:secret-secret-secret-1"})
    text = "\n".join(str(issue) for issue in caught.value.issues)
    assert "environment variable CALLCONTROL_API_TOKENS" in text and "unknown role 'boss'" in text
    assert "secret-secret-secret-1" not in text
    tokens = load_settings(tmp_path, env={"CALLCONTROL_API_TOKENS": "viewer:secret-secret-secret-1"}).http.tokens
    assert tokens == "viewer:secret-secret-secret-1"
