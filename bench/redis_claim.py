"""Redis cost of the hot path against the number of agents: a bare PING, the enqueue's reachability check, a claim.

No Asterisk needed: it starts its own redis-server on a port of its own (default 6395, data in a temporary
directory) and drives callcontrol's state layer, as the routing does, through the app's client (connect_redis).

    .venv/bin/python bench/redis_claim.py [--agents 100,1000,10000] [--samples 2000] [--port 6395]

Per agent count N (every agent a member of one hotline, logged in on her softphone):
  ping         a bare PING round trip (the floor: one loopback round trip through redis-py)
  reachable    the enqueue's "is anyone reachable" check, as HotlineRouter calls it
  claim_free   claim of the head call, every agent free (longest_idle), then the agent released (not timed)
  claim_busy   the same with 90 % of the agents not free (paused), the usual picture at a busy hour
p50 / p95 / p99 in ms. Writes bench/results/redis_claim-<date>.json (or --out).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
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


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {"p50_ms": round(pct(ms, 50), 4), "p95_ms": round(pct(ms, 95), 4), "p99_ms": round(pct(ms, 99), 4),
            "n": len(ms)}


async def timed(samples: list[float], coro: Any) -> Any:
    start = time.perf_counter()
    result = await coro
    samples.append(time.perf_counter() - start)
    return result


async def populate(state: StateLayer, n: int, busy_share: float) -> None:
    records = [AgentRecord(id=f"a{i:05d}", name=f"A{i}", softphone=f"{10000 + i}", hotlines={HOTLINE: 0})
               for i in range(n)]
    await state.agents.sync_agents(records)
    for chunk in range(0, n, 500):
        await asyncio.gather(*(state.agents.login(r.id, "softphone") for r in records[chunk:chunk + 500]))
    busy = int(n * busy_share)
    for chunk in range(0, busy, 500):
        await asyncio.gather(*(state.agents.pause(r.id, "lunch") for r in records[chunk:min(busy, chunk + 500)]))


async def reachable_check(state: StateLayer) -> bool:
    router = SimpleNamespace(_state=state)  # the router's own check, without an Asterisk behind it
    return await HotlineRouter._anyone_reachable(router, HOTLINE)  # type: ignore[arg-type]


async def measure(redis: Redis, n: int, samples: int) -> dict[str, Any]:
    state = StateLayer.create(redis)
    out: dict[str, Any] = {"agents": n}
    for label, busy_share in (("free", 0.0), ("busy", 0.9)):
        await redis.flushdb()
        await populate(state, n, busy_share)
        if label == "free":
            ping: list[float] = []
            reach: list[float] = []
            for _ in range(samples):
                await timed(ping, redis.ping())
            for _ in range(samples):
                assert await timed(reach, reachable_check(state))
            out["ping"] = summary(ping)
            out["reachable"] = summary(reach)
        claims: list[float] = []
        for i in range(samples):
            call = f"c{i}"
            await state.queues.enqueue(call, HOTLINE, owner="bench")
            claim = await timed(claims, state.queues.claim(HOTLINE, "longest_idle", instance="bench"))
            assert claim is not None, "no agent claimed"
            await state.queues.connect(call, claim.agent_id)
            await state.queues.release(claim.agent_id)
        out[f"claim_{label}"] = summary(claims)
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    redis = connect_redis(RedisSettings(url=f"redis://127.0.0.1:{args.port}/0"))  # the app's own client and pool
    try:
        return {"runs": [await measure(redis, n, args.samples) for n in args.agents]}
    finally:
        await redis.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=lambda s: [int(x) for x in s.split(",")], default=[100, 1000, 10000])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--port", type=int, default=6395)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="cc-bench-redis-")
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(args.port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        result = asyncio.run(main_async(args))
    finally:
        server.terminate()
        server.wait(5)
        shutil.rmtree(folder, ignore_errors=True)
    result.update({"label": args.label, "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                   "samples": args.samples})
    out = args.out or REPO / "bench" / "results" / f"redis_claim-{dt.date.today().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'agents':>7} {'what':<11} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}")
    for run in result["runs"]:
        for what in ("ping", "reachable", "claim_free", "claim_busy"):
            s = run[what]
            print(f"{run['agents']:>7} {what:<11} {s['p50_ms']:>9.3f} {s['p95_ms']:>9.3f} {s['p99_ms']:>9.3f}")
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
