"""Prometheus metrics: one `Metrics` object per process, over a CollectorRegistry made by the composition root.

A leaf module (it imports nothing of ours): the places that observe get a bound method or a callable, never this
module's globals. Three kinds of figures:
- counted as they happen: calls by outcome, ARI request latency (an aiohttp trace on the ARI session), Redis
  errors (RedisHealth's failure hook), takeovers, routing latency (from the events channel);
- read from the process at scrape time: calls active, ARI connected and its reconnections (`watch`);
- read from Redis at scrape time: waiting per hotline, longest wait, agents by state, service level, on-call
  hotlines with nobody reachable (`set_board`, called by the /metrics handler just before it renders).
Names and meanings: docs/operations.md ("Metrics and alerts").
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

PREFIX = "callcontrol_"
AGENT_STATES = ("available", "busy", "wrap_up", "paused", "logged_out")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STALL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LOOP_SAMPLE_SECONDS = 0.05  # the stall sampler sleeps this long and records how late it woke up
_ID_SEGMENT = re.compile(r"^[^/]*[0-9][^/]*$|^[0-9a-f-]{16,}$")  # channel/bridge ids, numbers: one label value


@dataclass(frozen=True, slots=True)
class HotlineFigures:
    """What the scrape reads from Redis for one hotline."""

    hotline: str
    waiting: int
    longest_wait: float  # seconds, 0 when nobody waits
    agents: Mapping[str, int]  # AGENT_STATES -> count of the hotline's members
    reachable: int  # members logged in, not paused, whose device answers
    on_call: bool  # a 24/7 duty (hotlines.yaml `on_call: true`): somebody must be reachable
    service_level: float | None  # today: share of queued calls answered within the target; None: no call yet
    queued_today: int


def ari_operation(method: str, url: str) -> str:
    """A low-cardinality label for one ARI request: `POST /channels/{id}/answer`."""
    path = url.split("?", 1)[0]
    path = path.split("/ari", 1)[1] if "/ari" in path else path
    parts = [("{id}" if _ID_SEGMENT.match(p) else p) for p in path.split("/") if p]
    return f"{method} /" + "/".join(parts)


class _Watched(Collector):
    """Figures read from live objects at scrape time (set by `Metrics.watch`)."""

    def __init__(self) -> None:
        self.active_calls: Callable[[], int] | None = None
        self.ari_connected: Callable[[], bool] | None = None
        self.ari_connections: Callable[[], int] | None = None

    def collect(self) -> Iterable[Any]:
        if self.active_calls is not None:
            yield GaugeMetricFamily(f"{PREFIX}calls_active", "Citizens' and agents' calls this instance handles now",
                                    value=self.active_calls())
        if self.ari_connected is not None:
            yield GaugeMetricFamily(f"{PREFIX}ari_connected", "1 while the ARI events websocket is connected",
                                    value=1 if self.ari_connected() else 0)
        if self.ari_connections is not None:
            reconnects = max(self.ari_connections() - 1, 0)
            yield CounterMetricFamily(f"{PREFIX}ari_reconnects", "ARI events websocket re-established after a drop",
                                      value=reconnects)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None, *, service_level_target: float = 20.0) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.service_level_target = service_level_target
        r = self.registry
        self.calls_ended = Counter(f"{PREFIX}calls_ended", "Finished calls by outcome (journaled ones)",
                                   ["outcome"], registry=r)
        self.hotline_calls = Counter(f"{PREFIX}hotline_calls_ended", "Finished calls queued in a hotline, by result",
                                     ["hotline", "result"], registry=r)
        self.routing_latency = Histogram(f"{PREFIX}routing_latency_seconds",
                                         "From an agent claimed for a call to that agent's phone ringing",
                                         buckets=LATENCY_BUCKETS, registry=r)
        self.ari_latency = Histogram(f"{PREFIX}ari_request_duration_seconds", "ARI REST request latency",
                                     ["operation"], buckets=LATENCY_BUCKETS, registry=r)
        self.ari_errors = Counter(f"{PREFIX}ari_request_errors", "ARI REST requests that got no answer",
                                  ["operation"], registry=r)
        self.redis_errors = Counter(f"{PREFIX}redis_errors", "Redis operations that failed (outage, timeout)",
                                    registry=r)
        self.takeovers = Counter(f"{PREFIX}instance_takeovers", "Dead instances this instance took over",
                                 registry=r)
        self.takeover_calls = Counter(f"{PREFIX}takeover_calls_adopted", "Calls adopted from dead instances",
                                      registry=r)
        self.waiting = Gauge(f"{PREFIX}hotline_waiting", "Citizens waiting now", ["hotline"], registry=r)
        self.longest_wait = Gauge(f"{PREFIX}hotline_longest_wait_seconds", "Longest current wait", ["hotline"],
                                  registry=r)
        self.agents = Gauge(f"{PREFIX}hotline_agents", "The hotline's agents by state", ["hotline", "state"],
                            registry=r)
        self.reachable = Gauge(f"{PREFIX}hotline_agents_reachable",
                               "Agents logged in, not paused, whose device answers", ["hotline"], registry=r)
        self.nobody_on_call = Gauge(f"{PREFIX}oncall_nobody_reachable",
                                    "1 when an on-call hotline (on_call: true) has nobody reachable", ["hotline"],
                                    registry=r)
        self.service_level = Gauge(f"{PREFIX}hotline_service_level_today",
                                   "Share of today's queued calls answered within the target wait", ["hotline"],
                                   registry=r)
        self.queued_today = Gauge(f"{PREFIX}hotline_queued_today", "Calls queued in the hotline today, finished",
                                  ["hotline"], registry=r)
        self.ari_event_lag = Histogram(f"{PREFIX}ari_event_lag_seconds",
                                       "From Asterisk stamping an ARI event to this process having it parsed",
                                       buckets=STALL_BUCKETS, registry=r)
        self.loop_stall = Histogram(f"{PREFIX}loop_stall_seconds",
                                    "How late the event loop ran a timer (sampled every 50 ms): work that blocked it",
                                    buckets=STALL_BUCKETS, registry=r)
        self.loop_stall_max = Gauge(f"{PREFIX}loop_stall_max_seconds", "The worst event-loop stall since start",
                                    registry=r)
        self._stall_max = 0.0
        # the children of the labelled metrics observed on every call or request, by label values: `.labels()`
        # validates and locks each time (bench/op-cuts.md); the label values are few (outcomes, hotlines, operations)
        self._children: dict[tuple[Any, ...], Any] = {}
        self._watched = _Watched()
        r.register(self._watched)

    # ---------------------------------------------------------------------------------------------- observing

    def watch(
        self,
        *,
        active_calls: Callable[[], int] | None = None,
        ari_connected: Callable[[], bool] | None = None,
        ari_connections: Callable[[], int] | None = None,
    ) -> None:
        """Figures read from the process at scrape time."""
        self._watched.active_calls = active_calls
        self._watched.ari_connected = ari_connected
        self._watched.ari_connections = ari_connections

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def call_ended(self, outcome: str, hotline: str | None, wait: float | None) -> None:
        """A finished call (journal hook): its outcome and, when it was queued, how the hotline served it."""
        self._child(self.calls_ended, outcome).inc()
        if hotline:
            self._child(self.hotline_calls, hotline, self.result(outcome, wait)).inc()

    def result(self, outcome: str, wait: float | None) -> str:
        """answered_in_time | answered_late | abandoned | other (the service level's numerator and denominator)."""
        if outcome == "answered":
            return "answered_in_time" if (wait or 0.0) <= self.service_level_target else "answered_late"
        return "abandoned" if outcome == "abandoned" else "other"

    def loop_stalled(self, seconds: float) -> None:
        self.loop_stall.observe(seconds)
        if seconds > self._stall_max:
            self._stall_max = seconds
            self.loop_stall_max.set(seconds)

    async def sample_loop_stalls(self, every: float = LOOP_SAMPLE_SECONDS) -> None:
        """Forever: sleep `every` and record how much later than asked the loop woke us (a blocked loop delays
        every call's next step by as much). Costs one timer per sample."""
        loop = asyncio.get_running_loop()
        while True:
            asked = loop.time() + every
            await asyncio.sleep(every)
            self.loop_stalled(max(loop.time() - asked, 0.0))

    def redis_failed(self, exc: BaseException | None = None) -> None:
        self.redis_errors.inc()

    def taken_over(self, dead: str, calls: int) -> None:
        self.takeovers.inc()
        self.takeover_calls.inc(calls)

    def ari_request(self, method: str, path: str, seconds: float, answered: bool) -> None:
        """One ARI REST request (ari.client's observer): its latency by operation, or an error without answer."""
        operation = ari_operation(method, path)
        if answered:
            self._child(self.ari_latency, operation).observe(seconds)
        else:
            self._child(self.ari_errors, operation).inc()

    def ari_trace(self) -> aiohttp.TraceConfig:
        """An aiohttp trace for the ARI session: each request's latency by operation (the websocket is not one)."""
        trace = aiohttp.TraceConfig()

        async def start(session: Any, ctx: SimpleNamespace, params: Any) -> None:
            ctx.started = time.monotonic()

        async def end(session: Any, ctx: SimpleNamespace, params: Any) -> None:
            if params.headers.get("Upgrade", "").lower() == "websocket":
                return
            self.ari_latency.labels(ari_operation(params.method, str(params.url))).observe(
                time.monotonic() - ctx.started
            )

        async def failed(session: Any, ctx: SimpleNamespace, params: Any) -> None:
            self.ari_errors.labels(ari_operation(params.method, str(params.url))).inc()

        trace.on_request_start.append(start)
        trace.on_request_end.append(end)
        trace.on_request_exception.append(failed)
        return trace

    # ---------------------------------------------------------------------------------------------- scrape

    def set_board(self, figures: Iterable[HotlineFigures]) -> None:
        """The Redis-derived gauges, from one read of the state (before rendering)."""
        for f in figures:
            self.waiting.labels(f.hotline).set(f.waiting)
            self.longest_wait.labels(f.hotline).set(round(f.longest_wait, 3))
            for state in AGENT_STATES:
                self.agents.labels(f.hotline, state).set(f.agents.get(state, 0))
            self.reachable.labels(f.hotline).set(f.reachable)
            if f.on_call:
                self.nobody_on_call.labels(f.hotline).set(1 if f.reachable == 0 else 0)
            if f.service_level is not None:
                self.service_level.labels(f.hotline).set(round(f.service_level, 4))
            self.queued_today.labels(f.hotline).set(f.queued_today)

    def render(self) -> bytes:
        return generate_latest(self.registry)
