"""The Reachability port: can an agent's softphone be rung at all (is it registered to Asterisk)?

The presence use cases ask it at login; the implementation over ARI lives in routing/endpoints.py (agents never
talk to Asterisk), and a test or a process without ARI passes `NoReachabilityCheck`.
"""

from __future__ import annotations

from typing import Protocol


class Reachability(Protocol):
    async def softphone_registered(self, endpoint: str) -> bool | None:
        """True: registered (ARI endpoint state online); False: not registered, or no such endpoint in Asterisk;
        None: cannot tell (Asterisk unreachable or refusing us)."""
        ...


class NoReachabilityCheck:
    """Nobody to ask: every softphone is taken as it is (no refusal, no warning)."""

    async def softphone_registered(self, endpoint: str) -> bool | None:
        return True
