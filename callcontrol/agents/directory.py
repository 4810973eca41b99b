"""The agent directory (config/agents.yaml): who can take calls, on which devices, for which hotlines."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from callcontrol.state.models import AgentRecord
from callcontrol.yamlsource import ConfigError, ConfigIssue, load_yaml, pydantic_issues

AGENTS_FILE = "agents.yaml"
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class AgentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    softphone: str | None = None  # PJSIP endpoint name in asterisk-conf/pjsip.conf
    mobile: str | None = None  # E.164; reached through the carrier, never shown to citizens
    hotlines: dict[str, int] = Field(default_factory=dict)  # hotline id -> penalty (0 rings first)
    pin_hash: str | None = None  # for the agents' line (mobile login); never the PIN itself

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r}: use lower-case letters, digits, '.', '_' or '-' (e.g. alice.martin)")
        return value

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parsed = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            raise ValueError("mobile must be in E.164 form, e.g. +33612345678") from None
        if not phonenumbers.is_possible_number(parsed):
            raise ValueError(f"{value!r} is not a possible phone number")
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

    @field_validator("hotlines")
    @classmethod
    def _penalties(cls, value: dict[str, int]) -> dict[str, int]:
        for hotline, penalty in value.items():
            if penalty < 0:
                raise ValueError(f"penalty for {hotline!r} must be 0 or more (0 rings first)")
        return value

    def record(self) -> AgentRecord:
        return AgentRecord(
            id=self.id,
            name=self.name,
            softphone=self.softphone,
            mobile=self.mobile,
            hotlines=dict(self.hotlines),
            pin_hash=self.pin_hash,
        )


class AgentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    agents: list[AgentEntry] = Field(default_factory=list)


def load_agents(directory: Path, hotline_ids: Iterable[str] | None) -> tuple[AgentRecord, ...]:
    """Read and check config/agents.yaml; every problem is reported with file, line and key path.
    `hotline_ids` None: the hotlines could not be read (already reported), so memberships are not checked."""
    path = directory / AGENTS_FILE
    if not path.exists():
        return ()
    doc = load_yaml(path)
    try:
        parsed = AgentsFile.model_validate(doc.data or {})
    except ValidationError as exc:
        raise ConfigError(pydantic_issues(doc, exc)) from None
    known = set(hotline_ids) if hotline_ids is not None else None
    issues: list[ConfigIssue] = []
    seen: dict[str, int] = {}
    for index, agent in enumerate(parsed.agents):
        if agent.id in seen:
            issues.append(
                doc.issue(("agents", index, "id"), f"agent {agent.id!r} is already defined (item {seen[agent.id]})")
            )
        seen.setdefault(agent.id, index)
        if not agent.softphone and not agent.mobile:
            issues.append(doc.issue(("agents", index), "an agent needs a softphone, a mobile, or both"))
        for hotline in agent.hotlines:
            if known is not None and hotline not in known:
                issues.append(
                    doc.issue(
                        ("agents", index, "hotlines", hotline),
                        f"unknown hotline {hotline!r}; known: {', '.join(sorted(known or ())) or '(none)'}",
                    )
                )
    if issues:
        raise ConfigError(issues)
    return tuple(agent.record() for agent in parsed.agents)
