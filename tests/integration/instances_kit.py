"""Helpers for the several-instances load test (test_instances.py): a configuration with three hotlines of three
strategies and agents shared between them, and a recorder of the state events channel (cc:events) with the checks
made on it: first come first served within each hotline, never one call offered twice at once, every call served."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from hotline_kit import FAST, OTHER_HOTLINES

# hotline -> (strategy, the number its citizens call from: the flow sends each caller to its hotline)
HOTLINES = {
    "etat-civil": ("longest_idle", "0612345678"),
    "standard": ("ring_all", "0611000001"),
    "urbanisme": ("linear", "0611000002"),
}
# Agents shared between the hotlines (penalties: linear rings the lowest first); mobiles answer through the
# carrier UAS and accept with 1.
AGENTS = {
    "alice": ({"softphone": "1001"}, {"etat-civil": 0, "standard": 0}),
    "bruno": ({"softphone": "1002"}, {"etat-civil": 0, "standard": 0, "urbanisme": 1}),
    "chloe": ({"softphone": "1003"}, {"standard": 0, "urbanisme": 0}),
    "damien": ({"mobile": "+33612000001"}, {"etat-civil": 0, "urbanisme": 0}),
    "emma": ({"mobile": "+33612000002"}, {"etat-civil": 0, "urbanisme": 1}),
    "fabien": ({"mobile": "+33612000003"}, {"etat-civil": 0}),
    "gaelle": ({"mobile": "+33612000004"}, {"etat-civil": 0, "urbanisme": 1}),
}
SOFTPHONES = {a: d["softphone"] for a, (d, _h) in AGENTS.items() if "softphone" in d}
MOBILES = {a: d["mobile"] for a, (d, _h) in AGENTS.items() if "mobile" in d}


def three_hotlines_files(**routing: Any) -> dict[str, str]:
    """flows/main.yaml (caller -> hotline, at once), hotlines.yaml (FAST timings + `routing`, one strategy each)
    and agents.yaml (AGENTS), as apps.config() overrides. JSON is YAML."""
    lists = {h: [caller] for h, (_s, caller) in HOTLINES.items() if h != "etat-civil"}
    main = [{"when_caller": {"known": {h: f"to-{h}" for h in lists}}}, {"enqueue": "etat-civil"}, "hangup"]
    for h in lists:
        main += [{"id": f"to-{h}", "enqueue": h}, "hangup"]
    flows = {"entry": {"inbound": "main"}, "caller_lists": lists, "flows": {"main": main}}
    hotlines = {h: {**FAST, **routing, "strategy": s} for h, (s, _c) in HOTLINES.items()}
    hotlines |= {h: {} for h in OTHER_HOTLINES if h not in hotlines}
    agents = [{"id": a, "name": a.capitalize(), **device, "hotlines": serves} for a, (device, serves) in AGENTS.items()]
    return {
        "flows/main.yaml": json.dumps(flows),
        "hotlines.yaml": json.dumps({"hotlines": hotlines}),
        "agents.yaml": json.dumps({"agents": agents}),
    }


class EventLog(threading.Thread):
    """Every message on cc:events while it runs, in Redis' order (the state scripts publish in the same step as
    the change they report), each with `seen` (time.time() when it arrived here). For each call newly queued it
    reads its queue score (priority, then Redis' TIME at arrival): the order the zset keeps, ties included."""

    def __init__(self, redis_url: str) -> None:
        super().__init__(daemon=True, name="event-log")
        self.redis_url = redis_url
        self.events: list[dict[str, Any]] = []
        self.scores: dict[str, int] = {}
        self._ready = threading.Event()
        self._stop_event = threading.Event()

    def start(self) -> None:
        super().start()
        if not self._ready.wait(5):
            raise AssertionError("could not subscribe to cc:events")

    def run(self) -> None:
        client = redis.Redis.from_url(self.redis_url, decode_responses=True)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe("cc:events")
            self._ready.set()
            while not self._stop_event.is_set():
                message = pubsub.get_message(timeout=0.1)
                if message is None:
                    continue
                event = {**json.loads(message["data"]), "seen": time.time()}
                self.events.append(event)
                call = event.get("call")
                if event.get("stage") == "queued" and call not in self.scores:
                    score = client.hget(f"cc:call:{call}", "score")
                    if score is not None:
                        self.scores[call] = int(float(score))
        finally:
            pubsub.close()
            client.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)

    def calls(self, stage: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == "call_changed" and e.get("stage") == stage]


@dataclass(frozen=True)
class Passed:
    """An offer made while an earlier citizen of the same hotline was still waiting."""

    offered: str
    hotline: str
    at: float
    earlier: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.hotline}: {self.offered} offered at {self.at:.3f} before {list(self.earlier)}"


def passed_over(log: EventLog, excused: Callable[[str, float], bool]) -> tuple[list[Passed], list[str]]:
    """Replays the events: per hotline the waiting citizens (queued, or queued again after a requeue, until
    offered or left), ordered by their queue score. An offer of any other call than the earliest waiting one is
    a Passed, unless every earlier one is `excused(call, at)`. Also returns the calls whose score was not read."""
    waiting: dict[str, dict[str, tuple[int, str]]] = defaultdict(dict)
    bad: list[Passed] = []
    unscored: list[str] = []
    for e in log.events:
        if e.get("type") != "call_changed":
            continue
        call, hotline, stage = e["call"], e.get("hotline") or "", e["stage"]
        if stage == "queued":
            if call not in log.scores:
                unscored.append(call)
                continue
            waiting[hotline][call] = (log.scores[call], call)
        elif stage == "offered":
            key = waiting[hotline].pop(call, None)
            if key is None:
                continue
            earlier = [c for c, k in waiting[hotline].items() if k < key and not excused(c, e["seen"])]
            if earlier:
                bad.append(Passed(call, hotline, e["seen"], tuple(sorted(earlier, key=waiting[hotline].get))))
        elif stage == "left":
            waiting[hotline].pop(call, None)
    return bad, unscored


def offered_twice(log: EventLog) -> list[str]:
    """Calls offered again while their previous offer still stood (no requeue in between), or after an agent took
    them: one call never rings two agents one after the other at once, and is never served twice."""
    state: dict[str, str] = {}
    bad = []
    for e in log.events:
        if e.get("type") != "call_changed":
            continue
        call, stage = e["call"], e["stage"]
        if stage == "offered" and state.get(call) in ("offered", "connected"):
            bad.append(f"{call} offered at {e['seen']:.3f} while {state[call]}")
        if stage in ("queued", "offered", "connected"):
            state[call] = stage
    return bad
