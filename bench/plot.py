"""PNG of the bench results (matplotlib: the `bench` extra, not a runtime dependency).

    .venv/bin/python bench/plot.py --claim before=FILE --claim after=FILE \
        --routing LABEL=FILE [--routing LABEL=FILE ...] --out bench/results/DATE.png

Left: the Redis cost of the hot path against the number of agents (bench/redis_claim.py), p99, log scales, with
a bare PING as the floor. Right: per-call CPU of callcontrol and of Asterisk, and the routing delay p95, for each
routing run given (bench/routing.py), with app_queue's figures of the same run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def labelled(items: list[str]) -> list[tuple[str, dict]]:
    out = []
    for item in items:
        label, _, path = item.partition("=")
        out.append((label, json.loads(Path(path).read_text())))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claim", action="append", default=[], help="LABEL=redis_claim JSON")
    parser.add_argument("--routing", action="append", default=[], help="LABEL=routing JSON")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    styles = iter(["--", "-", ":", "-."])
    for label, doc in labelled(args.claim):
        style = next(styles)
        runs = sorted(doc["runs"], key=lambda r: r["agents"])
        agents = [r["agents"] for r in runs]
        for what, colour in (("reachable", "tab:red"), ("claim_busy", "tab:blue"), ("claim_free", "tab:green")):
            points = [(a, r[what]["p99_ms"]) for a, r in zip(agents, runs, strict=True) if what in r]
            if points:
                left.plot(*zip(*points, strict=True), style, marker="o", color=colour, label=f"{what} ({label})")
        left.plot(agents, [r["ping"]["p99_ms"] for r in runs], style, color="grey", label=f"PING ({label})")
    left.set(xscale="log", yscale="log", xlabel="agents in the hotline", ylabel="p99 (ms)",
             title="Redis cost per call against agents (bench/redis_claim.py)")
    left.legend(fontsize=7)
    runs = labelled(args.routing)
    names = [label for label, _ in runs]
    x = range(len(runs))
    width = 0.2
    cc_cpu = [doc["phases"]["callcontrol"].get("callcontrol_cpu_ms_per_call", 0) for _, doc in runs]
    cc_ast = [doc["phases"]["callcontrol"]["asterisk_cpu_ms_per_call"] for _, doc in runs]
    base_ast = [doc["phases"]["baseline"]["asterisk_cpu_ms_per_call"] for _, doc in runs]
    cc_p95 = [doc["phases"]["callcontrol"]["routing_delay_ms"]["p95"] for _, doc in runs]
    base_p95 = [doc["phases"]["baseline"]["routing_delay_ms"]["p95"] for _, doc in runs]
    right.bar([i - 1.5 * width for i in x], cc_cpu, width, label="callcontrol CPU ms/call")
    right.bar([i - 0.5 * width for i in x], cc_ast, width, label="Asterisk CPU ms/call (callcontrol)")
    right.bar([i + 0.5 * width for i in x], base_ast, width, label="Asterisk CPU ms/call (app_queue)")
    right.bar([i + 1.5 * width for i in x], cc_p95, width, label="routing delay p95 ms (callcontrol)")
    right.plot(list(x), base_p95, "k_", markersize=30, label="routing delay p95 ms (app_queue)")
    right.set_xticks(list(x), names, fontsize=8)
    right.set(ylabel="ms", title="Routing bench, 30 calls at 1/s, one run each (bench/routing.py)")
    right.legend(fontsize=7)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
