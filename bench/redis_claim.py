"""Redis cost of the hot path against the number of agents: a bare PING, the enqueue's reachability check, a claim.

No Asterisk needed: it starts its own redis-server on a port of its own (default 6395, data in a temporary
directory) and drives callcontrol's state layer, as the routing does, through the app's client (connect_redis).

    .venv/bin/python bench/redis_claim.py [--agents 100,1000,10000] [--samples 2000] [--port 6395] [--chunk 50]

Per agent count N (every agent a member of one hotline, logged in on her softphone):
  ping         a bare PING round trip (the floor: one loopback round trip through redis-py)
  reachable    the enqueue's "is anyone reachable" check, as HotlineRouter calls it
  claim_free   claim of the head call, every agent free (--strategy, longest_idle by default), then the agent
               released (not timed)
  claim_busy   the same with 90 % of the agents not free (paused), the usual picture at a busy hour
p50 / p95 / p99 in ms of the wall time, and for the claims the client's CPU (thread time of the claim: redis-py,
asyncio, the reply's parsing) and the server's time (the script's duration in SLOWLOG, a second pass of
--server-samples claims, since SLOWLOG at 0 µs also logs each command the script calls and slows it a little).

Method (session 6, bench/claim.md): every N has its own database on the same server and the samples are taken in
rounds of --chunk per N, the order of the N rotating from one round to the next, so that a burst of load from the
rest of the box (2 shared cores) falls on every N alike. `--chunk` as large as `--samples` is the old method
(all the samples of one N in one stretch, then the next N): its p99 was that stretch's load, not the agents'.
The box's own scheduling noise is printed too: the load average and `redis-cli --intrinsic-latency`.
Writes bench/results/redis_claim-<date>.json (or --out).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from redis.asyncio import Redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from callcontrol.config import RedisSettings  # noqa: E402
from callcontrol.routing.router import HotlineRouter  # noqa: E402
from callcontrol.state import AgentRecord, StateLayer  # noqa: E402
from callcontrol.state.connect import connect_redis  # noqa: E402

HOTLINE = "h"
WHATS = ("ping", "reachable", "claim_free", "claim_busy")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {"p50_ms": round(pct(ms, 50), 4), "p95_ms": round(pct(ms, 95), 4), "p99_ms": round(pct(ms, 99), 4),
            "n": len(ms)}


class Target:
    """One agent count: its own database, client and state layer, and the samples taken there."""

    def __init__(self, n: int, db: int, port: int, strategy: str) -> None:
        self.n = n
        self.strategy = strategy
        self.redis: Redis = connect_redis(RedisSettings(url=f"redis://127.0.0.1:{port}/{db}"))  # the app's client
        self.state = StateLayer.create(self.redis)
        self.wall: dict[str, list[float]] = {what: [] for what in WHATS}
        self.cpu: dict[str, list[float]] = {what: [] for what in WHATS}
        self.server: dict[str, list[float]] = {}
        self.calls = 0

    async def timed(self, what: str, coro: Any) -> Any:
        cpu, start = time.thread_time(), time.perf_counter()
        result = await coro
        self.wall[what].append(time.perf_counter() - start)
        self.cpu[what].append(time.thread_time() - cpu)
        return result

    async def claim(self, what: str | None) -> None:
        """Enqueue a call, claim it (timed under `what`, untimed when None), connect and release the agent."""
        self.calls += 1
        call = f"c{self.calls}"
        await self.state.queues.enqueue(call, HOTLINE, owner="bench")
        claiming = self.state.queues.claim(HOTLINE, self.strategy, instance="bench")
        claim = await (self.timed(what, claiming) if what else claiming)
        assert claim is not None, "no agent claimed"
        await self.state.queues.connect(call, claim.agent_id)
        await self.state.queues.release(claim.agent_id)


async def populate(state: StateLayer, n: int, busy_share: float) -> None:
    records = [AgentRecord(id=f"a{i:05d}", name=f"A{i}", softphone=f"{10000 + i}", hotlines={HOTLINE: 0})
               for i in range(n)]
    await state.agents.sync_agents(records)
    step = 50  # below the pool's 64 connections: on a loaded box, 500 at once waited past its 5 s timeout
    for chunk in range(0, n, step):
        await asyncio.gather(*(state.agents.login(r.id, "softphone") for r in records[chunk:chunk + step]))
    busy = int(n * busy_share)
    for chunk in range(0, busy, step):
        await asyncio.gather(*(state.agents.pause(r.id, "lunch") for r in records[chunk:min(busy, chunk + step)]))


async def reachable_check(state: StateLayer) -> bool:
    router = SimpleNamespace(_state=state)  # the router's own check, without an Asterisk behind it
    return await HotlineRouter._anyone_reachable(router, HOTLINE)  # type: ignore[arg-type]


async def rounds(targets: list[Target], samples: int, chunk: int, step: Any) -> None:
    """`samples` calls of step(target) per target, `chunk` at a time, the targets' order rotating each round."""
    for turn, done in enumerate(range(0, samples, chunk)):
        order = targets[turn % len(targets):] + targets[:turn % len(targets)]
        for target in order:
            for _ in range(min(chunk, samples - done)):
                await step(target)


async def server_times(target: Target, samples: int) -> list[float]:
    """The claim script's own duration (SLOWLOG, seconds) over `samples` claims on this target alone."""
    redis = target.redis
    await redis.config_set("slowlog-max-len", 200 * samples)  # every command a script calls is logged too
    await redis.config_set("slowlog-log-slower-than", 0)
    await redis.slowlog_reset()
    for _ in range(samples):
        await target.claim(None)
    await redis.config_set("slowlog-log-slower-than", 10_000)
    entries = await redis.execute_command("SLOWLOG", "GET", "-1")
    await redis.slowlog_reset()
    out = []
    for entry in entries:
        args = [a.decode() if isinstance(a, bytes) else str(a) for a in entry[3]]
        if args[0].upper() == "EVALSHA" and len(args) > 4 and args[4] == "head":
            out.append(entry[2] / 1e6)
    return out


async def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    targets = [Target(n, db, args.port, args.strategy) for db, n in enumerate(args.agents)]
    try:
        for label, busy_share in (("free", 0.0), ("busy", 0.9)):
            for target in targets:
                await target.redis.flushdb()
                await populate(target.state, target.n, busy_share)
            if label == "free":
                await rounds(targets, args.samples, args.chunk, lambda t: t.timed("ping", t.redis.ping()))
                await rounds(targets, args.samples, args.chunk,
                             lambda t: t.timed("reachable", reachable_check(t.state)))
            await rounds(targets, args.samples, args.chunk, lambda t, what=f"claim_{label}": t.claim(what))
            for target in targets:
                target.server[f"claim_{label}"] = await server_times(target, args.server_samples)
        runs = []
        for target in targets:
            run: dict[str, Any] = {"agents": target.n}
            for what in WHATS:
                run[what] = summary(target.wall[what])
                run[what]["client_cpu"] = summary(target.cpu[what])
                if what in target.server:
                    run[what]["server"] = summary(target.server[what])
            runs.append(run)
        return runs
    finally:
        for target in targets:
            await target.redis.aclose()


def intrinsic_latency(port: int, seconds: int) -> float | None:
    """The worst scheduling delay the box gave a busy loop over `seconds` (redis-cli --intrinsic-latency), ms."""
    if seconds <= 0 or not shutil.which("redis-cli"):
        return None
    done = subprocess.run(["redis-cli", "-p", str(port), "--intrinsic-latency", str(seconds)],
                          capture_output=True, text=True, timeout=seconds + 10)
    found = re.findall(r"Max latency so far: (\d+) microseconds", done.stdout + done.stderr)
    return int(found[-1]) / 1000 if found else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000, 10000])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=50, help="samples per agent count and round (see above)")
    parser.add_argument("--server-samples", type=int, default=300, help="claims per N timed by SLOWLOG")
    parser.add_argument("--intrinsic", type=int, default=3, help="seconds of redis-cli --intrinsic-latency (0: no)")
    parser.add_argument("--strategy", default="longest_idle", help="the hotline's strategy (longest_idle, linear, ...)")
    parser.add_argument("--port", type=int, default=6395)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="cc-bench-redis-")
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(args.port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", folder, "--databases", str(max(16, len(args.agents)))],
        stdout=subprocess.DEVNULL,
    )
    load_before = os.getloadavg()
    try:
        time.sleep(0.3)
        runs = asyncio.run(measure(args))
        box = {"load_before": load_before, "load_after": os.getloadavg(),
               "intrinsic_latency_ms": intrinsic_latency(args.port, args.intrinsic)}
    finally:
        server.terminate()
        server.wait(5)
        shutil.rmtree(folder, ignore_errors=True)
    result = {"runs": runs, "box": box, "label": args.label, "strategy": args.strategy, "samples": args.samples,
              "chunk": args.chunk, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    out = args.out or REPO / "bench" / "results" / f"redis_claim-{dt.date.today().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'agents':>7} {'what':<11} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} | {'cpu p50':>7} {'cpu p99':>7}"
          f" | {'srv p50':>7} {'srv p99':>7}")
    for run in runs:
        for what in WHATS:
            s, c = run[what], run[what]["client_cpu"]
            srv = run[what].get("server")
            tail = f" | {srv['p50_ms']:>7.3f} {srv['p99_ms']:>7.3f}" if srv else ""
            print(f"{run['agents']:>7} {what:<11} {s['p50_ms']:>8.3f} {s['p95_ms']:>8.3f} {s['p99_ms']:>8.3f}"
                  f" | {c['p50_ms']:>7.3f} {c['p99_ms']:>7.3f}{tail}")
    lat = box["intrinsic_latency_ms"]
    print(f"load average {load_before[0]:.2f} -> {box['load_after'][0]:.2f}; intrinsic latency (worst) "
          f"{'n/a' if lat is None else f'{lat:.2f} ms'}")
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
