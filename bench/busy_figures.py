"""The busy hour's figures: the journal (callcontrol's own record of every call) is the source of truth, the ARI
observer and the SIPp traces cross-check it and add what the journal does not hold (when an agent was rung).

Two waits per call:
- the citizen's wait (journal `queue_wait`): queued -> connected to an agent (after the agent's phone rang and the
  whisper), or -> the citizen hung up;
- the wait for an agent (Erlang's wait): queued -> the agent's phone rung (the observer's first agent leg for
  that citizen). Ringing, whisper and conversation are then the agent's handling time, as in Erlang's models.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from typing import Any

import erlang
from busy_observer import AgentLeg, Observer, digits

PENDING_RESULTS = ("answered", "abandoned")


def clip(start: float, end: float, lo: float, hi: float) -> float:
    return max(0.0, min(end, hi) - max(start, lo))


def summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "mean": None, "max": None, "p50": None, "p90": None}
    ordered = sorted(values)
    return {"n": len(values), "mean": round(statistics.fmean(values), 3), "max": round(ordered[-1], 3),
            "p50": round(ordered[len(ordered) // 2], 3), "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 3)}


def figures(
    *, journal: list[dict[str, Any]], observer: Observer, hash_of: dict[str, str], t0: float, window: float,
    agents: dict[str, str], threshold: float, patience: float, talk: float, planned: int,
    ctl: dict[str, list[str]], signalled: set[str], overlaps: list[str],
) -> dict[str, Any]:
    """`hash_of`: journal caller_hash -> citizen number; `agents`: agent id -> extension; `ctl`: number -> the
    citizen scenario's notes; `signalled`: numbers told "an agent answered"; times in scaled seconds."""
    calls = [e for e in journal if e.get("kind") == "inbound"]
    results = Counter(e.get("result", "?") for e in calls)
    offered = len(calls)
    answered = [e for e in calls if e.get("result") == "answered"]
    abandoned = [e for e in calls if e.get("result") == "abandoned"]
    goodbye = [{"call_id": e.get("call_id"), "result": e.get("result"), "outcome": e.get("outcome"),
                "path": [p.get("step") for p in e.get("path", [])]}
               for e in calls if e.get("result") not in PENDING_RESULTS]  # fmt: skip
    citizen_wait = [float(e.get("queue_wait") or 0) for e in calls]
    answered_wait = [float(e.get("queue_wait") or 0) for e in answered]

    rung_any: list[float] = []  # every call whose agent was rung: queued -> rung
    seize_wait: list[float] = []  # per call: queued -> agent rung (abandoned before any ring: their wait)
    served_by_seize: list[float] = []  # answered calls only
    unmatched = 0
    for e in calls:
        queued_at = float(e["started_at"]) + float(e.get("queue_entered") or 0)
        seen = observer.citizens.get(hash_of.get(e.get("caller_hash", ""), ""))
        if seen is None:
            unmatched += 1
            continue
        if seen.rung is not None:
            seize_wait.append(max(0.0, seen.rung - queued_at))
            rung_any.append(max(0.0, seen.rung - queued_at))
            if e.get("result") == "answered":
                served_by_seize.append(max(0.0, seen.rung - queued_at))
        else:
            seize_wait.append(float(e.get("queue_wait") or 0))

    # The agent's handling time of each answered call: its leg from rung to gone (ring + whisper + talk).
    handling = [leg.destroyed - leg.created for leg in observer.legs.values()
                if leg.destroyed is not None and leg.answered is not None]  # fmt: skip
    lo, hi = t0, t0 + window
    talk_in_window: dict[str, float] = defaultdict(float)
    per_agent_calls: Counter[str] = Counter()
    for e in answered:
        end = float(e["started_at"]) + float(e["duration"])
        agent = e.get("answered_by") or e.get("agent") or "?"  # see answered_not_connected
        talk_in_window[agent] += clip(end - float(e.get("talk_time") or 0), end, lo, hi)
        per_agent_calls[agent] += 1
    legs_in_window: dict[str, float] = defaultdict(float)
    for leg in observer.legs.values():
        legs_in_window[leg.extension] += clip(leg.created, leg.destroyed or hi, lo, hi)
    occupancy = {a: {"calls": per_agent_calls[a], "talk": round(talk_in_window[a] / window, 4),
                     "busy": round(legs_in_window[ext] / window, 4)} for a, ext in agents.items()}  # fmt: skip
    talk_occ = [o["talk"] for o in occupancy.values()]
    busy_occ = [o["busy"] for o in occupancy.values()]

    n = len(agents)
    lam = offered / window
    h_measured = statistics.fmean(handling) if handling else talk
    nominal_a, measured_a = planned / window * talk, lam * h_measured
    models = {}
    for label, a, h in (("nominal", nominal_a, talk), ("measured", measured_a, h_measured)):
        ea = erlang.erlang_a(n, a, h, patience, threshold)
        models[label] = {
            "offered_erlangs": round(a, 3), "handling_s": round(h, 3),
            "erlang_c": {"p_wait": round(erlang.erlang_c(n, a), 4),
                         "service_level": round(erlang.erlang_c_service_level(n, a, h, threshold), 4),
                         "mean_wait_s": round(erlang.erlang_c_mean_wait(n, a, h), 3), "occupancy": round(a / n, 4)},
            "erlang_a": {"p_wait": round(ea.p_wait, 4), "service_level": round(ea.service_level or 0, 4),
                         "p_abandon": round(ea.p_abandon, 4), "mean_wait_s": round(ea.mean_wait, 3),
                         "occupancy": round(ea.occupancy, 4)},
        }  # fmt: skip
    within = lambda xs: sum(1 for x in xs if x <= threshold)  # noqa: E731
    measured = {
        "service_level_agent_rung": round(within(served_by_seize) / offered, 4) if offered else None,
        "service_level_agent_rung_any_outcome": round(within(rung_any) / offered, 4) if offered else None,
        "ring_and_whisper_s": summary([c.bridged - c.rung for c in observer.citizens.values()
                                       if c.bridged is not None and c.rung is not None]),
        "service_level_citizen_connected": round(within(answered_wait) / offered, 4) if offered else None,
        "abandonment": round(len(abandoned) / offered, 4) if offered else None,
        "p_wait_over_0_1s": round(sum(1 for x in seize_wait if x > 0.1) / len(seize_wait), 4) if seize_wait else None,
        "wait_for_agent_s": summary(seize_wait),
        "citizen_wait_s": summary(citizen_wait),
        "citizen_wait_answered_s": summary(answered_wait),
        "abandoned_after_s": summary([float(e.get("queue_wait") or 0) for e in abandoned]),
        "handling_s": summary(handling),
        "talk_s": summary([float(e.get("talk_time") or 0) for e in answered]),
        "occupancy_talk": {"mean": round(statistics.fmean(talk_occ), 4), "min": min(talk_occ), "max": max(talk_occ),
                           "spread_points": round(100 * (max(talk_occ) - min(talk_occ)), 1)},
        "occupancy_busy": {"mean": round(statistics.fmean(busy_occ), 4), "min": min(busy_occ), "max": max(busy_occ),
                           "spread_points": round(100 * (max(busy_occ) - min(busy_occ)), 1)},
    }  # fmt: skip
    missed_offers = sum(1 for e in calls for p in e.get("path", []) if p.get("step") == "agent:no_answer")
    gave_up_in_sip = {num for num, words in ctl.items() if "abandoned" in words}
    cut = sorted(gave_up_in_sip & signalled)  # patience fired although an agent had answered (a race)
    checks = {
        "planned_citizens": planned,
        "journal_inbound": offered,
        "journal_results": dict(results),
        "citizens_told_goodbye": goodbye,
        "journal_entries_unmatched": unmatched,
        "agents_rung_while_busy_observer": observer.rung_while_busy,
        "agents_rung_while_busy_sip": overlaps,
        "offers_not_answered": missed_offers,
        "sip_abandoned": len(gave_up_in_sip),
        "sip_answered_signals": len(signalled),
        "patience_fired_after_answer": cut,
        "longest_idle": longest_idle_check(observer),
        # result "answered" but no "connected" step (so no answered_by, no talk_time): the citizen hung up as the
        # bridge was being made
        "answered_not_connected": [e.get("call_id") for e in answered
                                   if not any(p.get("step") == "connected" for p in e.get("path", []))],
        "observer_events": observer.events,
        "observer_citizens_seen": len(observer.citizens),
        "observer_bridged": sum(1 for c in observer.citizens.values() if c.bridged),
    }
    return {"measured": measured, "models": models, "occupancy_per_agent": occupancy, "checks": checks}


def longest_idle_check(observer: Observer, tolerance: float = 0.05) -> dict[str, Any]:
    """Was each agent rung the one idle longest among the idle agents at that instant (no live leg)? Idle since
    the end of its last conversation: a leg whose citizen hung up before being bridged (during the ring or the
    whisper) does not count as a call (callcontrol, like app_queue, keeps the agent's idle time then). Agents
    without a conversation yet count as idle since the start, all equal. `tolerance`: callcontrol learns of a
    hang-up a few ms after Asterisk, so an agent freed less than that before the ring is not blamed."""
    legs = sorted(observer.legs.values(), key=lambda leg: leg.created)
    seen_by_digits = {digits(n): c for n, c in observer.citizens.items()}

    def talked(leg: AgentLeg) -> bool:
        seen = seen_by_digits.get(leg.citizen)
        return bool(seen and seen.bridged and seen.agent == leg.extension)

    exts = sorted({leg.extension for leg in legs} | observer.agent_extensions)
    idle_since: dict[str, float] = dict.fromkeys(exts, float("-inf"))
    alive: dict[str, AgentLeg] = {}
    ends = sorted(((leg.destroyed, leg) for leg in legs if leg.destroyed is not None), key=lambda x: x[0])
    i, other, worst = 0, [], 0.0
    ends_at: dict[str, float] = {}  # extension -> its last leg's end (any leg)
    for leg in legs:
        while i < len(ends) and ends[i][0] <= leg.created:
            done = ends[i][1]
            if alive.get(done.extension) is done:
                del alive[done.extension]
                ends_at[done.extension] = done.destroyed or 0.0
                if talked(done):
                    idle_since[done.extension] = done.destroyed or 0.0
            i += 1
        freed = {e: leg.created - (ends_at.get(e) or float("-inf")) for e in exts}
        idle = {e: t for e, t in idle_since.items() if e not in alive and freed[e] >= tolerance}
        if idle and leg.extension in idle:
            best = min(idle.values())
            if idle[leg.extension] > best:
                other.append(f"{leg.extension} rung at {leg.created:.3f} (idle since {idle[leg.extension]:.3f}) "
                             f"while {min(idle, key=idle.__getitem__)} was idle since {best:.3f}")
                worst = max(worst, idle[leg.extension] - best) if best > float("-inf") else worst
        alive[leg.extension] = leg
    return {"rings": len(legs), "not_longest_idle": len(other), "examples": other[:10],
            "passed_over": dict(Counter(e.split(" while ")[1].split()[0] for e in other)),
            "worst_gap_s": round(worst, 3)}


def hashes(numbers: list[str], salt: str, region: str) -> dict[str, str]:
    """caller_hash (callcontrol.numbers.fingerprint, as the journal writes it) -> the citizen's number."""
    from callcontrol import numbers as cc_numbers

    return {cc_numbers.fingerprint(n, salt, region) or "": n for n in numbers}


def table(report: dict[str, Any], scale: float, threshold: float) -> str:
    """The markdown table printed at the end of a run (times scaled, real in brackets)."""
    m, models = report["measured"], report["models"]
    c, a = models["measured"]["erlang_c"], models["measured"]["erlang_a"]
    cn = models["nominal"]["erlang_c"]
    pct = lambda x: "–" if x is None else f"{100 * x:.1f} %"  # noqa: E731
    sec = lambda x: "–" if x is None else f"{x:.2f} s ({x * scale:.0f} s)"  # noqa: E731
    rows = [
        ("", "measured", "Erlang C (measured load)", "Erlang A (measured load)", "Erlang C (nominal load)"),
        ("---", "---", "---", "---", "---"),
        (f"service level: agent rung within {threshold:g} s ({threshold * scale:g} s)",
         pct(m["service_level_agent_rung"]), pct(c["service_level"]), pct(a["service_level"]),
         pct(cn["service_level"])),
        (f"agent rung within {threshold:g} s, whatever came next", pct(m["service_level_agent_rung_any_outcome"]),
         "", "", ""),
        (f"citizen connected within {threshold:g} s (after ring + whisper)",
         pct(m["service_level_citizen_connected"]), "", "", ""),
        ("abandonment", pct(m["abandonment"]), "0 %", pct(a["p_abandon"]), "0 %"),
        ("mean wait for an agent", sec(m["wait_for_agent_s"]["mean"]), sec(c["mean_wait_s"]), sec(a["mean_wait_s"]),
         sec(cn["mean_wait_s"])),
        ("citizen's mean / longest wait", f"{sec(m['citizen_wait_s']['mean'])} / {sec(m['citizen_wait_s']['max'])}",
         "", "", ""),
        ("occupancy (talk) mean, spread", f"{pct(m['occupancy_talk']['mean'])}, "
         f"{m['occupancy_talk']['spread_points']} pts", pct(c["occupancy"]), pct(a["occupancy"]), pct(cn["occupancy"])),
        ("occupancy (phone busy) mean, spread", f"{pct(m['occupancy_busy']['mean'])}, "
         f"{m['occupancy_busy']['spread_points']} pts", "", "", ""),
        ("agents rung while busy", str(len(report["checks"]["agents_rung_while_busy_observer"])
                                       + len(report["checks"]["agents_rung_while_busy_sip"])), "", "", ""),
    ]  # fmt: skip
    ideal = report.get("ideal_router")
    if ideal:
        rows.append(("ideal router, same citizens (bench/busy_sim.py): service level, abandonment, spread",
                     f"{pct(ideal['service_level'])}, {pct(ideal['abandonment'])}, "
                     f"{ideal['occupancy_spread_points']:.1f} pts", "", "", ""))
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)
