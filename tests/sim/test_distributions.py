"""Samplers draw what their configuration says, reproducibly."""

from __future__ import annotations

import statistics
from random import Random

import pytest

from appliance.config import Empirical, Exponential, Fixed, Lognormal, Uniform
from sim.distributions import sampler

N = 40_000


@pytest.mark.parametrize(
    ("dist", "mean", "sd"),
    [
        (Exponential(dist="exponential", mean=90.0), 90.0, 90.0),
        (Lognormal(dist="lognormal", mean=150.0, sd=90.0), 150.0, 90.0),
        (Uniform(dist="uniform", low=10.0, high=20.0), 15.0, 10.0 / 12**0.5),
        (Fixed(dist="fixed", value=7.0), 7.0, 0.0),
        (Empirical(dist="empirical", values=[1.0, 2.0, 6.0]), 3.0, statistics.pstdev([1, 2, 6])),
    ],
    ids=lambda v: getattr(v, "dist", None),
)
def test_moments_match_the_configuration(dist, mean: float, sd: float) -> None:
    draw = sampler(dist, Random(5))
    values = [draw() for _ in range(N)]
    assert min(values) >= 0
    # Four standard errors of the mean; the sd within 5 %.
    assert abs(statistics.fmean(values) - mean) <= 4 * sd / N**0.5 + 1e-12
    assert statistics.pstdev(values) == pytest.approx(sd, rel=0.05, abs=1e-12)


def test_the_same_stream_gives_the_same_values_across_blocks() -> None:
    dist = Lognormal(dist="lognormal", mean=3.0, sd=1.5)
    first, second = sampler(dist, Random(9)), sampler(dist, Random(9))
    assert [first() for _ in range(1000)] == [second() for _ in range(1000)]
    other = sampler(dist, Random(10))
    assert [other() for _ in range(5)] != [first() for _ in range(5)]
