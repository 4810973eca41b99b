"""Everything callcontrol reads at start-up, loaded and checked as a whole: every problem reported at once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from callcontrol.agents.directory import load_agents
from callcontrol.agents.pjsip import Endpoints, endpoints_from_conf
from callcontrol.agents.rota import Rota, read_rota
from callcontrol.config import Settings, load_settings, pjsip_conf_path
from callcontrol.flows.loader import Flows, load_flows
from callcontrol.routing.hotlines import HotlineRouting, read_hotline_routing
from callcontrol.state.models import AgentRecord
from callcontrol.yamlsource import ConfigError


@dataclass(frozen=True)
class ConfigSet:
    directory: Path
    settings: Settings
    flows: Flows
    hotlines: dict[str, HotlineRouting]
    agents: tuple[AgentRecord, ...]
    rota: Rota = field(default_factory=Rota.empty)  # config/rota.yaml: who holds the on-call duty when


def load_config_set(
    directory: Path,
    env: Mapping[str, str] | None = None,
    *,
    known_sounds: set[str] | None = None,
    known_endpoints: Endpoints | None = None,
    check_softphones: bool = True,
) -> ConfigSet:
    """Settings first (flows need the city's zone and country), then hotlines (flows and agents name them), then
    flows and agents; every problem of every file is reported together. Softphones are checked against
    `known_endpoints` (Asterisk's), else the pjsip.conf of asterisk.pjsip_conf (check_softphones False: not at
    all, as Asterisk is about to be asked)."""
    env = dict(os.environ if env is None else env)
    settings = load_settings(directory, env)
    hotlines, issues = read_hotline_routing(directory)
    readable = bool(hotlines) or not issues  # an unreadable hotlines.yaml: agents' hotlines are not blamed too
    flows = agents = None
    try:
        flows = load_flows(directory, settings, hotlines=hotlines, known_sounds=known_sounds)
    except ConfigError as exc:
        issues += exc.issues
    try:
        endpoints = known_endpoints or endpoints_from_conf(pjsip_conf_path(directory, settings))
        endpoints = endpoints if check_softphones else None
        agents = load_agents(directory, hotlines.keys() if readable else None, endpoints=endpoints)
    except ConfigError as exc:
        issues += exc.issues
    on_call = [h.id for h in hotlines.values() if h.on_call]
    members = {h: [a.id for a in agents if h in a.hotlines] for h in on_call} if agents is not None else None
    zone = ZoneInfo(settings.city.timezone)
    rota, rota_issues = read_rota(directory, on_call, members, zone=zone)
    issues += rota_issues
    if issues:
        raise ConfigError(issues)
    assert flows is not None and agents is not None
    return ConfigSet(
        directory=directory, settings=settings, flows=flows, hotlines=hotlines, agents=agents, rota=rota
    )
