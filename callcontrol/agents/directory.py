"""The agent directory (config/agents.yaml): who can take calls, on which devices, for which hotlines."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from callcontrol import numbers
from callcontrol.agents.pjsip import Endpoints
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
    code: str | None = None  # digits keyed on the agents' line (withheld caller ID) and to hand duty over to her
    language: Literal["fr", "en"] | None = None  # her prompts (feature codes, agents' line); None: the city's

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and not (value.isdigit() and 2 <= len(value) <= 6):
            raise ValueError(f"{value!r}: use 2 to 6 digits (keyed on the agents' line)")
        return value

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r}: use lower-case letters, digits, '.', '_' or '-' (e.g. alice.martin)")
        return value

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        return None if value is None else numbers.e164(value, what="mobile", example="+33612345678")

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
            code=self.code,
            language=self.language,
        )


class AgentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    agents: list[AgentEntry] = Field(default_factory=list)


def load_agents(
    directory: Path, hotline_ids: Iterable[str] | None, *, endpoints: Endpoints | None = None
) -> tuple[AgentRecord, ...]:
    """Read and check config/agents.yaml; every problem is reported with file, line and key path.
    `hotline_ids` None: the hotlines could not be read (already reported), so memberships are not checked.
    `endpoints`: the PJSIP endpoints softphones must be among; None skips that check (nothing to ask)."""
    path = directory / AGENTS_FILE
    known = set(hotline_ids) if hotline_ids is not None else None
    if not path.exists():
        if known == set():
            return ()  # no hotline either: nothing routes to an agent
        raise ConfigError([ConfigIssue(str(path), None, "", f"file not found: {_NO_AGENT}")])
    doc = load_yaml(path)
    try:
        parsed = AgentsFile.model_validate(doc.data or {})
    except ValidationError as exc:
        raise ConfigError(pydantic_issues(doc, exc)) from None
    if not parsed.agents and known != set():
        raise ConfigError([doc.issue(("agents",), f"no agent defined: {_NO_AGENT}")])
    issues: list[ConfigIssue] = []
    seen: dict[str, int] = {}
    devices: dict[tuple[str, str], int] = {}  # (softphone|mobile, value) -> the first agent (index) using it
    for index, agent in enumerate(parsed.agents):
        if agent.id in seen:
            issues.append(
                doc.issue(("agents", index, "id"), f"agent {agent.id!r} is already defined (item {seen[agent.id]})")
            )
        seen.setdefault(agent.id, index)
        if not agent.softphone and not agent.mobile:
            issues.append(doc.issue(("agents", index), "an agent needs a softphone, a mobile, or both"))
        if agent.code is not None:
            first = devices.setdefault(("code", agent.code), index)
            if first != index:
                issues.append(doc.issue(("agents", index, "code"), _shared_code(agent, parsed.agents[first].id)))
        for kind in ("softphone", "mobile"):
            value = getattr(agent, kind)
            if value is None:
                continue
            first = devices.setdefault((kind, value), index)
            if first != index:
                message = _shared(kind, value, parsed.agents[first].id, agent.id, doc.line_of(("agents", first, kind)))
                issues.append(doc.issue(("agents", index, kind), message))
        if agent.softphone and endpoints is not None and agent.softphone not in endpoints.names:
            issues.append(doc.issue(("agents", index, "softphone"), _no_endpoint(agent.softphone, endpoints)))
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


_NO_AGENT = (
    "a town hall with no agent cannot route a hotline call; list them under agents: (id, name, softphone and/or"
    " mobile, hotlines; see docs/configuration.md)"
)


def _shared(kind: str, value: str, first: str, agent: str, line: int | None) -> str:
    shown = value if kind == "softphone" else numbers.mask(value)
    consequence = (
        "a call offered to one would ring the other"
        if kind == "softphone"
        else "as a caller ID it would name two agents (agents' line), and a call to one would reach the other"
    )
    return (
        f"{kind} {shown} of agent {agent!r} is already used by agent {first!r} (line {line}): {consequence};"
        f" give each agent their own {kind}"
    )


def _shared_code(agent: AgentEntry, first: str) -> str:
    return (
        f"code {agent.code} of agent {agent.id!r} is already the code of agent {first!r}: the agents' line and"
        " a handover would not know which agent is meant; give each agent their own code"
    )


def _no_endpoint(softphone: str, endpoints: Endpoints) -> str:
    known = sorted(endpoints.names)
    close = difflib.get_close_matches(softphone, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"softphone {softphone!r} is not a PJSIP endpoint of {endpoints.source}{hint}; known: {', '.join(known)};"
        f" define [{softphone}] (type = endpoint) in pjsip.conf or fix the name"
    )
