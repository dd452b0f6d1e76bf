"""Turn a configured distribution into a sampler bound to one random stream."""

from __future__ import annotations

import math
from collections.abc import Callable
from random import Random

from appliance.config import Distribution

Sampler = Callable[[], float]


def sampler(dist: Distribution, rng: Random) -> Sampler:
    """A function drawing one value (seconds) of ``dist`` from ``rng`` per call."""
    kind = dist.dist
    if kind == "exponential":
        rate = 1.0 / dist.mean
        expovariate = rng.expovariate
        return lambda: expovariate(rate)
    if kind == "fixed":
        value = float(dist.value)
        return lambda: value
    if kind == "lognormal":
        # Parameters of the underlying normal from the distribution's own mean and sd.
        sigma2 = math.log1p((dist.sd / dist.mean) ** 2)
        mu = math.log(dist.mean) - sigma2 / 2
        sigma = math.sqrt(sigma2)
        lognormvariate = rng.lognormvariate
        return lambda: lognormvariate(mu, sigma)
    if kind == "uniform":
        low, high = dist.low, dist.high
        uniform = rng.uniform
        return lambda: uniform(low, high)
    if kind == "empirical":
        values = tuple(float(v) for v in dist.values)
        choice = rng.choice
        return lambda: choice(values)
    raise ValueError(f"unknown distribution kind {kind!r}")
