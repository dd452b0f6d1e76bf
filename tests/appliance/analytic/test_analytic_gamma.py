"""Log-space incomplete gamma functions against direct quadrature of the Gamma density."""

from __future__ import annotations

import math

import pytest
from scipy.integrate import quad
from scipy.special import gammainc, gammaincc

from appliance.analytic._gamma import (
    log_between,
    log_lower,
    log_scale,
    log_upper,
    queue_series,
)


def log_gamma_mass(a: float, lo: float, hi: float) -> float:
    """log of the Gamma(a) probability of [lo, hi], by quadrature scaled to the density's peak.

    Needs a >= 1, where the density is log-concave: from its peak on [lo, hi] it falls at
    least as fast as exp(-|slope| t) at a boundary peak, or as a Gaussian of width
    peak / sqrt(a - 1) at an interior one.
    """

    peak = min(max(a - 1.0, lo), hi)

    def log_density(t: float) -> float:
        # Relative to the peak, through log1p: (a - 1) log t - t itself would lose ~1e-9 at a = 1e6.
        if t <= 0:
            return -math.inf
        return (a - 1.0) * math.log1p((t - peak) / peak) - (t - peak)

    slope = (a - 1.0) / peak - 1.0 if peak > 0 else math.inf
    interior = lo < peak < hi or slope == 0.0
    width = peak / math.sqrt(a - 1.0) if interior else 1.0 / abs(slope)
    start, stop = max(lo, peak - 80.0 * width), min(hi, peak + 80.0 * width)
    points = [p for p in (peak - width, peak, peak + width) if start < p < stop]
    value, _ = quad(
        lambda t: math.exp(log_density(t)),
        start,
        stop,
        points=points or None,
        epsabs=0.0,
        epsrel=1e-12,
        limit=1000,
    )
    return log_peak_density(a, peak) + math.log(value)


def log_peak_density(a: float, t: float) -> float:
    """log(t**(a - 1) e**-t / Gamma(a)); Stirling's series for large a, whose terms cancel."""
    if a < 100.0:
        return (a - 1.0) * math.log(t) - t - math.lgamma(a)
    # lgamma(a) = (a - 1/2) log a - a + log(2 pi) / 2 + 1/(12 a) - 1/(360 a^3) + 1/(1260 a^5)
    series = 1 / (12 * a) - 1 / (360 * a**3) + 1 / (1260 * a**5)
    return (
        (a - 1.0) * math.log1p((t - a) / a)
        - (t - a)
        - 0.5 * math.log(a)
        - 0.5 * math.log(2 * math.pi)
        - series
    )


@pytest.mark.parametrize(
    ("a", "z"),
    [(10.0, 5.0), (1000.0, 100.0), (50.0, 0.5), (1e6, 9.3e5), (3.5, 1e-3), (2.0, 1e-150),
     (4000.0, 2500.0), (1e5, 1e5 - 10.0), (1.5, 30.0)],
)  # fmt: skip
def test_log_lower(a: float, z: float) -> None:
    assert log_lower(a, z) == pytest.approx(log_gamma_mass(a, 0.0, z), abs=1e-9)


@pytest.mark.parametrize(
    ("a", "z"),
    [(10.0, 15.0), (11.0, 894.0), (5.0, 2000.0), (1e4, 1.4e4), (1.0, 800.0), (300.0, 1500.0),
     (1e6, 1.08e6), (20.0, 3.0)],
)  # fmt: skip
def test_log_upper(a: float, z: float) -> None:
    assert log_upper(a, z) == pytest.approx(log_gamma_mass(a, z, math.inf), abs=1e-9)


@pytest.mark.parametrize(
    ("a", "lo", "hi"),
    [(11.0, 800.0, 1000.0), (11.0, 894.0, 1000.0), (1e5, 0.99e5, 0.995e5), (1e5, 0.98e5, 1.02e5),
     (30.0, 1.0, 5.0), (30.0, 29.5, 30.5), (2.0, 1e-3, 2e-3), (400.0, 900.0, 901.0)],
)  # fmt: skip
def test_log_between(a: float, lo: float, hi: float) -> None:
    assert log_between(a, lo, hi) == pytest.approx(log_gamma_mass(a, lo, hi), abs=1e-9)
    assert log_between(a, hi, hi) == -math.inf


def test_underflow_switch_is_seamless() -> None:
    # Either side of the point where scipy's value underflows, both routes must agree.
    a = 1000.0
    for z in (330.0, 340.0, 350.0, 360.0):
        direct = float(gammainc(a, z))
        assert log_lower(a, z) == pytest.approx(log_gamma_mass(a, 0.0, z), abs=1e-9)
        if direct > 1e-300:
            assert log_lower(a, z) == pytest.approx(math.log(direct), abs=1e-11)
    for z in (1900.0, 1950.0, 2000.0, 2100.0):
        direct = float(gammaincc(a, z))
        assert log_upper(a, z) == pytest.approx(log_gamma_mass(a, z, math.inf), abs=1e-9)
        if direct > 1e-300:
            assert log_upper(a, z) == pytest.approx(math.log(direct), abs=1e-11)


def test_ends() -> None:
    assert log_lower(3.0, 0.0) == -math.inf
    assert log_upper(3.0, 0.0) == 0.0
    assert log_upper(3.0, math.inf) == -math.inf


@pytest.mark.parametrize("a", [0.0, 0.3, 7.0, 99.0, 100.0, 2500.0, 1e6])
@pytest.mark.parametrize("ratio", [0.01, 0.9, 1.0, 1.3, 40.0])
def test_log_scale(a: float, ratio: float) -> None:
    z = max(a, 1.0) * ratio
    direct = z - a * math.log(z) + math.lgamma(a + 1.0)
    # The direct form loses about one ulp of a log a, which is what the tolerance allows.
    tolerance = 1e-13 * max(1.0, abs(z) + abs(a * math.log(z)) + abs(math.lgamma(a + 1.0)))
    assert log_scale(a, z) == pytest.approx(direct, abs=tolerance)


@pytest.mark.parametrize(("x", "y"), [(0.1, 0.05), (5.0, 4.0), (50.0, 49.9), (1e4, 9.9e3)])
def test_queue_series_against_term_by_term_sums(x: float, y: float) -> None:
    s1 = m = 0.0
    e = x / (x + 1.0) / (x + 1.0)
    weight, harmonic = 1.0, 1.0 / (x + 1.0)
    for k in range(1, 200_000):
        weight *= y / (x + k)
        harmonic += 1.0 / (x + k + 1)
        s1 += weight
        m += k * weight
        e += weight * x / (x + k + 1) * harmonic
        if weight < 1e-30:
            break
    got = queue_series(x, y)
    assert got == pytest.approx((s1, m, e), rel=1e-11)


def test_queue_series_rejects_growing_weights() -> None:
    with pytest.raises(ValueError):
        queue_series(5.0, 6.5)
