"""The citizen journey, callcontrol against Asterisk's own app_queue, on the same Asterisk, in one run.

    flock -o /var/tmp/callcontrol/it.lock timeout 560 .venv/bin/python bench/journey.py [--calls 200,1000]
        [--rates 10,100] [--held 300] [--ramp 25,50,75,150,250] [--agents 300] [--redis-claim]

Journey (both systems, same prompt, same digit): INVITE -> 200 -> the welcome menu prompt -> '1' (RFC 4733, a fixed
time after the answer) -> queue -> an agent phone (SIPp UAS) answers at once -> 1 s talk -> the agent hangs up.
Baseline: dialplan [bench-journey] (Answer, Background, WaitExten, 1 -> Queue over 300 static members, leastrecent,
ringinuse=no). callcontrol: one instance on its own app name (no random pick of an absent app), a menu playing the
same prompt, 1 -> a hotline of the same 300 softphones. Time stamps from tcpdump on lo. See bench/README.md.
Exit status: 0 when the bench ran (whatever the figures), 2 when it could not run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "integration"), str(REPO / "bench"), str(REPO)]

import journey_load as load  # noqa: E402
import journey_report as report  # noqa: E402
import journey_setup as setup  # noqa: E402
from appproc import AppProcess, make_config  # noqa: E402
from harness import REDIS_PORT, STATE, Ari, script  # noqa: E402
from hotline_kit import config_files  # noqa: E402
from sipp import free_udp_port, udp_port_bound  # noqa: E402
from stack_up import stack_up  # noqa: E402

NUMBERS = {"baseline": "0556000096", "callcontrol": "0556000095"}  # asterisk-conf/extensions.conf, bench only
RESULTS = REPO / "bench" / "results"
DIGIT_AFTER = 1.0  # s after the answer (the pcap's digit); the prompt is far longer: both cut it short
TALK = 1.0
# callcontrol settings a run may set from the bench's environment (AppProcess passes no other CALLCONTROL_*):
# CALLCONTROL_ARI_REST_TRANSPORT=http|websocket, CALLCONTROL_ARI_REST_WEBSOCKETS=N (docs/configuration.md)
PASSED_ENV = ("CALLCONTROL_ARI_REST_TRANSPORT", "CALLCONTROL_ARI_REST_WEBSOCKETS")


def asterisk_pid() -> int:
    pid = int((STATE / "asterisk.pid").read_text().strip())
    os.kill(pid, 0)
    return pid


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path, ports: load.Ports, pcap: Path, redis_url: str) -> None:
        self.args, self.workdir, self.ports, self.pcap, self.redis_url = args, workdir, ports, pcap, redis_url
        self.ari = Ari()
        self.app: AppProcess | None = None
        self.number_base = 611_000_000

    def target(self, system: str) -> load.Target:
        pid = self.app.process.pid if self.app and self.app.process else None
        return load.Target(system, NUMBERS[system], asterisk_pid(), pid)

    def one(self, system: str, name: str, calls: int, rate: float, *, hold: bool = False) -> dict[str, Any]:
        """One load against one system, alone on Asterisk: callcontrol runs only during its own loads (idle, its
        endpoint subscription alone made Asterisk's ARI queue overflow under app_queue's load: see README)."""
        print(f"journey: {name} {system}: {calls} calls at {rate:g}/s{' held' if hold else ''}", file=sys.stderr)
        self.number_base += 1_000_000
        before = self.settle()
        if self.args.fresh_asterisk and not hold:  # the held load's RSS slope needs an Asterisk past its warm-up
            before["asterisk_rss_kb_before_restart"] = self.fresh_asterisk()
        log_offset = setup.ASTERISK_LOG.stat().st_size if setup.ASTERISK_LOG.exists() else 0
        if system == "callcontrol":
            self.start_callcontrol()
        try:
            result = load.run(self.target(system), self.workdir / name / system, calls=calls, rate=rate,
                              ports=self.ports, pcap=self.pcap, first_number=self.number_base, talk=TALK,
                              hang_up=lambda: setup.patient(self.ari.hang_up_everything, timeout=10),
                              hold=hold)  # fmt: skip
            figures = report.figures(result)
            if system == "callcontrol":
                figures["metrics"] = report.metrics()
        finally:
            figures_extra = self.stop_callcontrol() if system == "callcontrol" else {}
            setup.patient(self.ari.hang_up_everything, timeout=10)
        figures.update(figures_extra)
        figures["asterisk_log"] = setup.asterisk_warnings(log_offset)
        figures["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
        figures.update(cpu_s=result["cpu_s"], elapsed_s=result["elapsed_s"], capture=result["capture"],
                       before=before, dir=result["dir"])  # fmt: skip
        f = figures
        print(f"  completed {f['completed']}/{f['calls']} failed {f['failed']} {f['failures']} digit end->agent "
              f"p50/p95 {f['digit_end_to_agent_invite_ms']['p50']}/{f['digit_end_to_agent_invite_ms']['p95']} ms, "
              f"cpu/call {f['cpu_ms_per_call']}, busy-rung {f['agents_rung_while_busy']}", file=sys.stderr)  # fmt: skip
        return figures

    def settle(self, timeout: float = 30.0, quiet: float = 1.0) -> dict[str, Any]:
        """Wait until Asterisk has had no channel for `quiet` s (an overloaded Asterisk still carries out a stopped
        callcontrol's queued originates seconds later: they would ring the next load's agents); what was left."""
        deadline = time.monotonic() + timeout
        empty_since = None
        while time.monotonic() < deadline:
            if setup.patient(self.ari.channels):
                empty_since = None
            elif empty_since is None:
                empty_since = time.monotonic()
            elif time.monotonic() - empty_since >= quiet:
                break
            time.sleep(0.2)
        apps = [a.get("name") for a in setup.patient(self.ari.get, "/applications")]
        return {"channels_left": len(setup.patient(self.ari.channels)), "ari_apps": apps}

    def fresh_asterisk(self) -> int:
        """Restart Asterisk before each load, its bench endpoints installed again: every load starts from the same
        Asterisk. One that came through a saturated load stays bigger and slower (session 10: RSS 183 MB -> 567
        -> 808 MB after two 100/s loads that backed up, Asterisk CPU per call x2 in every later load, for either
        system). Returns the RSS (kB) of the Asterisk replaced."""
        rss = load.rss_kb(asterisk_pid())
        done = script("asterisk", "restart")
        if done.returncode != 0:
            raise RuntimeError(f"scripts/asterisk restart failed: {done.stdout}{done.stderr}")
        setup.install(self.args.agents, self.ports.agents)  # the restart put asterisk-conf/ back, without them
        last = setup.extensions(self.args.agents)[-1]
        deadline = time.monotonic() + 15
        while True:
            try:
                if self.ari.endpoint("PJSIP", last).get("state") == "online":
                    return rss
            except OSError:  # not loaded yet (404), or the HTTP server still starting
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the bench endpoints did not come back online after the restart")
            time.sleep(0.2)

    def start_callcontrol(self) -> None:
        """A fresh callcontrol (fresh Redis): its config, the agents logged in on their softphones."""
        config = make_config(
            self.workdir / "config", setup.callcontrol_files(self.args.agents, config_files(**setup.CC_HOTLINE))
        )
        subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "flushall"], capture_output=True)
        passed = {k: v for k, v in os.environ.items() if k in PASSED_ENV}  # e.g. the REST transport to measure
        self.app = AppProcess(self.workdir, config, self.redis_url, app="callcontrol", env=passed).start(
            self.ari, timeout=60
        )
        if self.args.callcontrol_nice and self.app.process:  # its own share of the CPU, as its own container has
            os.setpriority(os.PRIO_PROCESS, self.app.process.pid, self.args.callcontrol_nice)
        time.sleep(1.0)  # the endpoint watcher reads the 300 endpoint states
        self.reachable = setup.login_all(self.redis_url, self.args.agents)
        print(f"  callcontrol up, {self.reachable}/{self.args.agents} agents logged in and reachable", file=sys.stderr)

    def stop_callcontrol(self) -> dict[str, Any]:
        """SIGTERM (how long until it is gone), then drop what its ARI applications left subscribed in Asterisk
        (an app whose websocket closed keeps its endpoint subscription, and Asterisk keeps forwarding to it)."""
        out: dict[str, Any] = {"agents_reachable_at_start": getattr(self, "reachable", None)}
        if self.app and self.app.process:
            sigterm = time.monotonic()
            self.app.stop(timeout=20)
            out["stop_after_sigterm_s"] = round(time.monotonic() - sigterm, 2)
            out["errors_logged"] = sum(1 for line in self.app.lines() if line.get("level") in ("error", "critical"))
            out["rest_over_websocket"] = bool(self.app.events("ari_rest_over_websocket"))  # else every one over HTTP
        self.app = None
        for app in setup.patient(self.ari.get, "/applications"):
            if not str(app.get("name", "")).startswith("callcontrol"):
                continue
            for source in [f"endpoint:{e}" for e in app.get("endpoint_ids", [])] + ["endpoint:PJSIP"]:
                try:
                    self.ari.delete(f"/applications/{app['name']}/subscription", eventSource=source)
                except Exception:  # nothing subscribed there
                    pass
        return out


def parse_args() -> argparse.Namespace:
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", type=ints, default=[10, 100], help="fixed-rate phases, calls/s (default 10,100)")
    p.add_argument("--calls", type=ints, default=[200, 1000], help="calls per fixed phase (one value: for all)")
    p.add_argument("--held", type=int, default=300, help="held calls for the RSS slope (0: skip)")
    p.add_argument("--ramp", type=ints, default=[25, 50, 75, 150, 250], help="ramp steps, calls/s ('': none)")
    p.add_argument("--step-seconds", type=float, default=2.0, help="seconds of arrivals per ramp step")
    p.add_argument("--agents", type=int, default=300)
    p.add_argument("--systems", default="baseline,callcontrol")
    p.add_argument("--keep-asterisk", dest="fresh_asterisk", action="store_false",
                   help="do not restart Asterisk before each load (the default restarts it: see fresh_asterisk)")
    p.add_argument(
        "--callcontrol-nice",
        type=int,
        default=0,
        help="nice value of the callcontrol process (e.g. -5): a saturated Asterisk's threads cannot starve it",
    )
    p.add_argument(
        "--redis-claim",
        action="store_true",
        help="run bench/redis_claim.py (~1 min) instead of folding in its latest figures",
    )
    p.add_argument("--render", type=Path, help="only write the table and the PNG again from a journey JSON")
    return p.parse_args()


def redis_claim(workdir: Path, run: bool) -> dict[str, Any]:
    """bench/redis_claim.py's figures: run now, or the latest ones measured (a journey run's, or its own file)."""
    if run:
        out = workdir / "redis_claim.json"
        done = subprocess.run([sys.executable, str(REPO / "bench" / "redis_claim.py"), "--samples", "500",
                               "--out", str(out), "--label", "journey run"], capture_output=True, text=True,
                              timeout=180)  # fmt: skip
        if done.returncode == 0 and out.exists():
            return {"source": "run now", **json.loads(out.read_text())}
        print(f"redis_claim.py failed: {done.stderr[-500:]}", file=sys.stderr)
    for past in sorted(RESULTS.glob("journey-2*.json"), reverse=True):
        measured = json.loads(past.read_text()).get("redis_claim", {})
        if measured.get("source") == "run now":
            return {**measured, "source": f"run by {past.relative_to(REPO)}"}
    files = sorted(RESULTS.glob("redis_claim-*.json"), key=lambda p: p.stat().st_mtime)
    if not files:
        return {"source": "none"}
    doc = json.loads(files[-1].read_text())
    return {"source": str(files[-1].relative_to(REPO)), "runs": doc.get("after", doc).get("runs")}


class Interrupted(Exception):
    """SIGTERM (e.g. `timeout`): the bench stops, cleans up and writes what it measured."""


def interrupted(signum: int, frame: object) -> None:
    raise Interrupted(f"signal {signum}")


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, interrupted)
    if args.render:
        return report.write(json.loads(args.render.read_text()), RESULTS)
    systems = [s for s in args.systems.split(",") if s]
    calls = {r: (args.calls[i] if i < len(args.calls) else args.calls[-1]) for i, r in enumerate(args.rates)}
    if shutil.which("tcpdump") is None:
        print("the bench takes its time stamps with tcpdump: apt-get install tcpdump", file=sys.stderr)
        return 2
    problem = stack_up()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    for port in (load.CITIZEN_MEDIA_PORT, load.AGENT_MEDIA_PORT):
        if any(udp_port_bound(port + i) for i in range(4)):
            print(f"UDP port {port} (media) is taken", file=sys.stderr)
            return 2
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M")
    workdir = STATE / "bench" / "journey"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    ports = load.Ports(citizen=free_udp_port(), agents=free_udp_port())
    pcap = setup.media_pcap(workdir / "citizen_media.pcap", frames=10, digit_at=DIGIT_AFTER)
    installed = setup.install(args.agents, ports.agents)
    bench = Bench(args, workdir, ports, pcap, f"redis://127.0.0.1:{REDIS_PORT}/0")
    doc: dict[str, Any] = {
        "fixed": [],
        "ramp": {"steps": [], "highest_ok": {}, "first_failed": {}, "rung_while_busy": {}},
    }
    try:
        state = bench.ari.endpoint("PJSIP", setup.extensions(args.agents)[0]).get("state")
        print(f"journey: {args.agents} endpoints installed, PJSIP/2001 is {state}", file=sys.stderr)
        for rate, n in calls.items():
            doc["fixed"].append({"rate": rate, **{s: bench.one(s, f"fixed-{rate}", n, rate) for s in systems}})
        if args.held:
            doc["held"] = {"calls": args.held, **{s: bench.one(s, "held", args.held, 50, hold=True)
                                                  for s in systems}}  # fmt: skip
        alive = set(systems)
        for rate in args.ramp:
            if not alive:
                break
            step: dict[str, Any] = {"rate": rate}
            for s in sorted(alive):
                step[s] = bench.one(s, f"ramp-{rate}", int(rate * args.step_seconds), rate)
                if step[s]["failed"]:
                    alive.discard(s)
                    doc["ramp"]["first_failed"][s] = rate
                else:
                    doc["ramp"]["highest_ok"][s] = rate
            doc["ramp"]["steps"].append(step)
        for s in systems:
            doc["ramp"]["rung_while_busy"][s] = sum(st[s]["agents_rung_while_busy"] for st in doc["ramp"]["steps"]
                                                    if s in st)  # fmt: skip
        doc["ramp"]["stopped_by_failure"] = sorted(set(systems) - alive)
    except Exception as exc:  # the bench could not run: keep what was measured, say so
        doc["error"] = f"{type(exc).__name__}: {exc}"
        print(f"journey: bench failed: {doc['error']}", file=sys.stderr)
    finally:
        if bench.app:
            bench.stop_callcontrol()
        installed.remove()
    doc["redis_claim"] = redis_claim(workdir, args.redis_claim)
    doc["load"] = {"agents": args.agents, "digit_after_s": DIGIT_AFTER, "talk_s": TALK, "prompt": setup.PROMPT,
                   "rates": args.rates, "calls": list(calls.values()), "held": args.held, "ramp": args.ramp,
                   "step_seconds": args.step_seconds, "numbers": NUMBERS}  # fmt: skip
    doc["when"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    doc["machine"] = {"cores": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                      "load_avg": os.getloadavg()}  # fmt: skip
    doc["traces"] = str(workdir)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=1, default=str) + "\n"
    (RESULTS / f"journey-{stamp}.json").write_text(text)
    (RESULTS / "journey-latest.json").write_text(text)
    print(f"written: {RESULTS / f'journey-{stamp}.json'}; traces {workdir}")
    if not doc["fixed"] or not all(s in p for p in doc["fixed"] for s in ("baseline", "callcontrol")):
        return 2
    report.write(doc, RESULTS)
    return 2 if "error" in doc else 0


if __name__ == "__main__":
    sys.exit(main())
