"""A hotline's routing settings (config/hotlines.yaml): how its citizens wait and how agents are chosen."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callcontrol.state.models import Strategy
from callcontrol.yamlsource import ConfigError, ConfigIssue, load_yaml, pydantic_issues

HOTLINES_FILE = "hotlines.yaml"

CallerIdPolicy = Literal["citizen", "hotline"]


class HotlineRouting(BaseModel):
    """Defaults suit a town hall service; every key is optional in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = ""  # spoken/shown name, e.g. "État civil"
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

    @property
    def display_name(self) -> str:
        return self.name or self.id


def load_hotline_routing(directory: Path) -> dict[str, HotlineRouting]:
    """Routing settings of every hotline in config/hotlines.yaml (ids and schedules are checked by the flows
    loader; this checks the rest), every problem located by file, line and key path."""
    path = directory / HOTLINES_FILE
    if not path.exists():
        return {}
    doc = load_yaml(path)
    data = doc.data.get("hotlines") if isinstance(doc.data, dict) else None
    if not isinstance(data, dict):
        return {}  # the flows loader reports the shape
    hotlines: dict[str, HotlineRouting] = {}
    issues: list[ConfigIssue] = []
    for hotline_id, body in data.items():
        if body is not None and not isinstance(body, dict):
            continue  # reported by the flows loader
        try:
            hotlines[str(hotline_id)] = HotlineRouting.model_validate({**(body or {}), "id": str(hotline_id)})
        except ValidationError as exc:
            issues += pydantic_issues(doc, exc, prefix=("hotlines", hotline_id))
    if issues:
        raise ConfigError(issues)
    return hotlines
