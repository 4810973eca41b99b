"""deploy/: the Grafana dashboard and the Prometheus alert rules load, and name only metrics callcontrol exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from callcontrol.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "callcontrol-dashboard.json"
RULES = DEPLOY / "prometheus" / "callcontrol-alerts.yml"
PANEL_TYPES = {"stat", "gauge", "timeseries", "table", "bargauge", "text"}
_METRIC = re.compile(r"\bcallcontrol_\w+")
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",), "unknown": ("",)}


def exported_names() -> set[str]:
    """Every series name callcontrol's registry can export (a histogram's _bucket/_count/_sum, a counter's _total)."""
    metrics = Metrics(CollectorRegistry())
    metrics.watch(active_calls=lambda: 0, ari_connected=lambda: True, ari_connections=lambda: 1)
    names = set()
    for family in metrics.registry.collect():
        names |= {family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",))}
    return names


def _balanced(expr: str) -> bool:
    depth = 0
    for char in expr:
        depth += {"(": 1, ")": -1, "{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def test_dashboard_json_has_grafana_basics_and_panels_use_exported_metrics():
    """The dashboard loads (uid, title, schemaVersion, panels on a 24-column grid) and queries real metric names."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    assert {v["name"] for v in dashboard["templating"]["list"]} >= {"datasource", "hotline"}
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) >= 8
    names = exported_names()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert panel["type"] in PANEL_TYPES and panel["title"], panel
        assert all(isinstance(grid[k], int) for k in ("x", "y", "w", "h")) and grid["x"] + grid["w"] <= 24, panel
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["refId"] and _balanced(target["expr"]), target
            used = set(_METRIC.findall(target["expr"]))
            assert used and used <= names, (panel["title"], used - names)


def test_alert_rules_parse_and_cover_nobody_on_call_ari_down_and_service_level():
    """The rules file is a Prometheus rule group (alert, expr, for, severity, summary) on exported metrics."""
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert all(group["name"] for group in document["groups"])
    names = exported_names()
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["alert"] and _balanced(rule["expr"]), rule
        assert re.fullmatch(r"\d+[smhd]", rule.get("for", "0s")), rule
        assert rule["labels"]["severity"] in ("critical", "warning") and rule["annotations"]["summary"], rule
        assert set(_METRIC.findall(rule["expr"])) <= names, rule["alert"]
    alerts = {rule["alert"]: rule["expr"] for rule in rules}
    assert "callcontrol_oncall_nobody_reachable" in alerts["CallcontrolNobodyOnCall"]
    assert "callcontrol_ari_connected" in alerts["CallcontrolAriDisconnected"]
    assert 'result="answered_in_time"' in alerts["CallcontrolServiceLevelLow"]
