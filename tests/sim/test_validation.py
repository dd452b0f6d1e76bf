"""The simulator, running the appliance's real ACD, reproduces queueing theory.

Each case builds a site whose assumptions match a textbook model - Poisson
arrivals, exponential talk (and patience), agents who answer at once and need
no wrap-up - simulates independent replications, and checks that the
analytic figure lies inside the simulation's own 99 % confidence interval
(Student's t over replications, after a warm-up cut so the empty start does
not bias the means). Seeds are fixed, so a pass or a failure repeats exactly.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from scipy.stats import t as student_t

from appliance.analytic import erlang_a, erlang_b, erlang_c, erlang_c_asa, erlang_c_service_level
from appliance.kpi import KpiReport
from sim.experiment import Experiment, run_replications
from tests.factories import build_site

REPLICATIONS = 10
CONFIDENCE = 0.99
THRESHOLD = 10.0  # service-level threshold, seconds


@dataclass(frozen=True)
class Interval:
    mean: float
    half_width: float

    def __contains__(self, value: float) -> bool:
        return abs(value - self.mean) <= self.half_width

    def __str__(self) -> str:
        return f"{self.mean:.5g} ± {self.half_width:.3g}"


def confidence_interval(values: list[float]) -> Interval:
    n = len(values)
    half = student_t.ppf(0.5 + CONFIDENCE / 2, n - 1) * statistics.stdev(values) / math.sqrt(n)
    return Interval(statistics.fmean(values), half)


def simulate(
    *,
    agents: int,
    trunks: int,
    calls_per_hour: float,
    aht: float,
    patience: float | None,
    hours: float,
    warmup_hours: float,
    seed: int,
) -> list[KpiReport]:
    call_type = {
        "name": "textbook",
        "trunk_group": "pstn",
        "talk_time": {"dist": "exponential", "mean": aht},
    }
    if patience is not None:
        call_type["patience"] = {"dist": "exponential", "mean": patience}
    site = build_site(
        agents=agents,
        trunks=trunks,
        wrap_up=0,
        ring_timeout=3600,
        queue={"service_level": {"threshold": THRESHOLD}},
        traffic={"calls_per_hour": calls_per_hour, "call_types": [call_type]},
        behaviour={"answer_delay": {"dist": "fixed", "value": 0}, "no_answer_probability": 0},
    )
    experiment = Experiment(site, hours, seed, warmup=warmup_hours * 3600)
    return run_replications(experiment, REPLICATIONS, workers=2)


def check(
    reports: list[KpiReport], name: str, figure: Callable[[KpiReport], float], expected: float
) -> str | None:
    interval = confidence_interval([figure(r) for r in reports])
    if expected in interval:
        return None
    return f"{name}: theory {expected:.5g} outside the simulation's 99 % CI {interval}"


def assert_all(problems: list[str | None]) -> None:
    found = [p for p in problems if p]
    assert not found, "\n".join(found)


# --- M/M/c against Erlang C --------------------------------------------------------

ERLANG_C_CASES = [
    # agents, aht (s), occupancy, hours, warm-up hours
    pytest.param(10, 180.0, 0.70, 24.0, 2.0, id="10 agents at 70 %"),
    pytest.param(28, 180.0, 0.86, 24.0, 2.0, id="28 agents at 86 %"),
    pytest.param(30, 30.0, 0.96, 6.0, 1.0, id="30 agents at 96 %"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("agents", "aht", "occupancy", "hours", "warmup"), ERLANG_C_CASES)
def test_mmc_matches_erlang_c(
    agents: int, aht: float, occupancy: float, hours: float, warmup: float
) -> None:
    load = agents * occupancy
    reports = simulate(
        agents=agents,
        trunks=10_000,
        calls_per_hour=load / aht * 3600,
        aht=aht,
        patience=None,
        hours=hours,
        warmup_hours=warmup,
        seed=11,
    )
    assert_all(
        [
            check(reports, "P(wait)", lambda r: r.center.queue_placement_rate,
                  erlang_c(agents, load)),
            check(reports, "service level", lambda r: r.center.service_level,
                  erlang_c_service_level(agents, load, aht, THRESHOLD)),
            check(reports, "ASA", lambda r: r.center.asa, erlang_c_asa(agents, load, aht)),
            check(reports, "occupancy", lambda r: r.center_agents.occupancy, occupancy),
        ]
    )


# --- M/M/N/N trunks against Erlang B ---------------------------------------------------

ERLANG_B_CASES = [
    # trunks, offered load (Erlangs)
    pytest.param(4, 2.0, id="4 trunks, 2 Erlangs"),
    pytest.param(30, 25.0, id="30 trunks, 25 Erlangs"),
    pytest.param(30, 36.0, id="30 trunks overloaded, 36 Erlangs"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("trunks", "load"), ERLANG_B_CASES)
def test_trunks_match_erlang_b(trunks: int, load: float) -> None:
    aht = 120.0
    reports = simulate(
        agents=trunks,  # an agent for every trunk: nobody queues, trunks alone block
        trunks=trunks,
        calls_per_hour=load / aht * 3600,
        aht=aht,
        patience=None,
        hours=12.0,
        warmup_hours=0.5,
        seed=21,
    )
    assert_all(
        [check(reports, "blocking", lambda r: r.center.blocked_rate, erlang_b(trunks, load))]
    )


# --- M/M/c+M against Erlang A ----------------------------------------------------------

ERLANG_A_CASES = [
    # agents, aht, offered load / agents, mean patience
    pytest.param(20, 60.0, 0.90, 60.0, id="20 agents, 90 % load, 60 s patience"),
    pytest.param(20, 60.0, 1.10, 90.0, id="20 agents, overloaded 110 %, 90 s patience"),
    pytest.param(8, 120.0, 0.97, 40.0, id="8 agents, 97 % load, 40 s patience"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("agents", "aht", "load_factor", "patience"), ERLANG_A_CASES)
def test_abandonment_matches_erlang_a(
    agents: int, aht: float, load_factor: float, patience: float
) -> None:
    arrival_rate = agents * load_factor / aht
    reports = simulate(
        agents=agents,
        trunks=10_000,
        calls_per_hour=arrival_rate * 3600,
        aht=aht,
        patience=patience,
        hours=10.0,
        warmup_hours=1.0,
        seed=31,
    )
    theory = erlang_a(agents, arrival_rate, aht, patience, THRESHOLD)

    def abandoned(r: KpiReport) -> float:
        return r.center.abandoned / r.center.offered

    def within(r: KpiReport) -> float:
        return r.center.answered_within_sl / r.center.offered

    assert_all(
        [
            check(reports, "P(abandon)", abandoned, theory.p_abandon),
            check(reports, "P(wait)", lambda r: r.center.queue_placement_rate, theory.p_wait),
            check(reports, "service level", within, theory.service_level),
            check(reports, "ASA", lambda r: r.center.asa, theory.asa),
        ]
    )
