"""Busy-hour simulation: Pessac's busiest hour on the real stack (Asterisk, Redis, callcontrol, SIPp), all times
divided by --scale (20: the hour runs in 3 minutes with the same Erlang load), compared with Erlang C and A.

Run (the machine's single Asterisk is shared: hold the integration lock, timeout inside flock):

    flock -o /var/tmp/callcontrol/it.lock timeout 400 .venv/bin/python bench/busy_hour.py [--minutes 60] [--seed 1]

205 calls an hour, conversations of 180 s on average (exponential), citizens' patience 60 s on average
(exponential), 14 agents on softphones, one hotline (longest idle, wrap-up 0, a 0.2 s two-tone whisper). See
bench/busy-hour.md. Writes bench/results/busy_hour-<UTC time>.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO))

import redis  # noqa: E402
from appproc import AppProcess, make_config  # noqa: E402
from busy_analysis import analyse  # noqa: E402
from busy_figures import table  # noqa: E402
from busy_observer import Observer, digits  # noqa: E402
from busy_people import (  # noqa: E402
    CitizenCall,
    agent_phones,
    extensions,
    install_endpoints,
    log_in,
    plan,
    remove_endpoints,
    workdir_for,
)
from harness import REDIS_PORT, Ari, ari_password  # noqa: E402
from hotline_kit import ENQUEUE_FLOW, HOTLINE, OTHER_HOTLINES  # noqa: E402
from sipp import unregister  # noqa: E402
from stack_up import stack_up  # noqa: E402

PUBLIC_NUMBER = "0556000000"
RESULTS = REPO / "bench" / "results"


def config_files(args: argparse.Namespace, exts: list[str]) -> dict[str, str]:
    """One hotline of `agents` members on softphones, longest idle, straight from the flow's entry."""
    s = args.scale
    hotline = {
        "strategy": "longest_idle", "ring_timeout": max(1, round(15 / s)), "accept_timeout": 2,
        "wrap_up": round(args.wrap_up / s, 3), "max_wait": 600, "max_misses": 0, "whisper": [args.whisper],
        "announce_first": 600, "announce_interval": 0, "announce_wait": False,
    }  # fmt: skip
    doc = {"hotlines": {HOTLINE: hotline, **{h: {} for h in OTHER_HOTLINES}}}
    agents = [{"id": f"agent{i + 1:02d}", "name": f"Agent {i + 1}", "softphone": ext, "hotlines": {HOTLINE: 0}}
              for i, ext in enumerate(exts)]  # fmt: skip
    return {"flows/main.yaml": ENQUEUE_FLOW, "hotlines.yaml": json.dumps(doc),
            "agents.yaml": json.dumps({"agents": agents})}  # fmt: skip


def journal_export(config: Path, redis_url: str, zone: str) -> list[dict[str, Any]]:
    """`callcontrol journal export --format jsonl` for today (the city's day), as ops would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")}
    env |= {"CALLCONTROL_REDIS_URL": redis_url, "CALLCONTROL_ARI_PASSWORD": ari_password()}
    today = dt.datetime.now(ZoneInfo(zone)).date().isoformat()
    done = subprocess.run(
        [sys.executable, "-m", "callcontrol", "--config", str(config), "--secrets", "/nonexistent", "journal",
         "export", "--format", "jsonl", "--from", today], cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"journal export failed: {done.stdout}{done.stderr}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def metrics_text() -> str:
    try:
        with urllib.request.urlopen("http://127.0.0.1:8080/metrics", timeout=3) as response:
            return response.read().decode()
    except OSError:
        return ""


def stall_metrics(text: str) -> dict[str, float]:
    wanted = ("callcontrol_loop_stall_max_seconds", "callcontrol_ari_event_lag_seconds_sum",
              "callcontrol_ari_event_lag_seconds_count")  # fmt: skip
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.split("{")[0] in wanted:
            out[name] = float(value)
    return out


async def drive(citizens: list[CitizenCall], observer: Observer, sock: socket.socket, budget: float) -> float:
    """Start each citizen at its time, reap the SIPp processes, until all ended or `budget` s. Returns t0."""
    ready = asyncio.Event()
    watching = asyncio.create_task(observer.run(ready))
    await asyncio.wait_for(ready.wait(), 10)
    loop = asyncio.get_running_loop()
    t0_wall, t0 = time.time(), loop.time()
    pending = list(citizens)
    running: list[CitizenCall] = []
    try:
        while (pending or running) and loop.time() - t0 < budget:
            now = loop.time() - t0
            while pending and pending[0].citizen.at <= now:
                citizen = pending.pop(0)
                await asyncio.to_thread(citizen.start, time.time())
                running.append(citizen)
            running = [c for c in running if not c.poll()]
            await asyncio.sleep(0.02)
    finally:
        for c in running:
            c.stop()
        await asyncio.sleep(1.0)  # the last events (ChannelDestroyed) reach the observer
        watching.cancel()
    return t0_wall


def write_report(workdir: Path) -> None:
    """The report of a run's directory: bench/results/busy_hour-<run time>.json and the table on stdout."""
    report = analyse(workdir)
    run = report["run"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"busy_hour-{run['when_utc']}.json"
    out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(table(report, run["scale"], run["threshold_s"]))
    print(f"\nwritten: {out}; traces and journal: {workdir}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60, help="minutes of the busy hour to play (default 60)")
    parser.add_argument("--scale", type=float, default=20, help="real times are divided by this (default 20)")
    parser.add_argument("--calls-per-hour", type=float, default=205)
    parser.add_argument("--talk", type=float, default=180, help="mean conversation, real seconds (exponential)")
    parser.add_argument("--patience", type=float, default=60, help="mean patience, real seconds (exponential)")
    parser.add_argument("--threshold", type=float, default=20, help="service level threshold, real seconds")
    parser.add_argument("--agents", type=int, default=14)
    parser.add_argument("--answer-after", type=float, default=2, help="agent's phone rings this long, real seconds")
    parser.add_argument("--wrap-up", type=float, default=0, help="hotline wrap-up, real seconds")
    parser.add_argument("--whisper", default="ascending-2tone",
                        help="the hotline's whisper (default ascending-2tone: 0.2 s, the shortest stock sound)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--constant-talk", action="store_true",
                        help="every conversation lasts exactly --talk (default: exponential)")
    parser.add_argument("--analyse", type=Path, metavar="RUN_DIR",
                        help="no run: the report of an earlier run's directory")
    args = parser.parse_args()
    if args.analyse:
        write_report(args.analyse)
        return 0
    s = args.scale
    window, talk, patience, threshold = args.minutes * 60 / s, args.talk / s, args.patience / s, args.threshold / s
    people = plan(round(args.calls_per_hour * args.minutes / 60), window, talk, patience, args.seed,
                  constant_talk=args.constant_talk)

    problem = stack_up()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    ari, redis_url = Ari(), f"redis://127.0.0.1:{REDIS_PORT}/0"
    stamp_utc = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M")
    load_before = os.getloadavg()
    workdir = workdir_for(stamp_utc)
    redis.Redis.from_url(redis_url).flushall()
    exts = extensions(args.agents)
    phones, app, citizens = [], None, []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        install_endpoints(exts)
        phones = agent_phones(workdir, exts, args.answer_after / s)
        config = make_config(workdir / "config", config_files(args, exts))
        app = AppProcess(workdir, config, redis_url, app="callcontrol").start(ari)
        log_in(config, redis_url, [f"agent{i + 1:02d}" for i in range(args.agents)])
        time.sleep(1.0)
        citizens = [CitizenCall(workdir / "citizens", c, PUBLIC_NUMBER) for c in people]
        by_number = {c.citizen.number: c for c in citizens}
        observer = Observer({digits(n): n for n in by_number}, set(exts),
                            on_answered=lambda number: by_number[number].signal_answered(sock))  # fmt: skip
        print(f"busy hour: {len(people)} citizens over {window:.0f} s, {args.agents} agents ...", file=sys.stderr)
        began = time.monotonic()
        t0 = asyncio.run(drive(citizens, observer, sock, budget=window + 20 * talk + 30))
        elapsed = time.monotonic() - began
        time.sleep(2.0)  # the journal's last lines
        journal = journal_export(config, redis_url, "Europe/Paris")
        stalls = stall_metrics(metrics_text())
        errors = [line for line in app.lines() if line.get("level") in ("error", "critical")]
        warnings = [line for line in app.lines() if line.get("level") == "warning"]
        app.stop()
        run = {
            "when_utc": stamp_utc, "elapsed_s": round(elapsed, 1), "workdir": str(workdir), "seed": args.seed,
            "scale": s, "minutes": args.minutes, "calls_planned": len(people), "window_s": window, "t0": t0,
            "agents": args.agents, "extensions": exts, "talk_mean_s": talk, "patience_mean_s": patience,
            "threshold_s": threshold, "answer_after_s": args.answer_after / s, "wrap_up_s": args.wrap_up / s,
            "whisper": args.whisper,
            "distributions": {"arrivals": "Poisson process conditioned on its count (sorted uniform times)",
                              "talk": "constant" if args.constant_talk else "exponential",
                              "patience": "exponential, from callcontrol's answer to the agent being bridged"},
            "machine": {"cores": os.cpu_count(), "load_after": os.getloadavg(), "load_before": load_before},
            "asterisk": ari.version(),
            "plan": [vars(c) for c in people],
            "signalled": sorted(c.citizen.number for c in citizens if c.signalled),
            "checks": {
                "sipp_exit_codes": {str(k): [c.exit_code for c in citizens].count(k)
                                    for k in sorted({c.exit_code for c in citizens}, key=str)},
                "callcontrol_errors": [f"{e.get('event')}: {e}" for e in errors][:20],
                "callcontrol_warnings": [f"{w.get('timestamp')} {w.get('event')}: {w.get('error', '')}"
                                         for w in warnings][:20],
            },
            "callcontrol_metrics": stalls,
        }  # fmt: skip
        (workdir / "observer.json").write_text(json.dumps(observer.dump(), indent=1))
        (workdir / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in journal))
        (workdir / "run.json").write_text(json.dumps(run, indent=1, default=str))
        write_report(workdir)
        return 0
    finally:
        for c in citizens:
            c.stop()
        if app:
            app.stop()
        for p in phones:
            p.stop()
        ari.hang_up_everything()
        for ext in exts:
            unregister(workdir, ext)
        remove_endpoints()
        sock.close()


if __name__ == "__main__":
    sys.exit(main())
