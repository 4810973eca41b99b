"""Figures, the markdown table and the PNG of bench/journey.py, from the per-call records of each load."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path
from typing import Any

LATENCIES = {
    "invite_to_200_ms": ("invite", "answered"),
    "invite_to_prompt_ms": ("invite", "prompt"),
    "digit_to_agent_invite_ms": ("digit", "agent_invite"),
    "digit_end_to_agent_invite_ms": ("digit_end", "agent_invite"),
}


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def spread(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), **{f"p{q}": _r(percentile(values, q / 100)) for q in (50, 95, 99)},
            "max": _r(max(values)) if values else None}  # fmt: skip


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


def figures(load: dict[str, Any]) -> dict[str, Any]:
    """One load's figures: latencies, failures (and why), CPU per completed call."""
    calls = load["calls"]
    completed = [c for c in calls if c.final == 200 and c.agent_answered is not None]
    why: dict[str, int] = {}
    for c in calls:
        if c in completed:
            continue
        reason = (f"final {c.final}" if c.final not in (None, 200) else "no answer" if c.final is None
                  else "no digit sent" if c.digit is None else "no agent rung" if c.agent_invite is None
                  else "agent never answered")  # fmt: skip
        why[reason] = why.get(reason, 0) + 1
    not_sent = max(0, load["calls_planned"] - len(calls))
    if not_sent:
        why["not sent by SIPp"] = not_sent
    out: dict[str, Any] = {
        "calls": load["calls_planned"], "sent": len(calls), "completed": len(completed),
        "failed": load["calls_planned"] - len(completed), "failures": why,
        "agents_rung_while_busy": load["agents_rung_while_busy"], "busy_rung": load["busy_rung"][:20],
        "agent_invites": load["agent_invites"], "stray_agent_invites": load["stray_agent_invites"],
        "prompt_missing": sum(1 for c in calls if c.answered and c.prompt is None),
    }  # fmt: skip
    for name, (a, b) in LATENCIES.items():
        values = [
            (getattr(c, b) - getattr(c, a)) * 1000
            for c in calls
            if getattr(c, a) is not None and getattr(c, b) is not None and getattr(c, b) >= getattr(c, a)
        ]
        out[name] = spread(values)
    placed = max(1, len(calls))  # per call placed: a system that fails calls cheaply must not look expensive
    out["cpu_ms_per_call"] = {k: round(v * 1000 / placed, 2) for k, v in load["cpu_s"].items()}
    out["cpu_ms_per_completed_call"] = {
        k: round(v * 1000 / max(1, len(completed)), 2) for k, v in load["cpu_s"].items()
    }
    if load.get("rss_samples"):
        out["rss_kb_per_call"] = {k: slope(load["rss_samples"], f"{k}_kb") for k in load["cpu_s"]}
        out["rss_samples"] = load["rss_samples"]
    return out


def slope(samples: list[dict[str, float]], key: str) -> float | None:
    """Least-squares slope of RSS (kB) against calls up."""
    points = [(s["calls_up"], s[key]) for s in samples if key in s]
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return round(sum((x - mx) * (y - my) for x, y in points) / sxx, 1) if sxx else None


def metrics(url: str = "http://127.0.0.1:8080/metrics") -> dict[str, Any]:
    """callcontrol's websocket and loop stall figures, if it exports them (another helper adds them)."""
    try:
        text = urllib.request.urlopen(url, timeout=3).read().decode()
    except OSError as exc:
        return {"error": str(exc)}
    out: dict[str, Any] = {}
    for name in ("callcontrol_loop_stall_max_seconds", "callcontrol_ari_event_lag_seconds_count",
                 "callcontrol_ari_event_lag_seconds_sum", "callcontrol_loop_stall_seconds_count",
                 "callcontrol_loop_stall_seconds_sum"):  # fmt: skip
        found = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.eE+-]+)$", text, re.M)
        out[name] = float(found.group(1)) if found else "n/a"
    buckets = re.findall(
        r'^callcontrol_ari_event_lag_seconds_bucket{[^}]*le="([^"]+)"[^}]*} ([0-9.eE+-]+)$', text, re.M
    )
    out["ari_event_lag_buckets"] = {le: float(v) for le, v in buckets} if buckets else "n/a"
    stalls = re.findall(r'^callcontrol_loop_stall_seconds_bucket{[^}]*le="([^"]+)"[^}]*} ([0-9.eE+-]+)$', text, re.M)
    out["loop_stall_buckets"] = {le: float(v) for le, v in stalls} if stalls else "n/a"  # cumulative, since start
    # each REST operation's mean latency (ms) and count: over the websocket, one socket's requests queue up
    counts = dict(re.findall(r'^callcontrol_ari_request_duration_seconds_count{operation="([^"]+)"} ([0-9.eE+-]+)$',
                             text, re.M))  # fmt: skip
    sums = dict(re.findall(r'^callcontrol_ari_request_duration_seconds_sum{operation="([^"]+)"} ([0-9.eE+-]+)$',
                           text, re.M))  # fmt: skip
    out["ari_request_mean_ms"] = {op: [round(1000 * float(sums[op]) / float(n), 2), int(float(n))]
                                  for op, n in counts.items() if float(n) and op in sums}  # fmt: skip
    return out


def ratio(cc: float | None, base: float | None) -> float | None:
    return round(cc / base, 2) if cc is not None and base else None


def table(rows: list[tuple[str, Any, Any]]) -> str:
    lines = ["| figure | app_queue (baseline) | callcontrol | ratio cc / baseline |", "|---|---|---|---|"]
    for label, base, cc in rows:
        numeric = isinstance(base, int | float) and isinstance(cc, int | float) and base
        lines.append(f"| {label} | {_show(base)} | {_show(cc)} | {ratio(cc, base) if numeric else ''} |")
    return "\n".join(lines)


def _show(v: Any) -> str:
    return "—" if v is None else str(v)


def markdown(report: dict[str, Any]) -> str:
    rows: list[tuple[str, Any, Any]] = []
    for phase in report["fixed"]:
        b, c = phase["baseline"], phase["callcontrol"]
        tag = f"{phase['rate']:g}/s"
        for key, label in (("invite_to_200_ms", "INVITE → 200"), ("invite_to_prompt_ms", "INVITE → prompt RTP"),
                           ("digit_to_agent_invite_ms", "digit (first packet) → agent INVITE"),
                           ("digit_end_to_agent_invite_ms", "digit end → agent INVITE")):  # fmt: skip
            for q in ("p50", "p95", "p99"):
                rows.append((f"{tag} {label} {q} (ms)", b[key][q], c[key][q]))
        rows.append((f"{tag} failed calls (of {b['calls']})", b["failed"], c["failed"]))
        rows.append(
            (
                f"{tag} Asterisk CPU / call placed (ms)",
                b["cpu_ms_per_call"].get("asterisk"),
                c["cpu_ms_per_call"].get("asterisk"),
            )
        )
        rows.append((f"{tag} callcontrol CPU / call placed (ms)", None, c["cpu_ms_per_call"].get("callcontrol")))
        rows.append((f"{tag} agents rung while busy", b["agents_rung_while_busy"], c["agents_rung_while_busy"]))
    ramp = report["ramp"]
    rows.append(
        (
            "highest rate with 0 failed calls (calls/s)",
            ramp["highest_ok"].get("baseline"),
            ramp["highest_ok"].get("callcontrol"),
        )
    )
    rows.append(
        (
            "agents rung while busy, ramp (all steps)",
            ramp["rung_while_busy"].get("baseline"),
            ramp["rung_while_busy"].get("callcontrol"),
        )
    )
    rows.append(("ramp: first step with a failed call (calls/s)", ramp.get("first_failed", {}).get("baseline"),
                 ramp.get("first_failed", {}).get("callcontrol")))  # fmt: skip
    held = report.get("held")
    if held:
        b, c = held["baseline"].get("rss_kb_per_call", {}), held["callcontrol"].get("rss_kb_per_call", {})
        rows.append((f"Asterisk RSS per held call (kB, {held['calls']} calls)", b.get("asterisk"), c.get("asterisk")))
        rows.append(("callcontrol RSS per held call (kB)", None, c.get("callcontrol")))
        rows.append((f"held calls that reached an agent (of {held['calls']})", held["baseline"]["completed"],
                     held["callcontrol"]["completed"]))  # fmt: skip
    loads = [p[s] for p in report["fixed"] + report["ramp"]["steps"] for s in ("callcontrol",) if s in p]
    stalls = [m.get("callcontrol_loop_stall_max_seconds") for m in (x.get("metrics", {}) for x in loads)]
    rows.append(("callcontrol loop stall max (s, /metrics)", None, max(stalls, key=str) if stalls else None))
    stops = [x.get("stop_after_sigterm_s") for x in loads if x.get("stop_after_sigterm_s") is not None]
    rows.append(("callcontrol exit after SIGTERM, worst load (s)", None, max(stops) if stops else None))
    out = table(rows)
    claim = report.get("redis_claim", {}).get("runs") or []
    if claim:
        out += "\n\nRedis claim (bench/redis_claim.py, own redis-server), p50 / p99 ms:\n\n"
        out += "| agents | PING | claim |\n|---|---|---|\n"
        out += "\n".join(
            f"| {r['agents']} | {r['ping']['p50_ms']:.2f} / {r['ping']['p99_ms']:.2f} | "
            f"{r['claim_free']['p50_ms']:.2f} / {r['claim_free']['p99_ms']:.2f} |"
            for r in claim
        )
    return out


def plot(report: dict[str, Any], path: Path) -> Path | None:
    """Digit end → agent INVITE p50/p95 and CPU per call against calls/s, both systems (fixed phases + ramp)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    points: dict[str, list[tuple[float, dict[str, Any]]]] = {"baseline": [], "callcontrol": []}
    for phase in report["fixed"] + report["ramp"]["steps"]:
        for system in points:
            if system in phase:
                points[system].append((phase["rate"], phase[system]))
    fig, (lat, cpu) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {"baseline": "tab:blue", "callcontrol": "tab:orange"}
    for system, pts in points.items():
        pts.sort(key=lambda p: p[0])
        xs = [r for r, _ in pts]
        for q, style in (("p50", "-o"), ("p95", "--s")):
            lat.plot(
                xs,
                [f["digit_end_to_agent_invite_ms"][q] for _, f in pts],
                style,
                color=colours[system],
                label=f"{system} {q}",
            )
        cpu.plot(
            xs,
            [f["cpu_ms_per_call"].get("asterisk") for _, f in pts],
            "-o",
            color=colours[system],
            label=f"Asterisk ({system})",
        )
        if system == "callcontrol":
            cpu.plot(
                xs,
                [f["cpu_ms_per_call"].get("callcontrol") for _, f in pts],
                ":^",
                color="tab:red",
                label="callcontrol process",
            )
    lat.set(
        xlabel="calls/s",
        ylabel="digit end → agent INVITE (ms)",
        yscale="log",
        title=f"{report['load']['agents']} agents, same Asterisk",
    )
    cpu.set(xlabel="calls/s", ylabel="CPU ms per call placed", title="CPU per call")
    for ax in (lat, cpu):
        ax.set_xscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(doc: dict[str, Any], results: Path) -> int:
    """bench/results/journey-latest.md (printed too) and journey-latest.png from one run's figures."""
    table = markdown(doc)
    (results / "journey-latest.md").write_text(
        f"Journey bench {doc['when']} ({doc['load']['agents']} agents, load average after the run "
        f"{doc['machine']['load_avg'][0]:.1f} on {doc['machine']['cores']} cores)\n\n{table}\n"
    )
    print(table)
    png = plot(doc, results / "journey-latest.png")
    print(f"written: {results / 'journey-latest.md'}, {png}")
    return 0
