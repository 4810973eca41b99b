"""Queueing formulas for the busy-hour bench: Erlang B, Erlang C (M/M/N, nobody hangs up) and Erlang A (M/M/N+M,
Palm's model: each waiting caller hangs up after an exponential patience). Pure functions, standard library only.

Notation: `a` offered load in erlangs (arrival rate x mean handling time), `n` agents, `h` mean handling time,
`t` a waiting-time threshold (same unit as `h`), `patience` mean patience (same unit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_b(n: int, a: float) -> float:
    """Blocking probability of N servers with no queue (the stable recursion B(k) = aB(k-1) / (k + aB(k-1)))."""
    if n < 0 or a < 0:
        raise ValueError("n and a must not be negative")
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(n: int, a: float) -> float:
    """Probability that a caller waits at all (C(N, A)); 1 when the load reaches the agents (a >= n)."""
    if a >= n:
        return 1.0
    b = erlang_b(n, a)
    return n * b / (n - a * (1 - b))


def erlang_c_wait_above(n: int, a: float, h: float, t: float) -> float:
    """P(wait > t) = C(N, A) * exp(-(N - A) * t / h)."""
    if a >= n:
        return 1.0
    return erlang_c(n, a) * math.exp(-(n - a) * t / h)


def erlang_c_service_level(n: int, a: float, h: float, t: float) -> float:
    """Share of callers answered within t: 1 - P(wait > t)."""
    return 1.0 - erlang_c_wait_above(n, a, h, t)


def erlang_c_mean_wait(n: int, a: float, h: float) -> float:
    """Mean wait of all callers (ASA): C(N, A) * h / (N - A)."""
    return math.inf if a >= n else erlang_c(n, a) * h / (n - a)


@dataclass(frozen=True)
class ErlangA:
    """Steady state of M/M/N+M: what an arriving caller meets and what becomes of it."""

    p_wait: float  # waits at all (all agents busy on arrival)
    p_abandon: float  # hangs up before an agent answers
    mean_wait: float  # mean time in queue of all callers (served or not)
    occupancy: float  # mean share of agents busy
    service_level: float | None  # answered within t, over all callers (abandoned ones count as missed)
    abandoned_within_t: float | None  # hung up before t


def erlang_a(n: int, a: float, h: float, patience: float, t: float | None = None, tail: float = 1e-15) -> ErlangA:
    """Palm's M/M/N+M with mean handling time h and exponential patience of mean `patience` (FCFS).

    States n = calls in the system: birth rate lambda = a/h, death rate min(n, N)/h + max(n - N, 0)/patience. A
    caller arriving with j callers already waiting (PASTA) reaches an agent after j + 1 stages, stage i (i callers
    ahead) of rate N/h + i/patience, while its own patience runs; the service level integrates that chain (RK4)."""
    if n < 1 or a < 0 or h <= 0 or patience <= 0:
        raise ValueError("need n >= 1, a >= 0, h > 0, patience > 0")
    lam, mu, theta = a / h, 1.0 / h, 1.0 / patience
    weights = [1.0]  # unnormalised pi_n
    for k in range(1, n + 1):
        weights.append(weights[-1] * a / k)
    j = 0
    while True:  # the queue: pi_{N+j+1} = pi_{N+j} * lambda / (N mu + (j + 1) theta)
        j += 1
        weights.append(weights[-1] * lam / (n * mu + j * theta))
        if weights[-1] < tail * sum(weights) or j > 100_000:
            break
    total = sum(weights)
    pi = [w / total for w in weights]
    p_wait = sum(pi[n:])
    queue = sum((k - n) * p for k, p in enumerate(pi) if k > n)
    p_abandon = theta * queue / lam if lam else 0.0
    busy = sum(min(k, n) * p for k, p in enumerate(pi))
    mean_wait = queue / lam if lam else 0.0  # Little: E[queue] = lambda * E[wait]
    served_within = abandoned_within = None
    if t is not None:
        served_within, abandoned_within = _waiting_chain(pi[n:], n * mu, theta, t)
        served_within += 1.0 - p_wait
    return ErlangA(p_wait, p_abandon, mean_wait, busy / n, served_within, abandoned_within)


def _waiting_chain(start: list[float], service: float, theta: float, t: float) -> tuple[float, float]:
    """From `start[j]` (probability of arriving with j callers ahead): probability of reaching an agent, and of
    hanging up, by time t. p_i' = -(service + i theta + theta) p_i + (service + (i+1) theta) p_{i+1}."""
    size = len(start)
    rates = [service + i * theta for i in range(size)]
    fastest = rates[-1] + theta
    steps = max(200, math.ceil(t * fastest / 0.05))
    dt = t / steps

    def derivative(p: list[float]) -> tuple[list[float], float, float]:
        d = [-(rates[i] + theta) * p[i] + (rates[i + 1] * p[i + 1] if i + 1 < size else 0.0) for i in range(size)]
        return d, rates[0] * p[0], theta * sum(p)

    p, served, gone = list(start), 0.0, 0.0
    for _ in range(steps):
        k1, s1, g1 = derivative(p)
        k2, s2, g2 = derivative([x + dt / 2 * d for x, d in zip(p, k1, strict=True)])
        k3, s3, g3 = derivative([x + dt / 2 * d for x, d in zip(p, k2, strict=True)])
        k4, s4, g4 = derivative([x + dt * d for x, d in zip(p, k3, strict=True)])
        p = [x + dt / 6 * (a + 2 * b + 2 * c + d) for x, a, b, c, d in zip(p, k1, k2, k3, k4, strict=True)]
        served += dt / 6 * (s1 + 2 * s2 + 2 * s3 + s4)
        gone += dt / 6 * (g1 + 2 * g2 + 2 * g3 + g4)
    return served, gone
