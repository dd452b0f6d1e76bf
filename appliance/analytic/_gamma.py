"""Incomplete gamma functions in log space, and the queue series of the M/M/c+M model.

scipy's regularized ``gammainc``/``gammaincc`` are accurate to a few ulps in relative terms but
underflow to zero in the far tails, which Erlang A reaches with a few hundred agents. The
functions here return logarithms and fall back to the textbook series (lower tail) or
continued fraction (upper tail) exactly where scipy's value would underflow; both converge
quickly there because the argument is then far from the shape parameter.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammainc, gammaincc

# Below this a regularized value may be subnormal or zero: recompute it in log space.
_TINY = 1e-280
# Relative size at which a further series term cannot change a float64 sum.
_NEGLIGIBLE = 1e-17
_CHUNK = 4096
_MAX_TERMS = 50_000_000
_MAX_FRACTION_TERMS = 10_000_000
_LOG_2PI = math.log(2.0 * math.pi)


def _stirling_correction(a: float) -> float:
    """lgamma(a + 1) - (a log a - a + log(2 pi a) / 2) for a >= 100, to float64 precision."""
    inv = 1.0 / a
    inv2 = inv * inv
    return inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))


def log_scale(a: float, z: float) -> float:
    """log(e**z * z**-a * Gamma(a + 1)) for a >= 0, z > 0.

    This is minus the log of the Poisson-like weight ``z**a e**-z / Gamma(a + 1)``. For large
    ``a`` the three terms are each about ``a log a`` and nearly cancel, so the value is
    assembled from ``(z - a) / a`` with ``log1p`` instead: the absolute error is then about
    one ulp of ``|z - a|`` rather than of ``a log a``.
    """
    if a < 100.0:
        return z - a * math.log(z) + math.lgamma(a + 1.0)
    d = (z - a) / a
    return a * (d - math.log1p(d)) + 0.5 * (_LOG_2PI + math.log(a)) + _stirling_correction(a)


def queue_series(x: float, y: float, *, moments: bool = True) -> tuple[float, float, float]:
    """Sums over queue lengths k of the weights ``w_k = prod_{j=1..k} y / (x + j)``.

    Requires ``0 <= y < x + 1`` so that every weight is at most 1 and they decrease. Returns
    ``(S1, M, E)`` with ``S1 = sum_{k>=1} w_k``, ``M = sum_{k>=1} k w_k`` and
    ``E = sum_{k>=0} w_k x / (x + k + 1) * sum_{j=1..k+1} 1 / (x + j)``; ``M`` and ``E`` are
    0.0 when ``moments`` is false. In the Erlang A model (times in units of the mean patience)
    ``w_k`` is the stationary probability of k waiting calls relative to c calls in service,
    and ``E`` collects the mean wait of answered calls (see ``erlang_a``).
    """
    if not 0.0 <= y < x + 1.0:
        raise ValueError(f"queue_series needs 0 <= y < x + 1, got x={x!r}, y={y!r}")
    if y == 0.0:
        e0 = x / (x + 1.0) ** 2 if moments else 0.0
        return 0.0, 0.0, e0
    s1 = m = e = 0.0
    log_w = 0.0  # log w_{start - 1}
    harmonic = 0.0  # sum_{j=1..start-1} 1 / (x + j)
    start = 1
    while True:
        j = np.arange(start, start + _CHUNK, dtype=float)
        if y < 0.5 * (x + start):
            steps = math.log(y) - np.log(x + j)
        else:
            # log(y / (x + j)) through log1p keeps full precision when the ratio is near 1.
            steps = np.log1p((y - x - j) / (x + j))
        logs = log_w + np.cumsum(steps)
        w = np.exp(logs)
        s1 += float(np.sum(w))
        if moments:
            m += float(np.dot(j, w))
            # E needs the k = start - 1 .. start + CHUNK - 2 terms: w_{k} with H_k up to x + k + 1.
            w_prev = np.concatenate(([math.exp(log_w)], w[:-1]))
            h = harmonic + np.cumsum(1.0 / (x + j))
            e += float(np.dot(w_prev * x / (x + j), h))
            harmonic = float(h[-1])
        log_w = float(logs[-1])
        start += _CHUNK
        last = float(w[-1])
        ratio = y / (x + start)
        tail = last * ratio / (1.0 - ratio)
        tail_k = last * start / (1.0 - ratio) ** 2
        if tail <= _NEGLIGIBLE * s1 and (not moments or tail_k <= _NEGLIGIBLE * m):
            break
        if start > _MAX_TERMS:
            raise ArithmeticError(f"queue series did not converge for x={x!r}, y={y!r}")
    return s1, m, e


def _upper_fraction(a: float, z: float) -> float:
    """Legendre's continued fraction h with Q(a, z) = a * h * z**a e**-z / Gamma(a + 1).

    Converges for z > a + 1 (modified Lentz algorithm).
    """
    fpmin = 1e-300
    b = z + 1.0 - a
    c = 1.0 / fpmin
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_FRACTION_TERMS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < fpmin:
            d = fpmin
        c = b + an / c
        if abs(c) < fpmin:
            c = fpmin
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            return h
    raise ArithmeticError(f"continued fraction did not converge for a={a!r}, z={z!r}")


def log_lower(a: float, z: float) -> float:
    """log P(a, z), the regularized lower incomplete gamma function; -inf at z = 0."""
    if z <= 0.0:
        return -math.inf
    p = float(gammainc(a, z))
    if p > 0.9:
        return math.log1p(-float(gammaincc(a, z)))
    if p >= _TINY:
        return math.log(p)
    # Far lower tail (z well below a): P = z**a e**-z / Gamma(a + 1) * (1 + S1(a, z)).
    s1, _, _ = queue_series(a, z, moments=False)
    return -log_scale(a, z) + math.log1p(s1)


def log_upper(a: float, z: float) -> float:
    """log Q(a, z), the regularized upper incomplete gamma function; 0 at z = 0."""
    if z <= 0.0:
        return 0.0
    if math.isinf(z):
        return -math.inf
    q = float(gammaincc(a, z))
    if q > 0.9:
        return math.log1p(-float(gammainc(a, z)))
    if q >= _TINY:
        return math.log(q)
    # Far upper tail (z well above a + 1), where the continued fraction converges fast.
    return math.log(a * _upper_fraction(a, z)) - log_scale(a, z)


def log1mexp(t: float) -> float:
    """log(1 - e**t) for t <= 0, accurate near both ends; -inf for t >= 0.

    Callers pass the difference of two rounded logarithms, which can come out at or
    a hair above 0 when the quantity they subtract is nil: its log is -inf.
    """
    if t >= 0.0:
        return -math.inf
    if t > -math.log(2.0):
        return math.log(-math.expm1(t))
    return math.log1p(-math.exp(t))


def log_between(a: float, lo: float, hi: float) -> float:
    """log(P(a, hi) - P(a, lo)) for 0 <= lo <= hi: the Gamma(a) mass on [lo, hi]."""
    if hi <= lo:
        return -math.inf
    if lo >= a:
        # Both ends in the upper part: subtract upper tails, which are the small numbers here.
        upper_lo = log_upper(a, lo)
        return upper_lo + log1mexp(log_upper(a, hi) - upper_lo)
    if hi <= a:
        lower_hi = log_lower(a, hi)
        return lower_hi + log1mexp(log_lower(a, lo) - lower_hi)
    # The interval holds the mean: both tails are below about one half, so 1 - sum is safe.
    outside = math.exp(log_lower(a, lo)) + math.exp(log_upper(a, hi))
    return math.log1p(-outside)
