"""Helpers for the hotline routing tests (test_app_hotlines.py): short configs, agent logins, Redis presence,
and checks on SIP traces (dialog overlap per phone, numbers that must never appear)."""

from __future__ import annotations

import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
from harness import REPO, ari_password
from sipp import SipMessage, SippProcess, agent_phone

HOTLINE = "etat-civil"
PUBLIC_NUMBER = "+33556000000"

# A flow that queues at once: no welcome, no menu, no schedule (the tests run at any hour).
ENQUEUE_FLOW = f"""entry: {{inbound: main}}
flows:
  main:
    - enqueue: {HOTLINE}
    - hangup
"""

OTHER_HOTLINES = ("urbanisme", "services-techniques", "ccas", "standard", "astreinte")

# Every demo agent serves etat-civil in these tests (penalty 0), devices as in config/agents.yaml.
AGENTS = {
    "alice": {"name": "Alice Martin", "softphone": "1001"},
    "bruno": {"name": "Bruno Petit", "softphone": "1002"},
    "chloe": {"name": "Chloé Bernard", "softphone": "1003"},
    "damien": {"name": "Damien Roux", "mobile": "+33612000001"},
    "emma": {"name": "Emma Girard", "mobile": "+33612000002"},
}
# What must never reach a citizen: extensions, mobile numbers, endpoint caller names, agent ids.
AGENT_IDENTITIES = ("1001", "1002", "1003", "612000001", "612000002", "Poste", "alice", "bruno", "damien", "emma")

FAST = {
    "ring_timeout": 3,
    "accept_timeout": 2,
    "wrap_up": 1,
    "max_wait": 60,
    "announce_first": 60,
    "announce_interval": 0,
    "announce_wait": False,
}


def hotlines_yaml(**etat_civil: Any) -> str:
    """config/hotlines.yaml with etat-civil tuned for a test (JSON is YAML). No `schedule:`: the hotline is open
    at any hour, so the routing tests run whenever they run (hours have tests of their own)."""
    body = {**FAST, **etat_civil}
    doc = {"hotlines": {HOTLINE: body, **{h: {} for h in OTHER_HOTLINES}}}
    return json.dumps(doc, ensure_ascii=False)


def agents_yaml() -> str:
    agents = [{"id": a, **fields, "hotlines": {HOTLINE: 0}} for a, fields in AGENTS.items()]
    return json.dumps({"agents": agents}, ensure_ascii=False)


def config_files(**hotline: Any) -> dict[str, str]:
    return {
        "flows/main.yaml": ENQUEUE_FLOW,
        "hotlines.yaml": hotlines_yaml(**hotline),
        "agents.yaml": agents_yaml(),
    }


# ------------------------------------------------------------------------------------------------ agents and Redis


def agent_cli(config_dir: Path, redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`callcontrol agent ARGS...` as an agent (or the switchboard) would type it, with the ARI password (so that
    a softphone login is checked against Asterisk)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCONTROL_")}
    env["CALLCONTROL_REDIS_URL"] = redis_url
    env["CALLCONTROL_ARI_PASSWORD"] = ari_password()
    return subprocess.run(
        [sys.executable, "-m", "callcontrol", "--config", str(config_dir), "--secrets", "/nonexistent", "agent", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=20,
    )  # fmt: skip


def login(config_dir: Path, redis_url: str, agent: str, device: str = "softphone") -> None:
    """`callcontrol agent login AGENT --device DEVICE`, which must succeed."""
    done = agent_cli(config_dir, redis_url, "login", agent, "--device", device)
    assert done.returncode == 0, f"login {agent}: {done.stdout}{done.stderr}"


def logins(config_dir: Path, redis_url: str, agents: Iterable[str], device: str = "softphone") -> None:
    """`login` for several agents side by side (one CLI process each, as several agents would type it at once):
    each must succeed. Saves a CLI start-up (~1 s) per agent over logging them in one after the other."""
    agents = list(agents)
    with ThreadPoolExecutor(max_workers=max(1, len(agents))) as pool:
        for future in [pool.submit(login, config_dir, redis_url, agent, device) for agent in agents]:
            future.result()


def presence(redis_url: str, agent: str) -> dict[str, str]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return client.hgetall(f"cc:agent:{agent}:presence")
    finally:
        client.close()


def waiting(redis_url: str, hotline: str = HOTLINE) -> list[str]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return client.zrange(f"cc:hotline:{hotline}:waiting", 0, -1)
    finally:
        client.close()


def journal(redis_url: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [json.loads(fields["json"]) for _id, fields in client.xrange("cc:journal")]
    finally:
        client.close()


# ------------------------------------------------------------------------------------------------ SIP traces


def tokens(message: SipMessage) -> set[str]:
    """Words of the whole message (start line, headers, body), split on anything but letters, digits and +."""
    return set(re.split(r"[^A-Za-z0-9+]+", message.text))


def leaks(messages: Iterable[SipMessage], forbidden: Iterable[str]) -> list[str]:
    """Messages received that carry one of `forbidden` as (part of) a word: ["INVITE ...: 1001", ...]."""
    forbidden = tuple(forbidden)
    found = []
    for m in messages:
        if m.direction != "received":
            continue
        for word in tokens(m):
            hit = next((f for f in forbidden if f.lower() in word.lower() and _whole(f, word)), None)
            if hit:
                found.append(f"{m.start_line} [{m.cseq_method}]: {hit!r} in {word!r}")
    return found


def _whole(needle: str, word: str) -> bool:
    """Digits must not be part of a longer number (a port 21001 is not extension 1001); names match as words."""
    if needle.isdigit():
        return re.search(rf"(?<!\d){re.escape(needle)}(?!\d)", word) is not None and not re.fullmatch(
            r"[0-9a-f]{8,}", word
        )
    return word.lower() == needle.lower()


def dialogs(messages: list[SipMessage], key=lambda m: "phone") -> dict[str, list[tuple[str, str, str]]]:
    """Per phone (key of the initial INVITE): (start, end, call-id) of each dialog the UAS took part in, from the
    trace timestamps. Start = the initial INVITE received; end = BYE sent/received, CANCEL, or an error sent."""
    starts: dict[str, tuple[str, str]] = {}
    ends: dict[str, str] = {}
    for m in messages:
        cid = m.call_id or ""
        if m.method == "INVITE" and m.direction == "received" and cid not in starts:
            starts[cid] = (m.timestamp, key(m))
        elif m.method in ("BYE", "CANCEL") or (m.status and m.status >= 300 and m.direction == "sent"):
            ends.setdefault(cid, m.timestamp)
    out: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for cid, (start, phone) in starts.items():
        out[phone].append((start, ends.get(cid, "9999"), cid))
    return {phone: sorted(spans) for phone, spans in out.items()}


def overlaps(spans: list[tuple[str, str, str]]) -> list[str]:
    """Dialogs of one phone that overlap in time (a second INVITE before the previous dialog ended)."""
    bad = []
    for (_s1, e1, c1), (s2, _e2, c2) in itertools.pairwise(spans):
        if s2 < e1:
            bad.append(f"{c2} started {s2} before {c1} ended {e1}")
    return bad


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def latency_summary(lines: list[dict[str, Any]]) -> dict[str, float]:
    values = [float(line["routing_latency_ms"]) for line in lines]
    return {
        "n": len(values),
        "p50_ms": statistics.median(values) if values else float("nan"),
        "p95_ms": percentile(values, 0.95),
        "max_ms": max(values) if values else float("nan"),
    }


# ------------------------------------------------------------------------------------------------ SIPp extras


def hanging_up_agent(workdir: Path, user: str, *, answer_after: float, hangup_after: float) -> SippProcess:
    """An agent softphone that answers every call and hangs each one up itself `hangup_after` s after answering."""
    return agent_phone(workdir, user, answer_after=answer_after, hangup_after=hangup_after, send_audio=False)


def hanging_up_agents(
    people: Any, workdir: Path, exts: Iterable[str], *, answer_after: float, hangup_after: float
) -> list[SippProcess]:
    """`hanging_up_agent` phones for these extensions, handed to the `people` fixture for teardown (killed, then
    unregistered)."""
    phones = [hanging_up_agent(workdir, ext, answer_after=answer_after, hangup_after=hangup_after) for ext in exts]
    for phone in phones:
        people.processes.append(phone)
        people.registered.append(phone.name.removeprefix("agent-"))
    return phones


def citizen_crowd(
    workdir: Path, calls: int, *, rate: int, hangup_after: float, caller: str = "0612345678", name: str = "crowd"
) -> SippProcess:
    """`calls` citizens from one SIPp process (citizen_uac.xml, -m/-l/-r), silent (no RTP sent), all calling from
    `caller` (a flow's `when_caller` can send each crowd to its own hotline)."""
    sipp = SippProcess(
        name,
        workdir,
        "citizen_uac.xml",
        keys={"caller": caller, "called": "0556000000"},
        timeouts={"hangup": int(hangup_after * 1000)},
        extra=["-m", str(calls), "-l", str(calls), "-r", str(rate), "-aa", "-default_behaviors", "all,-bye"],
        send_audio=False,
    )
    return sipp.start()


class ReservationWatch(threading.Thread):
    """Samples Redis every `every` s during a run: an agent held by two calls at once (cc:call:{c}:agents, read in
    one MULTI so that the snapshot is consistent) is a violation. `client` (called before each sample) gives the
    Redis to read, e.g. the current master of a Sentinel; a sample that fails is counted in `errors`."""

    def __init__(self, redis_url: str, every: float = 0.02, client: Callable[[], redis.Redis] | None = None) -> None:
        super().__init__(daemon=True, name="reservation-watch")
        self.redis_url = redis_url
        self.every = every
        self.client = client
        self.samples = 0
        self.errors = 0
        self.max_calls_seen = 0
        self.violations: list[str] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        own = redis.Redis.from_url(self.redis_url, decode_responses=True) if self.client is None else None
        try:
            while not self._stop_event.is_set():
                try:
                    self._sample(own or self.client())
                except redis.RedisError:
                    self.errors += 1
                time.sleep(self.every)
        finally:
            if own is not None:
                own.close()

    def _sample(self, client: redis.Redis) -> None:
        calls = sorted(client.smembers("cc:calls"))
        pipe = client.pipeline(transaction=True)
        for call in calls:
            pipe.smembers(f"cc:call:{call}:agents")
        held: dict[str, list[str]] = defaultdict(list)
        for call, agents in zip(calls, pipe.execute() if calls else [], strict=True):
            for agent in agents:
                held[agent].append(call)
        self.violations += [f"{agent} held by {cs}" for agent, cs in held.items() if len(cs) > 1]
        self.samples += 1
        self.max_calls_seen = max(self.max_calls_seen, len(calls))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)
