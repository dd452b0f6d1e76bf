"""Turn a configured distribution into a sampler bound to one random stream."""

from __future__ import annotations

import math
from collections.abc import Callable
from random import Random

import numpy as np

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
        # A lognormal draw in pure Python costs a microsecond; numpy draws a
        # block at a time, from a generator seeded by this stream.
        generator = np.random.default_rng(rng.getrandbits(128))
        return _buffered(lambda size: generator.lognormal(mu, sigma, size))
    if kind == "uniform":
        low, high = dist.low, dist.high
        uniform = rng.uniform
        return lambda: uniform(low, high)
    if kind == "empirical":
        values = tuple(float(v) for v in dist.values)
        choice = rng.choice
        return lambda: choice(values)
    raise ValueError(f"unknown distribution kind {kind!r}")


BLOCK = 256


def _buffered(draw: Callable[[int], np.ndarray]) -> Sampler:
    """Hand out values of ``draw(BLOCK)`` one by one, in order, drawing the next block as needed."""
    buffer: list[float] = []

    def next_value() -> float:
        if not buffer:
            buffer.extend(reversed(draw(BLOCK).tolist()))
        return buffer.pop()

    return next_value
