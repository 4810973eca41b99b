"""Tokens and roles: hashed, compared in constant time, failures limited per client."""

from __future__ import annotations

import pytest

from callcontrol.apitokens import parse_api_tokens
from callcontrol.supervision.auth import FailureLimiter, Role, Tokens

from .conftest import TOKENS, auth


def test_tokens_are_kept_as_digests_and_give_their_role() -> None:
    """A configured token gives its role; its text is nowhere in what is kept; an unknown token gives none."""
    tokens = Tokens.parse("viewer:aaaaaaaaaaaaaaaa1,supervisor:bbbbbbbbbbbbbbbb2")
    assert tokens.role_for("aaaaaaaaaaaaaaaa1") is Role.VIEWER
    assert tokens.role_for("bbbbbbbbbbbbbbbb2") is Role.SUPERVISOR
    assert tokens.role_for("aaaaaaaaaaaaaaaa") is None
    kept = b"".join(digest for digest, _role in tokens.digests)
    assert "aaaaaaaaaaaaaaaa1" not in repr(tokens) and b"aaaaaaaaaaaaaaaa1" not in kept


@pytest.mark.parametrize(("spec", "reason"), [
    ("boss:aaaaaaaaaaaaaaaaaaaa", "unknown role 'boss'"),
    ("viewer:short", "at least 16 characters"),
    ("aaaaaaaaaaaaaaaaaaaa", "expected role:token"),
])
def test_a_bad_token_list_is_refused_with_a_reason_that_never_shows_the_token(spec: str, reason: str) -> None:
    """CALLCONTROL_API_TOKENS with an unknown role, a short token or no role: a clear reason without the token."""
    with pytest.raises(ValueError, match=reason) as caught:
        parse_api_tokens(spec)
    assert "aaaaaaaaaaaaaaaaaaaa" not in str(caught.value)


def test_roles_are_ordered_viewer_switchboard_supervisor() -> None:
    """A supervisor may do what a switchboard may, a switchboard what a viewer may, never the other way."""
    assert Role.SUPERVISOR.allows(Role.SWITCHBOARD) and Role.SWITCHBOARD.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.SWITCHBOARD) and not Role.SWITCHBOARD.allows(Role.SUPERVISOR)


def test_the_limiter_blocks_a_client_after_five_failures_for_the_window() -> None:
    """Five wrong tokens in a minute block that address (not others) until the first one is a minute old."""
    now = [0.0]
    limiter = FailureLimiter(lambda: now[0])
    for _ in range(5):
        assert limiter.blocked_for("10.0.0.1") == 0
        limiter.failed("10.0.0.1")
        now[0] += 1
    assert limiter.blocked_for("10.0.0.1") == pytest.approx(55.0)
    assert limiter.blocked_for("10.0.0.2") == 0
    now[0] = 60.5
    assert limiter.blocked_for("10.0.0.1") == 0


async def test_no_token_is_401_a_lower_role_403_a_wrong_token_401_all_in_json(client) -> None:
    """Reading needs a token (401), an action a switchboard token (403 for a viewer); errors are JSON."""
    response = await client.get("/api/hotlines")
    assert response.status == 401 and (await response.json())["error"] == "no_token"
    response = await client.post("/api/calls/x/voicemail", headers=auth(Role.VIEWER))
    body = await response.json()
    assert response.status == 403 and body["error"] == "forbidden" and "switchboard" in body["reason"]
    response = await client.get("/api/hotlines", headers={"Authorization": "Bearer nope-nope-nope-nope"})
    assert response.status == 401 and (await response.json())["error"] == "bad_token"


async def test_repeated_wrong_tokens_are_throttled_and_logged(client, json_logs) -> None:
    """After five wrong tokens the sixth request, even with a good token, is 429 with Retry-After; each is logged."""
    for _ in range(5):
        assert (await client.get("/api/agents", headers={"Authorization": "Bearer wrong-wrong-wrong"})).status == 401
    response = await client.get("/api/agents", headers={"Authorization": f"Bearer {TOKENS[Role.VIEWER]}"})
    assert response.status == 429 and int(response.headers["Retry-After"]) > 0
    assert (await response.json())["error"] == "too_many_attempts"
    assert len(json_logs.events("api_auth_failed")) == 5 and json_logs.events("api_auth_throttled")
