"""The busy hour's report from a run's directory alone (run.json, journal.jsonl, observer.json, the citizens' ctl
files, the agents' SIP traces): `busy_hour.py` calls it at the end of a run, and `busy_hour.py --analyse DIR`
computes it again later (e.g. after a fix to the figures) without another run on the shared Asterisk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from busy_figures import figures, hashes
from busy_observer import AgentLeg, CitizenSeen, Observer
from busy_people import Citizen
from busy_sim import simulate
from hotline_kit import dialogs, overlaps
from sipp import parse_trace

SALT = "test-salt"  # appproc's CALLCONTROL_LOG_SALT: the journal's caller_hash


def load_observer(path: Path, exts: list[str]) -> Observer:
    data = json.loads(path.read_text())
    observer = Observer({}, set(exts), on_answered=lambda number: None)
    observer.citizens = {n: CitizenSeen(**c) for n, c in data["citizens"].items()}
    observer.legs = {cid: AgentLeg(**leg) for cid, leg in data["legs"].items()}
    observer.rung_while_busy = data["rung_while_busy"]
    observer.events = data.get("events", 0)
    return observer


def analyse(workdir: Path) -> dict[str, Any]:
    run = json.loads((workdir / "run.json").read_text())
    people = [Citizen(**c) for c in run["plan"]]
    exts = run["extensions"]
    journal = [json.loads(line) for line in (workdir / "journal.jsonl").read_text().splitlines() if line.strip()]
    observer = load_observer(workdir / "observer.json", exts)
    ctl: dict[str, list[str]] = {}
    for c in people:
        path = workdir / "citizens" / f"citizen-{c.index:04d}" / "ctl"
        ctl[c.number] = [w.split()[0] for w in path.read_text().splitlines() if w.strip()] if path.exists() else []
    sip_overlaps = []
    for ext in exts:
        spans = dialogs(parse_trace(workdir / f"agent-{ext}" / "messages.log")).get("phone", [])
        sip_overlaps += [f"{ext}: {o}" for o in overlaps(spans)]
    report = figures(
        journal=journal, observer=observer, hash_of=hashes([c.number for c in people], SALT, "FR"),
        t0=run["t0"], window=run["window_s"], agents={f"agent{i + 1:02d}": ext for i, ext in enumerate(exts)},
        threshold=run["threshold_s"], patience=run["patience_mean_s"], talk=run["talk_mean_s"], planned=len(people),
        ctl=ctl, signalled=set(run["signalled"]), overlaps=sip_overlaps,
    )  # fmt: skip
    overhead = report["measured"]["ring_and_whisper_s"]["mean"] or 0.0
    ideal = simulate(people, len(exts), overhead, run["window_s"], run["threshold_s"])
    report["ideal_router"] = {"overhead_s": overhead, **{k: round(v, 4) for k, v in ideal.items()}}
    report["checks"].update(run["checks"])
    report["callcontrol_metrics"] = run.get("callcontrol_metrics", {})
    report["run"] = {k: v for k, v in run.items() if k not in ("plan", "signalled", "checks", "callcontrol_metrics")}
    return report
