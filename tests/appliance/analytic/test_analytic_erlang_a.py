"""Erlang A against the explicit birth-death chain, a tagged-call Markov chain and a simulation."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.linalg import expm, solve_banded
from scipy.special import logsumexp

from appliance.analytic import (
    ErlangAResult,
    agents_for_erlang_a,
    agents_for_service_level,
    erlang_a,
    erlang_c,
    erlang_c_asa,
    erlang_c_service_level,
)

AHT = 180.0


@dataclass(frozen=True)
class Chain:
    """The M/M/c+M stationary distribution, states 0..len(pi)-1, built from its rates alone."""

    agents: int
    arrival_rate: float
    service_rate: float
    abandon_rate: float
    pi: np.ndarray

    @property
    def queue_probabilities(self) -> np.ndarray:
        return self.pi[self.agents :]

    @property
    def p_wait(self) -> float:
        return float(self.pi[self.agents :].sum())

    @property
    def mean_queue(self) -> float:
        k = np.arange(len(self.pi) - self.agents)
        return float(np.dot(k, self.queue_probabilities))


def build_chain(agents: int, arrival_rate: float, aht: float, mean_patience: float) -> Chain:
    """Detailed balance pi_n lambda = pi_{n+1} death_{n+1}, in logs.

    The queue is cut where its states fall below 1e-18 of the largest queue state, so that
    even a tiny P(wait) keeps its relative precision.
    """
    mu = 1.0 / aht
    theta = 0.0 if math.isinf(mean_patience) else 1.0 / mean_patience
    n = np.arange(1, agents + 1)
    log_head = np.concatenate(([0.0], np.cumsum(np.log(arrival_rate) - np.log(n * mu))))
    pieces = [log_head[-1:]]
    last = log_head[-1]
    k0 = 1
    while True:
        k = np.arange(k0, k0 + 20_000)
        deaths = agents * mu + k * theta
        steps = np.log(arrival_rate) - np.log(deaths)
        logs = last + np.cumsum(steps)
        pieces.append(logs)
        last = logs[-1]
        k0 += len(k)
        peak = max(float(np.max(p)) for p in pieces)
        if steps[-1] < 0 and last < peak - 41.5:
            break
        assert k0 < 2_000_000, "chain too long"
    log_queue = np.concatenate(pieces)
    kept = int(np.nonzero(log_queue >= np.max(log_queue) - 41.5)[0][-1]) + 2
    log_pi = np.concatenate((log_head[:-1], log_queue[:kept]))
    pi = np.exp(log_pi - logsumexp(log_pi))
    return Chain(agents, arrival_rate, mu, theta, pi)


def tagged_call(chain: Chain, threshold: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a call arriving behind k waiting calls (k = 0..K): P(answered), E[wait; answered]
    and, if ``threshold`` is given, P(answered within threshold).

    The call's own Markov chain has states "j calls ahead"; it moves to j - 1 (to an agent
    from j = 0) at rate c mu + j theta and abandons at rate theta.
    """
    size = len(chain.queue_probabilities)
    j = np.arange(size)
    advance = chain.agents * chain.service_rate + j * chain.abandon_rate
    to_agent = np.zeros(size)
    to_agent[0] = advance[0]
    # -generator is lower bidiagonal: leaving rate on the diagonal, -advance below it.
    bands = np.zeros((2, size))
    bands[0] = advance + chain.abandon_rate
    bands[1, :-1] = -advance[1:]
    answered = solve_banded((1, 0), bands, to_agent)
    answered_time = solve_banded((1, 0), bands, answered)
    within = np.full(size, np.nan)
    if threshold is not None:
        generator = np.diag(-(advance + chain.abandon_rate)) + np.diag(advance[1:], k=-1)
        # Absorption into "answered" by the threshold: augment the generator with that state.
        augmented = np.zeros((size + 1, size + 1))
        augmented[:size, :size] = generator
        augmented[:size, size] = to_agent
        within = expm(augmented * threshold)[:size, size]
    return answered, answered_time, within


def chain_figures(agents: int, rate: float, patience: float, threshold: float | None) -> dict:
    chain = build_chain(agents, rate, AHT, patience)
    answered, answered_time, within = tagged_call(chain, threshold)
    queue = chain.queue_probabilities
    free = float(chain.pi[:agents].sum())
    p_answered = free + float(np.dot(queue, answered))
    return {
        "chain": chain,
        "p_wait": chain.p_wait,
        "mean_queue": chain.mean_queue,
        "p_abandon": chain.abandon_rate * chain.mean_queue / rate,
        "p_answered": p_answered,
        "asa": float(np.dot(queue, answered_time)) / p_answered,
        "service_level": free + float(np.dot(queue, within)) if threshold is not None else None,
    }


# --- the stationary distribution --------------------------------------------------------------

GRID = [
    (agents, factor, ratio)
    for agents in (1, 2, 5, 17, 60, 150, 300)
    for factor in (0.3, 0.7, 0.95, 1.0, 1.05, 1.5)
    for ratio in (0.05, 0.5, 2.0, 25.0)
]


@pytest.mark.parametrize(("agents", "factor", "ratio"), GRID)
def test_stationary_figures_match_chain(agents: int, factor: float, ratio: float) -> None:
    rate = factor * agents / AHT
    patience = ratio * AHT
    ours = erlang_a(agents, rate, AHT, patience, threshold=20.0)
    ref = chain_figures(agents, rate, patience, threshold=None)
    chain = ref["chain"]
    assert ours.p_wait == pytest.approx(ref["p_wait"], rel=1e-9)
    assert ours.p_abandon == pytest.approx(ref["p_abandon"], rel=1e-9)
    assert ours.mean_queue_length == pytest.approx(ref["mean_queue"], rel=1e-9)
    assert 1 - ours.p_abandon == pytest.approx(ref["p_answered"], rel=1e-9)
    assert ours.asa == pytest.approx(ref["asa"], rel=1e-9)
    # Little's law on the agents: carried load = mean number busy.
    busy = float(np.dot(np.minimum(np.arange(len(chain.pi)), agents), chain.pi))
    assert ours.occupancy == pytest.approx(busy / agents, rel=1e-9)
    assert ours.mean_wait == pytest.approx(ref["mean_queue"] / rate, rel=1e-9)


SMALL_GRID = [
    (agents, factor, ratio, threshold)
    for agents in (1, 3, 12, 40)
    for factor in (0.5, 0.9, 1.0, 1.2, 2.0)
    for ratio in (0.1, 1.0, 5.0)
    for threshold in (5.0, 20.0, 90.0)
]


@pytest.mark.parametrize(("agents", "factor", "ratio", "threshold"), SMALL_GRID)
def test_service_level_matches_tagged_call_chain(
    agents: int, factor: float, ratio: float, threshold: float
) -> None:
    rate = factor * agents / AHT
    patience = ratio * AHT
    ours = erlang_a(agents, rate, AHT, patience, threshold=threshold)
    ref = chain_figures(agents, rate, patience, threshold=threshold)
    assert ours.service_level == pytest.approx(ref["service_level"], rel=1e-9)
    assert ours.asa == pytest.approx(ref["asa"], rel=1e-9)


def test_threshold_extremes() -> None:
    result = erlang_a(10, 11 / AHT, AHT, 60.0, threshold=0.0)
    assert result.service_level == pytest.approx(1 - result.p_wait, rel=1e-12)
    result = erlang_a(10, 11 / AHT, AHT, 60.0, threshold=math.inf)
    assert result.service_level == pytest.approx(1 - result.p_abandon, rel=1e-12)
    below = erlang_a(10, 7 / AHT, AHT, 60.0, threshold=math.inf)
    assert below.service_level == pytest.approx(1 - below.p_abandon, rel=1e-12)


# --- a simulation -----------------------------------------------------------------------------


def simulate(
    agents: int, rate: float, aht: float, patience: float, threshold: float, calls: int, seed: int
) -> dict[str, np.ndarray]:
    """FCFS M/M/c+M, one call at a time: a call takes the first agent to come free after its
    arrival (earlier calls have already taken theirs) unless its patience runs out first."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / rate, calls)).tolist()
    services = rng.exponential(aht, calls).tolist()
    patiences = rng.exponential(patience, calls).tolist()
    free_at = [0.0] * agents
    waited = np.zeros(calls, dtype=bool)
    answered = np.zeros(calls, dtype=bool)
    wait = np.zeros(calls)
    for i in range(calls):
        now = arrivals[i]
        first_free = free_at[0]
        if first_free <= now:
            heapq.heapreplace(free_at, now + services[i])
            answered[i] = True
            continue
        waited[i] = True
        delay = first_free - now
        if delay <= patiences[i]:
            heapq.heapreplace(free_at, first_free + services[i])
            answered[i] = True
            wait[i] = delay
        else:
            wait[i] = patiences[i]
    return {"waited": waited, "answered": answered, "wait": wait}


def test_against_simulation() -> None:
    agents, rate, patience, threshold = 5, 5.4 / AHT, 120.0, 20.0
    run = simulate(agents, rate, AHT, patience, threshold, calls=1_000_000, seed=20240521)
    # Drop the first calls, which saw an empty system, then use 100 batch means: batches of
    # 9,900 calls are hundreds of busy periods long, so their means are close to independent
    # and the standard error below accounts for the correlation between successive calls.
    keep = slice(10_000, None)
    within = run["answered"][keep] & (run["wait"][keep] <= threshold)
    figures = {
        "service_level": within,
        "p_abandon": ~run["answered"][keep],
        "p_wait": run["waited"][keep],
        "mean_wait": run["wait"][keep],
    }
    model = erlang_a(agents, rate, AHT, patience, threshold)
    for name, sample in figures.items():
        batches = sample.astype(float).reshape(100, -1).mean(axis=1)
        estimate = batches.mean()
        error = batches.std(ddof=1) / math.sqrt(len(batches))
        expected = getattr(model, name)
        # The run is seeded, so this is deterministic; 4.5 standard errors would be exceeded
        # by chance about once in 150,000 seeds, while the error bound keeps the check sharp
        # (well under 1 % of each figure).
        assert error < 0.01 * expected, name
        assert abs(estimate - expected) < 4.5 * error, (name, estimate, expected, error)
    answered = run["answered"][keep]
    asa = run["wait"][keep][answered].mean()
    assert asa == pytest.approx(model.asa, rel=0.03)


# --- limits, large systems and continuity -----------------------------------------------------


@pytest.mark.parametrize(("agents", "load"), [(1, 0.5), (14, 10.0), (120, 110.0), (500, 499.0)])
def test_infinite_patience_is_erlang_c(agents: int, load: float) -> None:
    result = erlang_a(agents, load / AHT, AHT, math.inf, threshold=20.0)
    assert result.p_wait == pytest.approx(erlang_c(agents, load), rel=1e-12)
    assert result.service_level == pytest.approx(
        erlang_c_service_level(agents, load, AHT, 20.0), rel=1e-12
    )
    assert result.asa == pytest.approx(erlang_c_asa(agents, load, AHT), rel=1e-12)
    assert result.mean_wait == result.asa
    assert result.p_abandon == 0.0
    assert result.occupancy == pytest.approx(load / agents)


def test_infinite_patience_overloaded_is_unbounded() -> None:
    result = erlang_a(10, 12 / AHT, AHT, math.inf)
    assert result == ErlangAResult(1.0, 0.0, 0.0, math.inf, math.inf, math.inf, 1.0)


@pytest.mark.parametrize(("agents", "load"), [(14, 10.0), (120, 110.0)])
def test_long_patience_approaches_erlang_c(agents: int, load: float) -> None:
    # With patience 1e7 AHTs almost nobody abandons: the figures are Erlang C's up to O(1e-7).
    result = erlang_a(agents, load / AHT, AHT, 1e7 * AHT, threshold=20.0)
    assert result.p_wait == pytest.approx(erlang_c(agents, load), rel=1e-6)
    assert result.service_level == pytest.approx(
        erlang_c_service_level(agents, load, AHT, 20.0), rel=1e-6
    )
    assert result.asa == pytest.approx(erlang_c_asa(agents, load, AHT), rel=1e-6)
    assert 0.0 < result.p_abandon < 1e-6


def test_long_patience_overload_loses_the_excess() -> None:
    # Far more patient callers than agents can serve: all wait, the excess lambda - c mu abandons.
    result = erlang_a(100, 120 / AHT, AHT, 1e6 * AHT)
    assert result.p_wait == pytest.approx(1.0, abs=1e-12)
    assert result.p_abandon == pytest.approx(20 / 120, rel=1e-5)
    assert result.occupancy == pytest.approx(1.0, rel=1e-5)


def test_continuous_across_capacity() -> None:
    # The implementation switches method at lambda = c mu; the figures must not jump there.
    agents, patience = 250, 90.0
    capacity = agents / AHT
    below = erlang_a(agents, capacity * (1 - 1e-12), AHT, patience)
    above = erlang_a(agents, capacity * (1 + 1e-12), AHT, patience)
    exact = erlang_a(agents, capacity, AHT, patience)
    for name in ("p_wait", "p_abandon", "service_level", "asa", "mean_queue_length"):
        assert getattr(below, name) == pytest.approx(getattr(above, name), rel=1e-9), name
        assert getattr(exact, name) == pytest.approx(getattr(above, name), rel=1e-9), name


def test_five_hundred_agents_overloaded() -> None:
    rate, patience = 550 / AHT, 180.0
    results = [erlang_a(c, rate, AHT, patience) for c in (499, 500, 501)]
    for r in results:
        for value in (r.p_wait, r.p_abandon, r.service_level, r.occupancy):
            assert math.isfinite(value) and 0.0 <= value <= 1.0
        assert math.isfinite(r.asa) and math.isfinite(r.mean_queue_length)
    assert results[0].p_wait > results[1].p_wait > results[2].p_wait
    assert results[0].p_abandon > results[1].p_abandon > results[2].p_abandon
    assert results[0].service_level < results[1].service_level < results[2].service_level
    ref = chain_figures(500, rate, patience, threshold=None)
    assert results[1].p_abandon == pytest.approx(ref["p_abandon"], rel=1e-9)


@pytest.mark.parametrize(
    ("agents", "load", "ratio"),
    [(2000, 1500.0, 1.0), (2000, 2600.0, 0.2), (5000, 5200.0, 3.0), (3000, 2999.0, 40.0)],
)
def test_thousands_of_agents_match_chain(agents: int, load: float, ratio: float) -> None:
    rate, patience = load / AHT, ratio * AHT
    ours = erlang_a(agents, rate, AHT, patience)
    ref = chain_figures(agents, rate, patience, threshold=None)
    assert ours.p_wait == pytest.approx(ref["p_wait"], rel=1e-9)
    assert ours.p_abandon == pytest.approx(ref["p_abandon"], rel=1e-9)
    assert ours.asa == pytest.approx(ref["asa"], rel=1e-9)


def test_zero_arrivals() -> None:
    assert erlang_a(3, 0.0, AHT, 60.0) == ErlangAResult(0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)


# --- sizing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("load", [0.5, 8.0, 40.0, 400.0])
@pytest.mark.parametrize("patience", [30.0, 180.0, 1800.0])
@pytest.mark.parametrize(("target", "max_abandon"), [(0.8, None), (0.9, 0.02), (0.2, 0.05)])
def test_agents_for_erlang_a_is_smallest(
    load: float, patience: float, target: float, max_abandon: float | None
) -> None:
    rate = load / AHT

    def meets(agents: int) -> bool:
        r = erlang_a(agents, rate, AHT, patience, threshold=20.0)
        return r.service_level >= target and (max_abandon is None or r.p_abandon <= max_abandon)

    agents = agents_for_erlang_a(rate, AHT, patience, 20.0, target, max_abandon)
    assert meets(agents)
    assert agents == 1 or not meets(agents - 1)


def test_agents_for_erlang_a_needs_fewer_agents_than_erlang_c() -> None:
    # Abandonment shortens the queue, so impatient callers need no more agents than Erlang C.
    rate = 100 / 1800
    with_abandon = agents_for_erlang_a(rate, AHT, 60.0, 20.0, 0.8)
    assert with_abandon <= agents_for_service_level(10.0, AHT, 20.0, 0.8) == 14
    assert agents_for_erlang_a(rate, AHT, math.inf, 20.0, 0.8) == 14


def test_agents_for_erlang_a_abandonment_can_bind() -> None:
    rate = 50 / AHT
    by_level = agents_for_erlang_a(rate, AHT, 120.0, 20.0, 0.5)
    by_abandon = agents_for_erlang_a(rate, AHT, 120.0, 20.0, 0.5, max_abandon=0.001)
    assert by_abandon > by_level
    assert erlang_a(by_abandon, rate, AHT, 120.0).p_abandon <= 0.001


# --- invalid input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: erlang_a(0, 0.1, AHT, 60.0),
        lambda: erlang_a(3, -0.1, AHT, 60.0),
        lambda: erlang_a(3, 0.1, 0.0, 60.0),
        lambda: erlang_a(3, 0.1, AHT, 0.0),
        lambda: erlang_a(3, 0.1, AHT, -5.0),
        lambda: erlang_a(3, 0.1, AHT, 60.0, threshold=-1.0),
        lambda: erlang_a(3, math.inf, AHT, 60.0),
        lambda: erlang_a(3.0, 0.1, AHT, 60.0),
        lambda: agents_for_erlang_a(0.1, AHT, 60.0, 20.0, 1.0),
        lambda: agents_for_erlang_a(0.1, AHT, 60.0, 20.0, 0.8, max_abandon=0.0),
        lambda: agents_for_erlang_a(0.1, AHT, 60.0, 20.0, 0.8, max_abandon=1.5),
    ],
)
def test_invalid_arguments_raise_value_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call()


# --- properties -------------------------------------------------------------------------------

agents_st = st.integers(min_value=1, max_value=400)
factor_st = st.floats(min_value=0.05, max_value=2.5)
ratio_st = st.floats(min_value=0.02, max_value=50.0)


@settings(max_examples=80, deadline=None)
@given(agents=agents_st, low=factor_st, high=factor_st, ratio=ratio_st)
def test_abandonment_rises_with_load(agents: int, low: float, high: float, ratio: float) -> None:
    low, high = sorted((low, high))
    lighter = erlang_a(agents, low * agents / AHT, AHT, ratio * AHT)
    heavier = erlang_a(agents, high * agents / AHT, AHT, ratio * AHT)
    assert heavier.p_abandon >= lighter.p_abandon * (1 - 1e-9)
    assert heavier.p_wait >= lighter.p_wait * (1 - 1e-9)


@settings(max_examples=80, deadline=None)
@given(agents=agents_st, factor=factor_st, short=ratio_st, long=ratio_st)
def test_abandonment_falls_with_patience(
    agents: int, factor: float, short: float, long: float
) -> None:
    short, long = sorted((short, long))
    rate = factor * agents / AHT
    impatient = erlang_a(agents, rate, AHT, short * AHT)
    patient = erlang_a(agents, rate, AHT, long * AHT)
    assert patient.p_abandon <= impatient.p_abandon * (1 + 1e-9)


@settings(max_examples=80, deadline=None)
@given(agents=agents_st, factor=factor_st, ratio=ratio_st, threshold=st.floats(0.0, 600.0))
# Found by exploration: a threshold of a hair above 0 made the Gamma mass between two
# nearly equal bounds a log of a rounded non-positive number.
@example(agents=3, factor=2.0, ratio=5.0, threshold=6.422438237679431e-13)
def test_figures_are_consistent(agents: int, factor: float, ratio: float, threshold: float) -> None:
    rate = factor * agents / AHT
    r = erlang_a(agents, rate, AHT, ratio * AHT, threshold)
    assert 0.0 <= r.p_abandon <= r.p_wait <= 1.0
    # Answered within the threshold: at least those never queued, at most those answered.
    assert 1 - r.p_wait - 1e-12 <= r.service_level <= 1 - r.p_abandon + 1e-12
    assert 0.0 <= r.occupancy <= 1.0
    assert r.occupancy == pytest.approx(factor * (1 - r.p_abandon), rel=1e-9)
    assert r.mean_wait == pytest.approx(r.p_abandon * ratio * AHT, rel=1e-12)
    more = erlang_a(agents + 1, rate, AHT, ratio * AHT, threshold)
    assert more.service_level >= r.service_level - 1e-12
    assert more.p_abandon <= r.p_abandon * (1 + 1e-9)


@pytest.mark.parametrize(
    ("agents", "load", "ratio", "threshold"),
    [(400, 100.0, 3.0, 20.0), (3, 400.0, 2.0, 60.0), (60, 20.0, 50.0, 20.0),
     (1000, 500.0, 0.5, 20.0)],
)  # fmt: skip
def test_tiny_figures_keep_relative_precision(
    agents: int, load: float, ratio: float, threshold: float
) -> None:
    # Probabilities far below 1e-16 (waiting with 4 agents per Erlang, being answered within
    # a minute among 400 Erlangs on 3 agents) are still exact to many digits, not rounded to 0.
    rate, patience = load / AHT, ratio * AHT
    ours = erlang_a(agents, rate, AHT, patience, threshold)
    ref = chain_figures(agents, rate, patience, threshold)
    assert ours.p_wait == pytest.approx(ref["p_wait"], rel=1e-9)
    assert ours.p_abandon == pytest.approx(ref["p_abandon"], rel=1e-9)
    assert ours.asa == pytest.approx(ref["asa"], rel=1e-9)
    assert ours.service_level == pytest.approx(ref["service_level"], rel=1e-9)
    assert min(ours.p_wait, ours.p_abandon, ours.service_level) < 1e-12
