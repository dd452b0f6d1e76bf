"""Erlang B and C against textbook figures, exact rationals, Poisson tails and pyworkforce."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyworkforce.queuing import ErlangC
from scipy.stats import poisson

from appliance.analytic import (
    agents_for_service_level,
    erlang_b,
    erlang_c,
    erlang_c_asa,
    erlang_c_service_level,
    rule_of_thumb_agents,
    trunks_for_blocking,
)


def exact_erlang_b(servers: int, load: Fraction) -> Fraction:
    """B = (A^N / N!) / sum_k A^k / k!, in exact rationals."""
    terms = [load**k / math.factorial(k) for k in range(servers + 1)]
    return terms[-1] / sum(terms)


def exact_erlang_c(agents: int, load: Fraction) -> Fraction:
    """P(wait) of M/M/c from its stationary distribution, in exact rationals."""
    below = sum(load**k / math.factorial(k) for k in range(agents))
    queueing = load**agents / math.factorial(agents) * agents / (agents - load)
    return queueing / (below + queueing)


def poisson_erlang_b(servers: int, load: float) -> float:
    # Erlang B is the Poisson(A) distribution conditioned on at most N: pmf(N) / cdf(N).
    return math.exp(poisson.logpmf(servers, load) - poisson.logcdf(servers, load))


def poisson_erlang_c(agents: int, load: float) -> float:
    # Stationary M/M/c: the states below c follow Poisson(A) weights; the queue adds
    # pmf(c) / (1 - rho).
    head = poisson.logcdf(agents - 1, load)
    queue = poisson.logpmf(agents, load) - math.log1p(-load / agents)
    return math.exp(queue - np.logaddexp(head, queue))


# --- textbook values --------------------------------------------------------------------------


def test_erlang_b_textbook_values() -> None:
    assert erlang_b(1, 1.0) == 0.5
    assert erlang_b(10, 5.0) == pytest.approx(0.018384570336648, rel=1e-12)
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(0, 0.0) == 1.0
    assert erlang_b(5, 0.0) == 0.0


def test_erlang_b_table_grade_of_service() -> None:
    # Erlang B tables: 10 Erlangs need 18 trunks at 1 % blocking, 17 at 2 %.
    assert trunks_for_blocking(10.0, 0.01) == 18
    assert trunks_for_blocking(10.0, 0.02) == 17
    assert erlang_b(18, 10.0) <= 0.01 < erlang_b(17, 10.0)


@pytest.mark.parametrize("servers", [1, 2, 7, 20, 45])
@pytest.mark.parametrize("load", [Fraction(1, 10), Fraction(3, 2), Fraction(10), Fraction(60)])
def test_erlang_b_matches_exact_rationals(servers: int, load: Fraction) -> None:
    assert erlang_b(servers, float(load)) == pytest.approx(
        float(exact_erlang_b(servers, load)), rel=1e-13
    )


@pytest.mark.parametrize(
    ("agents", "load"),
    [(1, Fraction(1, 2)), (2, Fraction(3, 2)), (11, Fraction(10)), (14, Fraction(10)),
     (30, Fraction(299, 10)), (60, Fraction(45))],
)  # fmt: skip
def test_erlang_c_matches_exact_rationals(agents: int, load: Fraction) -> None:
    assert erlang_c(agents, float(load)) == pytest.approx(
        float(exact_erlang_c(agents, load)), rel=1e-12
    )


def test_erlang_c_classic_example() -> None:
    # 100 calls in 30 minutes with 180 s AHT is 10 Erlangs (callcentrehelper.com's worked
    # example): 11 agents leave 68.2 % of calls waiting, 14 agents 17.4 % with 88.8 % of calls
    # answered within 20 s, and 14 is the smallest team that reaches 80/20.
    load = 100 * 180 / 1800
    assert load == 10.0
    assert erlang_c(11, load) == pytest.approx(0.6821182046893, rel=1e-11)
    assert erlang_c(14, load) == pytest.approx(0.1741319335950, rel=1e-11)
    assert erlang_c_service_level(14, load, 180, 20) == pytest.approx(0.8883500191795, rel=1e-11)
    assert erlang_c_service_level(13, load, 180, 20) == pytest.approx(0.7955947884178, rel=1e-11)
    assert agents_for_service_level(load, 180, 20, 0.8) == 14
    # ASA = C * AHT / (c - A) = 0.17413 * 180 / 4
    assert erlang_c_asa(14, load, 180) == pytest.approx(7.835937011777, rel=1e-11)


def test_erlang_c_edges() -> None:
    assert erlang_c(10, 0.0) == 0.0
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c(10, 12.5) == 1.0
    assert erlang_c_service_level(10, 10.0, 180, 20) == 0.0
    assert erlang_c_service_level(3, 0.0, 180, 20) == 1.0
    assert erlang_c_asa(10, 10.0, 180) == math.inf
    assert erlang_c_asa(10, 0.0, 180) == 0.0
    # At a zero threshold only the calls that did not wait count.
    assert erlang_c_service_level(12, 10.0, 180, 0) == pytest.approx(1 - erlang_c(12, 10.0))
    assert erlang_c_service_level(12, 10.0, 180, math.inf) == 1.0


def test_erlang_c_service_level_against_wait_distribution() -> None:
    # Queued calls wait an exponential time with rate (c - A) / AHT; integrate its density
    # numerically instead of using the closed form.
    agents, load, aht, threshold = 12, 10.0, 180.0, 20.0
    rate = (agents - load) / aht
    grid = np.linspace(0.0, threshold, 20001)
    density = rate * np.exp(-rate * grid)
    queued_within = float(np.sum((density[1:] + density[:-1]) / 2 * np.diff(grid)))
    expected = 1 - erlang_c(agents, load) + erlang_c(agents, load) * queued_within
    assert erlang_c_service_level(agents, load, aht, threshold) == pytest.approx(expected, rel=1e-9)


# --- pyworkforce agrees -----------------------------------------------------------------------


@pytest.mark.parametrize("transactions", [20, 100, 250, 600, 1500])
@pytest.mark.parametrize("aht_minutes", [2.0, 3.0, 5.5])
@pytest.mark.parametrize("threshold_minutes", [1 / 3, 0.5, 1.0])
def test_agrees_with_pyworkforce(
    transactions: int, aht_minutes: float, threshold_minutes: float
) -> None:
    interval = 30
    # pyworkforce takes minutes and calls its service-level time "asa".
    reference = ErlangC(
        transactions=transactions,
        aht=aht_minutes,
        asa=threshold_minutes,
        interval=interval,
        shrinkage=0,
    )
    load = transactions / interval * aht_minutes
    aht, threshold = aht_minutes * 60, threshold_minutes * 60
    first = math.floor(load) + 1
    for agents in range(first, first + 20):
        assert erlang_c(agents, load) == pytest.approx(
            reference.waiting_probability(agents), rel=1e-9
        )
        assert erlang_c_service_level(agents, load, aht, threshold) == pytest.approx(
            reference.service_level(agents, scale_positions=False), rel=1e-9, abs=1e-12
        )
        assert load / agents == pytest.approx(reference.achieved_occupancy(agents), rel=1e-15)
    for target in (0.5, 0.8, 0.9, 0.95):
        ours = agents_for_service_level(load, aht, threshold, target)
        # pyworkforce starts its search at round(load + 1), which may skip floor(load) + 1.
        if ours >= round(load + 1):
            theirs = reference.required_positions(service_level=target, max_occupancy=1.0)
            assert ours == theirs["raw_positions"]


# --- large systems ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("servers", "load"),
    [(5000, 4900.0), (5000, 5100.0), (10_000, 9_000.0), (10_000, 10_000.0), (800, 500.0),
     (2000, 1200.0), (300, 30.0)],
)  # fmt: skip
def test_erlang_b_large_against_poisson(servers: int, load: float) -> None:
    assert erlang_b(servers, load) == pytest.approx(poisson_erlang_b(servers, load), rel=1e-10)


def test_erlang_b_large_is_finite_and_monotone() -> None:
    values = [erlang_b(n, 4900.0) for n in (4999, 5000, 5001)]
    assert all(math.isfinite(v) and 0.0 < v < 1.0 for v in values)
    assert values[0] > values[1] > values[2]
    assert erlang_b(5000, 4899.0) < values[1] < erlang_b(5000, 4901.0)


@pytest.mark.parametrize(
    ("agents", "load"),
    [(500, 499.9), (500, 480.0), (1000, 999.0), (3000, 2900.0), (200, 150.0), (400, 100.0)],
)
def test_erlang_c_large_against_poisson(agents: int, load: float) -> None:
    assert erlang_c(agents, load) == pytest.approx(poisson_erlang_c(agents, load), rel=1e-9)


def test_erlang_c_near_saturation_is_finite_and_monotone() -> None:
    values = [erlang_c(c, 499.9) for c in (500, 501, 502)]
    assert all(math.isfinite(v) and 0.0 < v < 1.0 for v in values)
    assert values[0] > values[1] > values[2]
    assert values[0] > 0.99
    levels = [erlang_c_service_level(c, 499.9, 180, 20) for c in (500, 501, 502)]
    assert 0.0 < levels[0] < levels[1] < levels[2] < 1.0


# --- sizing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("load", [0.4, 3.0, 10.0, 47.3, 250.0, 1234.5])
@pytest.mark.parametrize("target", [0.0, 0.5, 0.8, 0.95, 0.999])
def test_agents_for_service_level_is_smallest(load: float, target: float) -> None:
    agents = agents_for_service_level(load, 240, 20, target)
    assert agents > load
    assert erlang_c_service_level(agents, load, 240, 20) >= target
    if agents - 1 > load:
        assert erlang_c_service_level(agents - 1, load, 240, 20) < target


def test_agents_for_service_level_edges() -> None:
    assert agents_for_service_level(0.0, 180, 20, 0.8) == 1
    assert agents_for_service_level(9.5, 180, math.inf, 0.99) == 10


@pytest.mark.parametrize("load", [0.01, 2.0, 10.0, 180.0, 4000.0])
@pytest.mark.parametrize("target", [1.0, 0.1, 0.01, 0.001])
def test_trunks_for_blocking_is_smallest(load: float, target: float) -> None:
    trunks = trunks_for_blocking(load, target)
    assert erlang_b(trunks, load) <= target
    if trunks > 0:
        assert erlang_b(trunks - 1, load) > target
    assert (trunks == 0) == (target == 1.0)


def test_rule_of_thumb_worked_example() -> None:
    # DOMAIN.md: 500,000 x 0.30 % x 18 % x 150 s / (3600 x 70 %) = 16.07 -> 16 agents.
    agents = rule_of_thumb_agents(500_000, 0.003, 0.18, 150, 0.70)
    assert round(agents, 2) == 16.07
    assert agents == pytest.approx(40500 / 2520, rel=1e-15)
    assert rule_of_thumb_agents(500_000, 0.003, 0.18, 150, 1.0) == pytest.approx(11.25)


# --- invalid input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: erlang_b(-1, 1.0),
        lambda: erlang_b(3, -0.5),
        lambda: erlang_b(3, math.nan),
        lambda: erlang_b(3, math.inf),
        lambda: erlang_b(2.5, 1.0),
        lambda: erlang_b(True, 1.0),
        lambda: erlang_c(0, 1.0),
        lambda: erlang_c(3, -1.0),
        lambda: erlang_c_service_level(3, 1.0, 0.0, 20),
        lambda: erlang_c_service_level(3, 1.0, 180, -1),
        lambda: erlang_c_asa(3, 1.0, -180),
        lambda: agents_for_service_level(10, 180, 20, 1.0),
        lambda: agents_for_service_level(10, 180, 20, -0.1),
        lambda: agents_for_service_level(-10, 180, 20, 0.8),
        lambda: trunks_for_blocking(10, 0.0),
        lambda: trunks_for_blocking(10, 1.5),
        lambda: rule_of_thumb_agents(-1, 0.003, 0.18, 150, 0.7),
        lambda: rule_of_thumb_agents(1000, 0.003, 1.2, 150, 0.7),
        lambda: rule_of_thumb_agents(1000, 0.003, 0.18, 150, 0.0),
        lambda: rule_of_thumb_agents(1000, -0.003, 0.18, 150, 0.7),
    ],
)
def test_invalid_arguments_raise_value_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call()


def test_error_message_names_the_argument() -> None:
    with pytest.raises(ValueError, match="load"):
        erlang_b(3, -1.0)
    with pytest.raises(ValueError, match="agents"):
        erlang_c(0, 1.0)


# --- properties -------------------------------------------------------------------------------

servers_st = st.integers(min_value=0, max_value=3000)
load_st = st.floats(min_value=0.0, max_value=4000.0, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(servers=servers_st, load=load_st)
def test_erlang_b_decreases_with_servers(servers: int, load: float) -> None:
    here, more = erlang_b(servers, load), erlang_b(servers + 1, load)
    assert 0.0 <= more <= here <= 1.0
    if load > 0.0 and here > 1e-300:
        assert more < here


@settings(max_examples=150, deadline=None)
@given(servers=servers_st, low=load_st, high=load_st)
def test_erlang_b_increases_with_load(servers: int, low: float, high: float) -> None:
    low, high = sorted((low, high))
    assert erlang_b(servers, low) <= erlang_b(servers, high)


@settings(max_examples=150, deadline=None)
@given(agents=st.integers(min_value=1, max_value=3000), load=load_st)
def test_erlang_c_is_a_probability_above_erlang_b(agents: int, load: float) -> None:
    waiting = erlang_c(agents, load)
    assert 0.0 <= waiting <= 1.0
    assert waiting >= erlang_b(agents, load) * (1 - 1e-12)
    if load < agents:
        assert erlang_c(agents + 1, load) <= waiting
