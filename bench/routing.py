"""Routing benchmark: the same citizens' load through callcontrol and through Asterisk's own app_queue.

Run (the machine's single Asterisk is shared: hold the integration lock):

    flock -o /var/tmp/callcontrol/it.lock .venv/bin/python bench/routing.py [--calls N] [--rate CPS]

Two phases in one run, same SIPp load, same three softphones (1001-1003, answer after 0.2 s, hang up 1 s later):
  baseline     0556000098 -> dialplan [bench-baseline]: Answer, Queue(bench-baseline) (leastrecent, wrapuptime 0)
  callcontrol  0556000000 -> callcontrol (one instance, flow that enqueues at once, agents logged in, wrap_up 0)
Per call, routing delay = the agent's phone receiving its INVITE - the citizen's INVITE being sent, both taken from
SIPp -trace_msg files (same wall clock); each citizen has its own caller number so that the two ends match up.
Reported as ratios callcontrol / baseline; see bench/README.md. Writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import redis  # noqa: E402
from appproc import AppProcess, make_config  # noqa: E402
from harness import REDIS_PORT, STATE, Ari  # noqa: E402
from hotline_kit import HOTLINE, config_files, hanging_up_agent, login, percentile  # noqa: E402
from sipp import SippProcess, parse_trace, unregister  # noqa: E402
from stack_up import stack_up  # noqa: E402

PHONES = {"alice": "1001", "bruno": "1002", "chloe": "1003"}
BASELINE_NUMBER = "0556000098"
PUBLIC_NUMBER = "0556000000"
ANSWER_AFTER = 0.2  # the agent's phone rings that long
TALK = 1.0  # then hangs up that long after answering (after callcontrol's whisper, a beep)
# callcontrol's wrap_up and app_queue's wrapuptime (queues.conf): 0 in both. app_queue counts wrap-up in whole
# seconds against time(NULL) (measured: next INVITE 0.79 s after a BYE with wrapuptime=1), callcontrol to the ms:
# any other value would compare the two wrap-up clocks, not the routing.
WRAP_UP = 0
# etat-civil in callcontrol: a short whisper (the default spoken one outlasts a short test call: the agent would
# hang up during it, a no-answer), no auto-pause, the same wrap-up and ring time as the baseline queue.
CC_HOTLINE = {"whisper": ["beep"], "wrap_up": WRAP_UP, "ring_timeout": 15, "max_wait": 300, "max_misses": 0}
CLK_TCK = os.sysconf("SC_CLK_TCK")
RESULTS = REPO / "bench" / "results"


# ------------------------------------------------------------------------------------------------ /proc readings


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (/proc/PID/stat fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def vm_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def asterisk_pid() -> int:
    pid = int((STATE / "asterisk.pid").read_text().strip())
    os.kill(pid, 0)
    return pid


# ------------------------------------------------------------------------------------------------ members


def with_members(files: dict[str, str], members: int) -> dict[str, str]:
    """agents.yaml with the hotline grown to `members` agents: the three softphones, plus agents on a mobile only
    (penalty 1), logged in and then paused by `pause_extras`: members who cannot take a call, the everyday
    picture of a large city's hotline, that a per-member scan would still read for every citizen."""
    doc = json.loads(files["agents.yaml"])
    extra = [{"id": f"extra{i:04d}", "name": f"Extra {i}", "mobile": f"+3361{i:07d}", "hotlines": {HOTLINE: 1}}
             for i in range(max(0, members - len(PHONES)))]
    doc["agents"] = [a for a in doc["agents"] if a["id"] in PHONES] + extra
    return {**files, "agents.yaml": json.dumps(doc, ensure_ascii=False)}


def pause_extras(redis_url: str, members: int) -> None:
    import asyncio

    from redis.asyncio import Redis as AsyncRedis

    sys.path.insert(0, str(REPO))
    from callcontrol.state import StateLayer

    async def go() -> None:
        client = AsyncRedis.from_url(redis_url, decode_responses=True)
        state = StateLayer.create(client)
        for i in range(max(0, members - len(PHONES))):
            await state.agents.login(f"extra{i:04d}", "mobile", by="bench")
            await state.agents.pause(f"extra{i:04d}", "bench", by="bench")
        await client.aclose()

    asyncio.run(go())


# ------------------------------------------------------------------------------------------------ load


def caller_number(i: int) -> str:
    return f"0611{i:06d}"


def crowd(workdir: Path, called: str, calls: int, rate: float, audio: bool) -> SippProcess:
    """`calls` citizens from one SIPp (citizen_uac.xml), each with its own number (0611000000, ...).

    `audio`: each citizen sends RTP once answered, as a real phone does. A silent citizen costs app_queue's baseline
    ~500 ms per call that is not routing at all: Asterisk's Answer() (main/channel.c, __ast_answer) waits up to
    500 ms for the caller's first media frame ("Didn't receive a media frame ... within 500 ms of answering")."""
    sipp = SippProcess(
        "crowd",
        workdir,
        "citizen_uac.xml",
        keys={"caller": "0611999999", "called": called},
        timeouts={"hangup": 120_000},  # the agent hangs up; this is only a safety net
        extra=["-m", str(calls), "-l", str(calls), "-r", str(max(1, round(rate * 10))), "-rp", "10000",
               "-aa", "-default_behaviors", "all,-bye"],
        send_audio=audio,
    )  # fmt: skip
    scenario = sipp.dir / "citizen_uac.xml"
    scenario.write_text(scenario.read_text().replace("[caller]", "[field0]"))
    csv = sipp.dir / "callers.csv"
    csv.write_text("SEQUENTIAL\n" + "".join(f"{caller_number(i)};\n" for i in range(calls)))
    sipp.argv += ["-inf", str(csv)]
    return sipp.start()


def stamp(timestamp: str) -> float:
    return dt.datetime.strptime(timestamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()


def user_of(header: str | None) -> str:
    """The last 9 digits of a From's user part (0611000001 and +33611000001 are one caller)."""
    if not header:
        return ""
    user = header.split("sip:", 1)[-1].split("@", 1)[0]
    return "".join(c for c in user if c.isdigit())[-9:]


def analyse(crowd_proc: SippProcess, phones: list[SippProcess]) -> dict[str, Any]:
    """Per citizen: first INVITE sent, final answer to it; per agent INVITE received: its caller; then delays."""
    sent: dict[str, float] = {}  # caller -> first INVITE sent
    final: dict[str, int] = {}  # call-id -> final status to the initial INVITE
    caller_of_call: dict[str, str] = {}
    for m in parse_trace(crowd_proc.message_file):
        cid = m.call_id or ""
        if m.direction == "sent" and m.method == "INVITE" and cid not in caller_of_call:
            caller_of_call[cid] = user_of(m.from_)
            sent.setdefault(caller_of_call[cid], stamp(m.timestamp))
        elif m.direction == "received" and m.status and m.status >= 200 and m.cseq_method == "INVITE":
            final.setdefault(cid, m.status)
    rang: dict[str, float] = {}  # caller -> first INVITE received by any agent phone
    per_phone: dict[str, int] = {}
    for phone in phones:
        seen: set[str] = set()
        for m in parse_trace(phone.message_file):
            if m.direction == "received" and m.method == "INVITE" and m.call_id not in seen:
                seen.add(m.call_id or "")
                caller, at = user_of(m.from_), stamp(m.timestamp)
                rang[caller] = min(at, rang.get(caller, at))
        per_phone[phone.name] = len(seen)
    delays = [(rang[c] - t) * 1000 for c, t in sent.items() if c in rang]
    answered = {caller_of_call[cid] for cid, status in final.items() if status == 200}
    completed = len(answered & set(rang))
    return {
        "calls_sent": len(sent),
        "completed": completed,
        "failed": len(sent) - completed,
        "final_statuses": {str(s): list(final.values()).count(s) for s in sorted(set(final.values()))},
        "agent_invites_per_phone": per_phone,
        "routing_delay_ms": {
            "n": len(delays),
            "p50": round(percentile(delays, 0.5), 2),
            "p95": round(percentile(delays, 0.95), 2),
            "max": round(max(delays), 2) if delays else float("nan"),
        },
    }


# ------------------------------------------------------------------------------------------------ phases


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy (the bench extra) sampling callcontrol for `seconds`, collapsed stacks in `out`; None without it."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy not installed (pip install -e '.[bench]'): no profile", file=sys.stderr)
        return None
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
                             "--rate", "200", "--format", "raw", "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def hot_spots(raw: Path, top: int = 15) -> list[dict[str, Any]]:
    """Share of samples per function of ours (inclusive: on the stack), from py-spy's collapsed stacks."""
    counts: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        seen = set()
        for frame in stack.split(";"):
            name = frame.split(" (")[0] + " " + frame.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1]
            if ("callcontrol/" in frame or "redis/" in frame or "aiohttp/" in frame) and name not in seen:
                seen.add(name)
                counts[name] = counts.get(name, 0) + int(n)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return [{"function": k, "share": round(v / total, 3)} for k, v in ranked] if total else []


def run_phase(
    name: str, workdir: Path, calls: int, rate: float, ari: Ari, redis_url: str, *, audio: bool, spy: bool,
    members: int,
) -> dict[str, Any]:
    workdir.mkdir(parents=True)
    redis.Redis.from_url(redis_url).flushall()
    app: AppProcess | None = None
    phones: list[SippProcess] = []
    try:
        phones = [hanging_up_agent(workdir, x, answer_after=ANSWER_AFTER, hangup_after=TALK) for x in PHONES.values()]
        if name == "callcontrol":
            config = make_config(workdir / "config", with_members(config_files(**CC_HOTLINE), members))
            app = AppProcess(workdir, config, redis_url, app="callcontrol").start(ari)
            for agent in PHONES:
                login(config, redis_url, agent)
            pause_extras(redis_url, members)
        time.sleep(0.5)  # let the logins / device states settle
        ast = asterisk_pid()
        ast_cpu0 = cpu_seconds(ast)
        app_cpu0 = cpu_seconds(app.process.pid) if app and app.process else 0.0
        began = time.monotonic()
        called = PUBLIC_NUMBER if name == "callcontrol" else BASELINE_NUMBER
        load = crowd(workdir, called, calls, rate, audio)
        budget = calls / rate + 60
        spying = profile(app.process.pid, calls / rate + 3, workdir / "py-spy.txt") if spy and app and app.process \
            else None
        exit_code = None
        while time.monotonic() - began < budget:
            exit_code = load.proc.poll() if load.proc else None
            if exit_code is not None:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - began
        result: dict[str, Any] = {"number": called, "elapsed_s": round(elapsed, 1), "sipp_exit": exit_code}
        result["asterisk_cpu_s"] = round(cpu_seconds(ast) - ast_cpu0, 3)
        if app and app.process:
            result["callcontrol_cpu_s"] = round(cpu_seconds(app.process.pid) - app_cpu0, 3)
            result["callcontrol_vmhwm_kb"] = vm_kb(app.process.pid, "VmHWM")
            result["callcontrol_errors"] = len([line for line in app.lines() if line.get("level") == "error"])
        load.stop()
        if spying is not None:
            spying.wait(30)
            if (workdir / "py-spy.txt").exists():
                result["profile"] = hot_spots(workdir / "py-spy.txt")
        result.update(analyse(load, phones))
        done = max(1, result["completed"])
        result["asterisk_cpu_ms_per_call"] = round(result["asterisk_cpu_s"] * 1000 / done, 2)
        if "callcontrol_cpu_s" in result:
            result["callcontrol_cpu_ms_per_call"] = round(result["callcontrol_cpu_s"] * 1000 / done, 2)
            result["callcontrol_vmhwm_kb_per_call"] = round(result["callcontrol_vmhwm_kb"] / done, 1)
        if app:
            sigterm = time.monotonic()
            app.stop()  # SIGTERM; how long until the process is gone
            result["callcontrol_stop_s"] = round(time.monotonic() - sigterm, 2)
        return result
    finally:
        if app:
            app.stop()
        for phone in phones:
            phone.stop()
        ari.hang_up_everything()
        for ext in PHONES.values():
            unregister(workdir, ext)


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=30, help="citizens per phase (default 30)")
    parser.add_argument("--rate", type=float, default=1.0, help="new calls per second (default 1.0)")
    parser.add_argument("--silent", action="store_true",
                        help="citizens send no RTP (app_queue's Answer() then waits 500 ms per call)")
    parser.add_argument("--profile", action="store_true", help="py-spy on callcontrol during its phase")
    parser.add_argument("--members", type=int, default=300,
                        help="hotline members in callcontrol: 3 softphones + paused mobile-only agents")
    args = parser.parse_args()

    problem = stack_up()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    ari = Ari()
    redis_url = f"redis://127.0.0.1:{REDIS_PORT}/0"
    workdir = STATE / "bench" / "routing"
    shutil.rmtree(workdir, ignore_errors=True)

    phases = {}
    for name in ("baseline", "callcontrol"):
        print(f"routing bench: {name} phase, {args.calls} calls at {args.rate}/s ...", file=sys.stderr)
        phases[name] = run_phase(name, workdir / name, args.calls, args.rate, ari, redis_url,
                                 audio=not args.silent, spy=args.profile, members=args.members)
    base, cc = phases["baseline"], phases["callcontrol"]
    ratios = {
        **{f"routing_delay_{q}": ratio(cc["routing_delay_ms"][q], base["routing_delay_ms"][q])
           for q in ("p50", "p95", "max")},
        "completed": ratio(cc["completed"], base["completed"]),
        "asterisk_cpu_per_call": ratio(cc["asterisk_cpu_ms_per_call"], base["asterisk_cpu_ms_per_call"]),
    }  # fmt: skip
    report = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
                    "asterisk": ari.version()},
        "load": {"calls": args.calls, "rate_per_s": args.rate, "agents": 3, "answer_after_s": ANSWER_AFTER,
                 "talk_s": TALK, "wrap_up_s": WRAP_UP, "citizens_send_rtp": not args.silent,
                 "callcontrol_members": args.members},
        "phases": phases,
        "ratios_callcontrol_over_baseline": ratios,
        "traces": str(workdir),
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=1) + "\n")
    dated = RESULTS / f"routing-{dt.datetime.now(dt.UTC).strftime('%Y-%m-%dT%H%M')}.json"
    dated.write_text(json.dumps(report, indent=1) + "\n")

    rows = [
        ("routing delay p50 (ms)", base["routing_delay_ms"]["p50"], cc["routing_delay_ms"]["p50"]),
        ("routing delay p95 (ms)", base["routing_delay_ms"]["p95"], cc["routing_delay_ms"]["p95"]),
        ("routing delay max (ms)", base["routing_delay_ms"]["max"], cc["routing_delay_ms"]["max"]),
        ("calls completed", base["completed"], cc["completed"]),
        ("calls failed", base["failed"], cc["failed"]),
        ("Asterisk CPU per call (ms)", base["asterisk_cpu_ms_per_call"], cc["asterisk_cpu_ms_per_call"]),
    ]
    print(f"{'':28} {'baseline':>10} {'callcontrol':>12} {'ratio':>7}")
    for label, b, c in rows:
        r = ratio(c, b) if isinstance(b, int | float) and isinstance(c, int | float) else None
        print(f"{label:28} {b:>10} {c:>12} {'' if r is None else r:>7}")
    print(f"callcontrol peak RSS (VmHWM) {cc.get('callcontrol_vmhwm_kb', 0) / 1024:.1f} MiB "
          f"({cc.get('callcontrol_vmhwm_kb_per_call')} kB per completed call); "
          f"callcontrol CPU {cc.get('callcontrol_cpu_ms_per_call')} ms per call; "
          f"stopped {cc.get('callcontrol_stop_s')} s after SIGTERM")  # fmt: skip
    for spot in cc.get("profile", [])[:10]:
        print(f"  py-spy {spot['share']:>6.1%}  {spot['function']}")
    print(f"written: {RESULTS / 'latest.json'}; traces: {workdir}")
    return 0 if base["failed"] == 0 and cc["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
