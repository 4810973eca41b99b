"""Everything callcontrol reads at start-up, loaded and checked as a whole: every problem reported at once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from callcontrol.agents.directory import load_agents
from callcontrol.agents.pjsip import Endpoints, endpoints_from_conf
from callcontrol.config import Settings, load_settings, pjsip_conf_path
from callcontrol.flows.loader import Flows, load_flows
from callcontrol.routing.hotlines import HotlineRouting, load_hotline_routing
from callcontrol.state.models import AgentRecord
from callcontrol.yamlsource import ConfigError, ConfigIssue


@dataclass(frozen=True)
class ConfigSet:
    directory: Path
    settings: Settings
    flows: Flows
    hotlines: dict[str, HotlineRouting]
    agents: tuple[AgentRecord, ...]


def load_config_set(
    directory: Path,
    env: Mapping[str, str] | None = None,
    *,
    known_sounds: set[str] | None = None,
    known_endpoints: Endpoints | None = None,
    check_softphones: bool = True,
) -> ConfigSet:
    """Settings first (flows need the city's zone and country), then flows, hotlines and agents together.
    Softphones are checked against `known_endpoints` (Asterisk's), else the pjsip.conf of asterisk.pjsip_conf
    (check_softphones False: not at all, as Asterisk is about to be asked)."""
    env = dict(os.environ if env is None else env)
    settings = load_settings(directory, env)
    issues: list[ConfigIssue] = []
    flows = hotlines = agents = None
    try:
        flows = load_flows(directory, settings, known_sounds=known_sounds)
    except ConfigError as exc:
        issues += exc.issues
    try:
        hotlines = load_hotline_routing(directory)
    except ConfigError as exc:
        issues += exc.issues
    try:
        endpoints = known_endpoints or endpoints_from_conf(pjsip_conf_path(directory, settings))
        endpoints = endpoints if check_softphones else None
        agents = load_agents(directory, hotlines.keys() if hotlines is not None else None, endpoints=endpoints)
    except ConfigError as exc:
        issues += exc.issues
    if issues:
        raise ConfigError(_unique(issues))
    assert flows is not None and hotlines is not None and agents is not None
    return ConfigSet(directory=directory, settings=settings, flows=flows, hotlines=hotlines, agents=agents)


def _unique(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    """Two loaders read hotlines.yaml (flows: ids and schedules; routing: the rest): a syntax error there is
    reported once. Files are compared by name, as the loaders spell paths differently."""
    seen: set[tuple[str, int | None, str, str]] = set()
    out = []
    for issue in issues:
        key = (Path(issue.file).name, issue.line, issue.path, issue.message)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out
