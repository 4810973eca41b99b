"""The API tokens' format, `role:token,role:token` (a leaf: config.py checks it, supervision/auth.py uses it)."""

from __future__ import annotations

API_ROLES = ("viewer", "switchboard", "supervisor")  # supervision/auth.py Role, lowest first
MIN_TOKEN_LENGTH = 16


def parse_api_tokens(spec: str) -> list[tuple[str, str]]:
    """`role:token,role:token` -> [(role, token)]; ValueError naming the item (never the token) otherwise."""
    found: list[tuple[str, str]] = []
    for n, item in enumerate(p.strip() for p in spec.split(",")):
        if not item:
            continue
        role, sep, token = (x.strip() for x in item.partition(":"))
        if not sep:
            raise ValueError(f"item {n + 1}: expected role:token (roles: {', '.join(API_ROLES)})")
        if role not in API_ROLES:
            raise ValueError(f"item {n + 1}: unknown role {role!r} (roles: {', '.join(API_ROLES)})")
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"item {n + 1} ({role}): a token needs at least {MIN_TOKEN_LENGTH} characters")
        found.append((role, token))
    return found
