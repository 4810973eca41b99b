"""Who is calling, from the directory as configured (agents.yaml, hotlines.yaml): by softphone, mobile or code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from callcontrol.state.models import AgentRecord


@dataclass(frozen=True)
class HotlineCodes:
    """hotlines.yaml's `code:` of each hotline, and which hotlines are on call (never left with nobody)."""

    by_code: Mapping[str, str]  # code -> hotline id
    on_call: frozenset[str] = frozenset()

    def code_of(self, hotline: str) -> str | None:
        return next((code for code, h in self.by_code.items() if h == hotline), None)


class AgentDirectory:
    """The configured agents, indexed the ways a phone identifies them."""

    def __init__(self, records: Iterable[AgentRecord], default_language: str = "fr") -> None:
        self._records = {r.id: r for r in records}
        self._softphones = {r.softphone: r for r in self._records.values() if r.softphone}
        self._mobiles = {r.mobile: r for r in self._records.values() if r.mobile}
        self._codes = {r.code: r for r in self._records.values() if r.code}
        self.default_language = default_language

    def get(self, agent_id: str) -> AgentRecord | None:
        return self._records.get(agent_id)

    def by_softphone(self, endpoint: str | None) -> AgentRecord | None:
        return self._softphones.get(endpoint) if endpoint else None

    def by_mobile(self, e164: str | None) -> AgentRecord | None:
        """The agent whose mobile is this caller ID (already E.164: the session normalises it with phonenumbers)."""
        return self._mobiles.get(e164) if e164 else None

    def by_code(self, code: str | None) -> AgentRecord | None:
        return self._codes.get(code) if code else None

    def language(self, agent: AgentRecord | None) -> str:
        return (agent.language if agent else None) or self.default_language
