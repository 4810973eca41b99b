"""The busy hour's people: the plan (who calls when, with what patience and conversation), one SIPp process per
citizen (bench/sipp/busy_citizen.xml), and the agents' softphones (endpoints in pjsip_bench.conf, SIPp phones).

The plan is drawn from one seeded random generator, so that a run can be repeated with the same citizens:
- arrivals: a Poisson process conditioned on its count (`calls` arrival times, uniform over the window, sorted);
- conversation: exponential, mean `talk` (the Erlang C assumption), or constant (`constant_talk`);
- patience: exponential, mean `patience` (Palm's Erlang A assumption); it runs from callcontrol's answer (music
  on hold) until an agent is bridged with the citizen, never after.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness import STATE, ari_password
from sipp import LOOPBACK, SippProcess, agent_phone

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "bench" / "sipp" / "busy_citizen.xml"
ASTERISK_ROOT = Path("/var/cache/callcontrol/asterisk-root")
BENCH_CONF = ASTERISK_ROOT / "etc" / "asterisk" / "pjsip_bench.conf"
FIRST_EXTENSION = 2101  # 2101, 2102, ...: not used by the shipped pjsip.conf (1001-1003)


@dataclass(frozen=True)
class Citizen:
    index: int
    at: float  # seconds from the start of the run (scaled)
    patience: float  # seconds (scaled)
    talk: float  # seconds (scaled)

    @property
    def number(self) -> str:
        return f"0622{self.index:06d}"

    @property
    def call_id(self) -> str:
        return f"busy-{self.index:04d}@bench"


def plan(
    calls: int, window: float, talk: float, patience: float, seed: int, constant_talk: bool = False
) -> list[Citizen]:
    """`calls` citizens over `window` seconds (see the module's docstring for the distributions). `constant_talk`:
    every conversation lasts exactly `talk` (the same random draws otherwise: same arrivals and patiences)."""
    rng = random.Random(seed)
    times = sorted(rng.uniform(0, window) for _ in range(calls))
    out = []
    for i, t in enumerate(times):
        wait, conversation = rng.expovariate(1 / patience), rng.expovariate(1 / talk)
        out.append(Citizen(i, round(t, 3), round(wait, 3), round(talk if constant_talk else conversation, 3)))
    return out


# ------------------------------------------------------------------------------------------------ citizens


class CitizenCall:
    """One citizen's SIPp process; `signal_answered` sends it the MESSAGE that ends its patience."""

    def __init__(self, workdir: Path, citizen: Citizen, called: str) -> None:
        self.citizen = citizen
        self.workdir = workdir
        self.called = called
        self.sipp: SippProcess | None = None  # built at start: each one owns a media socket and its thread
        self.signalled = False
        self.exit_code: int | None = None
        self.started_at: float | None = None

    def start(self, now: float) -> None:
        citizen = self.citizen
        name = f"citizen-{citizen.index:04d}"
        directory = self.workdir / name
        directory.mkdir(parents=True, exist_ok=True)
        scenario = directory / SCENARIO.name
        shutil.copyfile(SCENARIO, scenario)  # SippProcess renders the timeouts into this copy
        self.sipp = SippProcess(
            name, self.workdir, str(scenario),
            keys={"caller": citizen.number, "called": self.called},
            timeouts={"abandon": max(1, round(citizen.patience * 1000)), "hangup": max(1, round(citizen.talk * 1000))},
            extra=["-m", "1", "-aa", "-default_behaviors", "all,-bye", "-cid_str", citizen.call_id],
            send_audio=True,  # a real phone sends RTP at once (Asterisk's answer waits for the first frame)
        )  # fmt: skip
        self.started_at = now
        self.sipp.start()

    def stop(self) -> None:
        if self.sipp is not None:
            self.sipp.stop()
            if self.exit_code is None:
                self.exit_code = -9

    def signal_answered(self, sock: socket.socket) -> None:
        """One MESSAGE on the citizen's dialog (its Call-ID) to its SIPp port: the scenario leaves its patience."""
        if self.signalled or self.sipp is None:
            return
        self.signalled = True
        port = sock.getsockname()[1]
        message = (
            f"MESSAGE sip:{self.citizen.number}@{LOOPBACK}:{self.sipp.port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {LOOPBACK}:{port};branch=z9hG4bK-busy-{self.citizen.index}\r\n"
            f"From: <sip:bench@{LOOPBACK}>;tag=bench{self.citizen.index}\r\n"
            f"To: <sip:{self.citizen.number}@{LOOPBACK}>\r\n"
            f"Call-ID: {self.citizen.call_id}\r\n"
            "CSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(message.encode(), (LOOPBACK, self.sipp.port))

    def poll(self) -> bool:
        """Whether the process has ended (then its media socket is closed and its exit code kept)."""
        if self.sipp is None or self.sipp.proc is None:
            return False
        code = self.sipp.proc.poll()
        if code is None:
            return False
        if self.exit_code is None:
            self.exit_code = code
            self.sipp.stop()
        return True

    def ctl_words(self) -> list[str]:
        """What the scenario noted: answered / talking / abandoned / ended."""
        if self.sipp is None:
            return []
        try:
            return [line.split()[0] for line in self.sipp.ctl.read_text().splitlines() if line.strip()]
        except FileNotFoundError:
            return []


# ------------------------------------------------------------------------------------------------ agents


def extensions(agents: int) -> list[str]:
    return [str(FIRST_EXTENSION + i) for i in range(agents)]


def bench_endpoints(exts: list[str]) -> str:
    """pjsip_bench.conf: one softphone per extension, from the shipped agent templates (same password)."""
    out = ["; written by bench/busy_hour.py for one run; removed at its end"]
    for ext in exts:
        out += [f"[{ext}](agent-endpoint)", f"auth = {ext}", f"aors = {ext}", f'callerid = "Bench {ext}" <{ext}>',
                f"[{ext}](agent-auth)", f"username = {ext}", f"[{ext}](agent-aor)", ""]  # fmt: skip
    return "\n".join(out) + "\n"


def asterisk_rx(command: str) -> str:
    done = subprocess.run(["chroot", str(ASTERISK_ROOT), "asterisk", "-rx", command],
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    return done.stdout + done.stderr


def install_endpoints(exts: list[str]) -> None:
    BENCH_CONF.write_text(bench_endpoints(exts))
    asterisk_rx("module reload res_pjsip.so")


def remove_endpoints() -> None:
    BENCH_CONF.unlink(missing_ok=True)
    asterisk_rx("module reload res_pjsip.so")


def agent_phones(workdir: Path, exts: list[str], answer_after: float) -> list[SippProcess]:
    """One registered SIPp softphone per extension: rings `answer_after` s, answers, never hangs up itself (the
    citizen ends the conversation), sends no RTP."""
    return [agent_phone(workdir, ext, answer_after=answer_after, send_audio=False) for ext in exts]


def log_in(config_dir: Path, redis_url: str, agents: list[str], workers: int = 3, timeout: float = 120) -> None:
    """`callcontrol agent login AGENT --device softphone` for each agent, a few at a time (hotline_kit.logins
    starts them all at once with a 20 s timeout: too tight for 14 on a loaded 2-core box)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")}
    env |= {"CALLCONTROL_REDIS_URL": redis_url, "CALLCONTROL_ARI_PASSWORD": ari_password()}

    def one(agent: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "callcontrol", "--config", str(config_dir), "--secrets", "/nonexistent", "agent",
             "login", agent, "--device", "softphone"], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"login {agent}: {done.stdout}{done.stderr}")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(one, agent) for agent in agents]:
            future.result()


def workdir_for(run: str) -> Path:
    path = STATE / "bench" / "busy_hour" / run
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
