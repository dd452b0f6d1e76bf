"""Poisson arrivals with a piecewise-constant rate per interval (e.g. 48 half hours)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from random import Random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance.config import Traffic


class RateProfile:
    """Calls per second in each interval from the run's start, repeating (a day's profile)."""

    def __init__(self, calls_per_hour: float | Sequence[float], interval: float) -> None:
        if isinstance(calls_per_hour, int | float):
            calls_per_hour = [float(calls_per_hour)]
        self.per_second = [rate / 3600.0 for rate in calls_per_hour]
        self.interval = interval
        self.quiet = not any(self.per_second)

    @classmethod
    def of_day(cls, traffic: Traffic) -> RateProfile:
        """The site's traffic, day after day (quiet outside its profile)."""
        return cls(traffic.day_profile, traffic.interval_minutes * 60.0)

    def rate_at(self, t: float) -> float:
        return self.per_second[int(t // self.interval) % len(self.per_second)]

    def next_arrival(self, t: float, rng: Random) -> float:
        """Time of the first arrival after ``t``, or inf if every interval has rate 0.

        Within an interval the rate is constant, so the gap is exponential; a
        gap that runs past the interval's end is redrawn from the boundary at
        the next rate (exact, because the exponential is memoryless).
        """
        if self.quiet:
            return math.inf
        while True:
            index = int(t // self.interval)
            rate = self.per_second[index % len(self.per_second)]
            boundary = (index + 1) * self.interval
            if rate > 0:
                candidate = t + rng.expovariate(rate)
                if candidate < boundary:
                    return candidate
            t = boundary
