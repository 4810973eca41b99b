"""The busy-hour bench's queueing formulas (bench/erlang.py) against textbook values and known limits."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import erlang


def test_erlang_b_textbook_value():
    """Erlang B with 10 erlangs on 10 lines blocks 21.46 % of calls (the standard table's value)."""
    assert erlang.erlang_b(10, 10) == pytest.approx(0.2146, abs=5e-5)
    assert erlang.erlang_b(0, 3) == 1.0


def test_erlang_c_exact_small_case():
    """Two erlangs on three agents: a caller waits with probability exactly 4/9."""
    assert erlang.erlang_c(3, 2) == pytest.approx(4 / 9, rel=1e-12)


def test_erlang_c_call_centre_textbook_example():
    """10 erlangs (100 calls per half hour, 180 s handling) on 11 agents: 68.2 % wait, 39 % answered in 20 s."""
    assert erlang.erlang_c(11, 10) == pytest.approx(0.6821, abs=5e-5)
    assert erlang.erlang_c_service_level(11, 10, h=180, t=20) == pytest.approx(0.3896, abs=5e-4)
    assert erlang.erlang_c_mean_wait(11, 10, h=180) == pytest.approx(0.6821 * 180, rel=1e-3)


def test_erlang_c_overload_everyone_waits():
    """With a load at or above the number of agents, everyone waits and the queue never empties."""
    assert erlang.erlang_c(10, 10) == 1.0
    assert erlang.erlang_c_service_level(10, 12, h=9, t=1) == 0.0
    assert erlang.erlang_c_mean_wait(10, 10, h=9) == math.inf


def test_erlang_a_with_infinite_patience_is_erlang_c():
    """Callers who never hang up: Erlang A gives Erlang C's wait probability, service level and mean wait."""
    a = erlang.erlang_a(14, 10.25, h=9, patience=1e9, t=1)
    assert a.p_wait == pytest.approx(erlang.erlang_c(14, 10.25), rel=1e-6)
    assert a.service_level == pytest.approx(erlang.erlang_c_service_level(14, 10.25, 9, 1), abs=1e-5)
    assert a.mean_wait == pytest.approx(erlang.erlang_c_mean_wait(14, 10.25, 9), rel=1e-4)
    assert a.p_abandon == pytest.approx(0, abs=1e-6)


def test_erlang_a_patience_equal_to_handling_is_infinite_servers():
    """Patience as long as a conversation on average: calls leave at one rate, in service or not, so the number
    in the system is Poisson(A) and a caller waits with P(Poisson(A) >= N)."""
    a = erlang.erlang_a(3, 2, h=1, patience=1)
    poisson_tail = 1 - sum(math.exp(-2) * 2**k / math.factorial(k) for k in range(3))
    assert a.p_wait == pytest.approx(poisson_tail, rel=1e-9)


def test_erlang_a_flows_balance_and_impatience_helps_those_who_stay():
    """Calls answered = agents' throughput (A(1 - P(ab)) = N x occupancy); with impatient callers the service
    level is better than Erlang C's and some callers abandon."""
    a = erlang.erlang_a(14, 10.25, h=9, patience=3, t=1)
    assert 10.25 * (1 - a.p_abandon) == pytest.approx(14 * a.occupancy, rel=1e-9)
    assert a.service_level > erlang.erlang_c_service_level(14, 10.25, 9, 1)
    assert 0 < a.abandoned_within_t < a.p_abandon < a.p_wait
    assert a.service_level + a.abandoned_within_t <= 1
