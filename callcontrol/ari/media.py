"""Media URIs as ARI plays them."""

from __future__ import annotations


def media_uri(item: str) -> str:
    """'vm-intro' -> 'sound:vm-intro'; URIs with a scheme ('digits:12', 'sound:x') pass unchanged."""
    return item if ":" in item else f"sound:{item}"
