"""An ideal router on the busy hour's own plan: a discrete-event simulation (no Asterisk, no callcontrol) of the
same citizens (bench/busy_people.plan: same seed, same arrivals, patience and conversations), N agents, first come
first served, longest idle agent first, each call holding its agent for ring + whisper + conversation + wrap-up.

It tells what part of a run's figures is the luck of one sample of 205 calls (the same plan through a perfect
router) and what part is callcontrol; with --seeds it gives their spread over many busy hours.

    .venv/bin/python bench/busy_sim.py [--seed 1] [--seeds 200]
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import sys
from collections import deque
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from busy_people import Citizen, plan


def simulate(people: list[Citizen], agents: int, overhead: float, window: float, threshold: float) -> dict[str, Any]:
    """Service level (agent seized within threshold, over all calls), abandonment, occupancy spread (talk time in
    the window / window). A citizen abandons if its patience ends before the agent is bridged (seized +
    `overhead`): it hears music until the agent speaks, the same rule as the bench's citizens."""
    idle = [(0.0, i) for i in range(agents)]  # (idle since, agent): longest idle first
    events: list[tuple[float, int, str, int]] = []  # (time, order, kind, citizen or agent)
    order = iter(range(10**9))
    for c in people:
        heapq.heappush(events, (c.at, next(order), "arrive", c.index))
    by_index = {c.index: c for c in people}
    queue: deque[int] = deque()
    seized: set[int] = set()
    talk = [0.0] * agents
    waits: list[float] = []
    within = abandoned = 0

    def seize(c: Citizen, now: float) -> None:
        nonlocal within, abandoned
        _, agent = heapq.heappop(idle)
        seized.add(c.index)
        if c.at + c.patience < now + overhead:  # hangs up while the agent's phone rings / the whisper plays
            abandoned += 1
            waits.append(c.patience)
            heapq.heappush(events, (c.at + c.patience, next(order), "free", agent))
            return
        end = now + overhead + c.talk
        talk[agent] += max(0.0, min(end, window) - min(now + overhead, window))
        waits.append(now - c.at + overhead)
        within += now - c.at <= threshold
        heapq.heappush(events, (end, next(order), "free", agent))

    while events:
        now, _, kind, who = heapq.heappop(events)
        if kind == "arrive":
            c = by_index[who]
            if idle and not queue:
                seize(c, now)
            else:
                queue.append(who)
                heapq.heappush(events, (c.at + c.patience, next(order), "patience", who))
        elif kind == "patience":
            if who in queue:
                queue.remove(who)
                abandoned += 1
                waits.append(by_index[who].patience)
        else:
            heapq.heappush(idle, (now, who))
            while idle and queue:
                seize(by_index[queue.popleft()], now)
    occ = [t / window for t in talk]
    n = len(people)
    return {"service_level": within / n, "abandonment": abandoned / n, "mean_wait": statistics.fmean(waits),
            "occupancy_mean": statistics.fmean(occ), "occupancy_spread_points": 100 * (max(occ) - min(occ))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=0, help="also run this many other busy hours (seeds 1..N)")
    parser.add_argument("--calls", type=int, default=205)
    parser.add_argument("--window", type=float, default=180.0)
    parser.add_argument("--talk", type=float, default=9.0)
    parser.add_argument("--patience", type=float, default=3.0)
    parser.add_argument("--agents", type=int, default=14)
    parser.add_argument("--overhead", type=float, default=0.55, help="ring + whisper, scaled seconds")
    parser.add_argument("--threshold", type=float, default=1.0)
    args = parser.parse_args()
    run = lambda seed: simulate(plan(args.calls, args.window, args.talk, args.patience, seed), args.agents,  # noqa: E731
                                args.overhead, args.window, args.threshold)  # fmt: skip
    one = run(args.seed)
    print(f"seed {args.seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in one.items()))
    if args.seeds:
        many = [run(s) for s in range(1, args.seeds + 1)]
        for key in one:
            values = sorted(r[key] for r in many)
            print(f"{key:>24}: mean {statistics.fmean(values):.3f}  p10 {values[len(values) // 10]:.3f}  "
                  f"p90 {values[9 * len(values) // 10]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
