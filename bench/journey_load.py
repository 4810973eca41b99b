"""One load of bench/journey.py: N citizens at R calls/s against one system, captured on lo, with /proc readings.

SIPp does all the SIP and media (bench/sipp/): one UAC for the citizens (each its own number, -inf), one UAS for
every agent phone. Python only starts processes, samples /proc and parses the captures afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import capture

SIPP = shutil.which("sipp") or "/usr/bin/sipp"
SCENARIOS = Path(__file__).resolve().parent / "sipp"
CLK_TCK = os.sysconf("SC_CLK_TCK")
CITIZEN_MEDIA_PORT = 32100  # above Asterisk's RTP range (10000-31999), below Linux's ephemeral ports (32768+)
AGENT_MEDIA_PORT = 32200
FOREVER_MS = 3_600_000


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (/proc/PID/stat fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def render(name: str, out: Path, **values: str) -> Path:
    text = (SCENARIOS / name).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    target = out / name
    target.write_text(text)
    return target


@dataclass(frozen=True)
class Target:
    """Where the load goes: the number dialled, and the processes whose CPU/RSS are read (callcontrol's pid is
    read in every load, baseline included: idle, it shows what a callcontrol that waits costs)."""

    system: str
    number: str
    asterisk_pid: int
    callcontrol_pid: int | None


@dataclass(frozen=True)
class Ports:
    citizen: int  # the citizens' SIP port
    agents: int  # the agents' UAS SIP port (the endpoints' static contact)


def sipp(argv: list[str], out: Path, name: str) -> subprocess.Popen[bytes]:
    log = (out / f"{name}.out").open("wb")
    (out / f"{name}.command").write_text(" ".join(argv) + "\n")
    return subprocess.Popen(argv, cwd=out, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "TERM": "dumb"})  # fmt: skip


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc and proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)


def run(
    target: Target,
    out: Path,
    *,
    calls: int,
    rate: float,
    ports: Ports,
    pcap: Path,
    first_number: int,
    talk: float,
    hang_up: Callable[[], object],
    hold: bool = False,
    sample_every: int = 50,
    drain: float = 15.0,
) -> dict[str, Any]:
    """Place `calls` calls at `rate`/s, wait until they are over (or, `hold`, until all are up: citizens and agents
    never hang up, RSS sampled every `sample_every` calls), then parse the captures into per-call records."""
    out.mkdir(parents=True, exist_ok=True)
    callers = [f"0{first_number + i:09d}" for i in range(calls)]
    (out / "callers.csv").write_text("SEQUENTIAL\n" + "".join(f"{c};\n" for c in callers))
    agent_xml = render("journey_agent.xml", out, TALK_MS=str(FOREVER_MS if hold else int(talk * 1000)))
    citizen_xml = render("journey_citizen.xml", out, PCAP=str(pcap), HOLD_MS=str(FOREVER_MS if hold else 60_000))
    sip_cap = capture.Tcpdump(out / "sip.pcap", f"udp port {capture.SIP_PORT}")
    rtp_cap = capture.Tcpdump(out / "rtp.pcap", f"udp port {CITIZEN_MEDIA_PORT}", snaplen=64)
    agents = citizens = None
    samples: list[dict[str, float]] = []
    try:
        sip_cap.wait_ready()
        rtp_cap.wait_ready()
        agents = sipp([SIPP, "-sf", str(agent_xml), "-i", "127.0.0.1", "-p", str(ports.agents), "-mi", "127.0.0.1",
                       "-mp", str(AGENT_MEDIA_PORT), "-nostdin", "-aa", "-trace_err"],
                      out, "agents")  # fmt: skip
        time.sleep(0.3)
        pids = {"asterisk": target.asterisk_pid, "callcontrol": target.callcontrol_pid}
        cpu0 = {k: cpu_seconds(p) for k, p in pids.items() if p}
        began = time.monotonic()
        citizens = sipp([SIPP, f"127.0.0.1:{capture.SIP_PORT}", "-sf", str(citizen_xml), "-i", "127.0.0.1",
                         "-p", str(ports.citizen), "-mi", "127.0.0.1", "-mp", str(CITIZEN_MEDIA_PORT),
                         "-m", str(calls), "-l", str(calls), "-r", str(max(1, round(rate))), "-rp", "1000",
                         "-inf", str(out / "callers.csv"), "-key", "called", target.number, "-nostdin", "-aa",
                         "-default_behaviors", "all,-bye", "-trace_err"], out, "citizens")  # fmt: skip
        launch = calls / rate
        if hold:
            step = sample_every / rate
            next_at = 0.0
            while time.monotonic() - began < launch + 4.0:
                elapsed = time.monotonic() - began
                if elapsed >= next_at:
                    samples.append({"t": time.time(), **{f"{k}_kb": rss_kb(p) for k, p in pids.items() if p}})
                    next_at += step
                time.sleep(0.05)
            samples.append({"t": time.time(), **{f"{k}_kb": rss_kb(p) for k, p in pids.items() if p}})
        else:
            while time.monotonic() - began < launch + drain and citizens.poll() is None:
                time.sleep(0.1)
        elapsed = time.monotonic() - began
        cpu = {k: cpu_seconds(p) - cpu0[k] for k, p in pids.items() if p}
        sipp_exit = citizens.poll()
    finally:
        # Hang up what is left while both SIPp are still there to answer the BYEs: killed first, they would leave
        # Asterisk retransmitting BYEs for 32 s (to the next load's UAS on the same port) and its dialogs up.
        try:
            hang_up()
        finally:
            stop(citizens)
            stop(agents)
            time.sleep(0.3)
            drops = {"sip": sip_cap.stop(), "rtp": rtp_cap.stop()}
    seen = capture.journey(out / "sip.pcap", out / "rtp.pcap", ports.citizen, ports.agents, CITIZEN_MEDIA_PORT,
                           {capture.caller_key(c) for c in callers})  # fmt: skip
    result: dict[str, Any] = {"system": target.system, "calls_planned": calls, "rate": rate, "hold": hold,
                              "elapsed_s": round(elapsed, 2), "sipp_exit": sipp_exit, "capture": drops,
                              "cpu_s": {k: round(v, 3) for k, v in cpu.items()}, "dir": str(out)}  # fmt: skip
    result.update(seen)
    if hold:
        for s in samples:  # calls up at each sample: agents that answered before it (nobody hangs up)
            s["calls_up"] = sum(1 for c in seen["calls"] if c.agent_answered and c.agent_answered <= s["t"])
        result["rss_samples"] = samples
    return result
