"""A hotline's routing settings (config/hotlines.yaml): how its citizens wait and how agents are chosen."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from callcontrol import numbers
from callcontrol.state.models import Strategy
from callcontrol.yamlsource import ConfigError, ConfigIssue, KeyPath, YamlDoc, load_yaml, pydantic_issues

HOTLINES_FILE = "hotlines.yaml"
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

CallerIdPolicy = Literal["citizen", "hotline"]


class CallbackSettings(BaseModel):
    """`callback:` of a hotline: a waiting citizen may hang up and be called back at their place (docs/flows.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    offer_after: float = Field(default=60.0, ge=0)  # seconds waiting before "tapez 1 pour être rappelé"; 0: never
    #                                                (only the flows' `callback` verb, e.g. as an overflow target)
    offer_every: float = Field(default=60.0, ge=0)  # the offer again every N s of waiting (0 = once)
    deadline: Literal["end_of_day"] | int = "end_of_day"  # the day's closing (its schedule), or N s after the request
    retries: int = Field(default=3, ge=0, le=10)  # attempts after the first one when the citizen does not answer
    retry_delay: float = Field(default=120.0, ge=0)  # seconds between two attempts
    ring_timeout: float = Field(default=30.0, gt=0, le=120)  # seconds the citizen's phone rings
    appointments: int = Field(default=0, ge=0)  # rendez-vous per half-day slot tomorrow (0: not offered)

    @field_validator("deadline")
    @classmethod
    def _positive(cls, value: str | int) -> str | int:
        if isinstance(value, int) and value <= 0:
            raise ValueError("a deadline in seconds must be positive (or use end_of_day)")
        return value


class Escalation(BaseModel):
    """Where an on-call hotline's calls go when nobody is on duty: the duty manager's mobile (through the carrier,
    the public number as caller ID), then the flow's `unavailable` branch (its fallback message)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mobile: str
    ring_timeout: float = Field(default=25.0, gt=0, le=120)

    @field_validator("mobile")
    @classmethod
    def _e164(cls, value: str) -> str:
        return numbers.e164(value, what="duty manager's mobile", example="+33612000009")


class HotlineRouting(BaseModel):
    """Defaults suit a town hall service; every key is optional in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = ""  # spoken/shown name, e.g. "État civil"
    code: str | None = None  # digits an agent keys after *45 / *46 to log in or out of this hotline only (unique)
    schedule: str | None = None  # opening hours (config/schedules.yaml), checked by flows/loader.py
    strategy: Strategy = Strategy.LONGEST_IDLE
    priority: int = Field(default=0, ge=0, le=99)  # higher = served sooner when an agent serves several hotlines
    ring_timeout: float = Field(default=15.0, gt=0, le=120)  # seconds an agent's phone rings
    accept_timeout: float = Field(default=8.0, gt=0, le=60)  # mobile: seconds to press 1 after the whisper
    max_wait: float = Field(default=600.0, gt=0)  # seconds in queue before the `timeout` outcome
    max_length: int = Field(default=0, ge=0)  # 0 = unlimited; beyond it the `full` outcome
    announce_first: float = Field(default=20.0, ge=0)  # seconds before the first position announcement
    announce_interval: float = Field(default=45.0, ge=0)  # 0 = no periodic announcements
    announce_wait: bool = True  # also announce the estimated wait
    wrap_up: float = Field(default=10.0, ge=0)  # seconds after a call before the next one
    max_misses: int = Field(default=3, ge=0)  # consecutive no-answers before the agent is paused; 0 = never
    overflow_when_nobody: bool = True  # nobody logged in: the `unavailable` outcome at once
    moh_class: str = "default"
    whisper: tuple[str, ...] = ()  # played to the agent before the bridge (default: the hotline's name prompt)
    accept_prompt: tuple[str, ...] = ("callcontrol/press-1-to-accept",)  # mobiles only
    caller_id_softphone: CallerIdPolicy = "citizen"  # what a softphone shows: the citizen's number or the hotline
    caller_id_mobile: CallerIdPolicy = "hotline"  # a mobile shows the hotline name + public number by default
    callback: CallbackSettings | None = None  # offered to waiting citizens when set (routing/callback*.py)
    on_call: bool = False  # a 24/7 duty (docs/on-call.md): never left with nobody reachable; linear, no schedule
    escalation: Escalation | None = None  # on-call only: nobody on duty -> the duty manager, then `unavailable`

    @field_validator("code", mode="before")
    @classmethod
    def _digits(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and not (value.isdigit() and 1 <= len(value) <= 4):
            raise ValueError(f"{value!r}: use 1 to 4 digits (an agent keys it after *45 or *46)")
        return value

    @property
    def display_name(self) -> str:
        return self.name or self.id


def read_hotline_routing(
    directory: Path, *, display_name: str | None = None
) -> tuple[dict[str, HotlineRouting], list[ConfigIssue]]:
    """Every hotline of config/hotlines.yaml (the one parser of that file) and every problem in it, located by
    file, line and key path. A hotline with a problem of its own is still listed (with default settings), so that
    flows and agents naming it are not blamed too: one mistake, one message. Schedule names are checked by the
    flows loader, which reads schedules.yaml."""
    path = directory / HOTLINES_FILE
    if not path.exists():
        return {}, []
    try:
        doc = load_yaml(path, display_name=display_name)
    except ConfigError as exc:
        return {}, exc.issues
    if doc.data is None:
        return {}, []
    data = doc.data.get("hotlines") if isinstance(doc.data, dict) else None
    if not isinstance(data, dict):
        return {}, [doc.issue((), "expected a top-level hotlines: mapping hotline ids to their settings")]
    hotlines: dict[str, HotlineRouting] = {}
    issues: list[ConfigIssue] = []
    for key, body in data.items():
        hotline_id, at = str(key), ("hotlines", key)
        if not ID_RE.match(hotline_id):
            issues.append(doc.issue(at, f"{key!r} is not a valid id: use letters, digits, - and _"))
        if body is not None and not isinstance(body, dict):
            issues.append(doc.issue(at, "expected a mapping (e.g. schedule: mairie) or nothing"))
            hotlines[hotline_id] = HotlineRouting(id=hotline_id)
            continue
        try:
            linear = {"strategy": Strategy.LINEAR} if (body or {}).get("on_call") is True else {}
            hotlines[hotline_id] = HotlineRouting.model_validate({**linear, **(body or {}), "id": hotline_id})
            issues += _on_call_issues(doc, at, hotlines[hotline_id], body or {})
        except ValidationError as exc:
            issues += pydantic_issues(doc, exc, prefix=at)
            schedule = (body or {}).get("schedule")
            hotlines[hotline_id] = HotlineRouting(
                id=hotline_id, schedule=schedule if isinstance(schedule, str) else None
            )
    issues += _duplicate_codes(doc, hotlines)
    return hotlines, issues


def _duplicate_codes(doc: YamlDoc, hotlines: dict[str, HotlineRouting]) -> list[ConfigIssue]:
    """Two hotlines with one code: *45<code> would not know which to log in to."""
    first: dict[str, str] = {}
    issues = []
    for hotline in hotlines.values():
        if hotline.code is None:
            continue
        owner = first.setdefault(hotline.code, hotline.id)
        if owner != hotline.id:
            issues.append(
                doc.issue(
                    ("hotlines", hotline.id, "code"),
                    f"code {hotline.code} is already the code of hotline {owner!r}: give each hotline its own code",
                )
            )
    return issues


def _on_call_issues(doc: YamlDoc, at: KeyPath, hotline: HotlineRouting, body: dict[str, object]) -> list[ConfigIssue]:
    """An on-call hotline is 24/7 (no schedule) and escalates linearly; an escalation needs on_call."""
    if not hotline.on_call:
        if hotline.escalation is not None:
            return [doc.issue((*at, "escalation"), "only an on-call hotline escalates: add on_call: true")]
        return []
    issues = []
    if hotline.schedule is not None:
        issues.append(doc.issue((*at, "schedule"), "an on-call hotline answers 24/7: remove its schedule"))
    if "strategy" in body and hotline.strategy is not Strategy.LINEAR:
        issues.append(doc.issue((*at, "strategy"), "an on-call hotline escalates in order: use strategy: linear"))
    return issues
