"""Argument checks shared by the analytic models; each raises ValueError naming the argument."""

from __future__ import annotations

import math
import operator


def count(name: str, value: object, minimum: int) -> int:
    """``value`` as an int, which must be a whole number (not a bool) of at least ``minimum``."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {number}")
    return number


def _real(name: str, value: object) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if math.isnan(number):
        raise ValueError(f"{name} must not be NaN")
    return number


def nonnegative(name: str, value: object, *, allow_inf: bool = False) -> float:
    """``value`` as a float >= 0; infinity only when ``allow_inf``."""
    number = _real(name, value)
    if number < 0.0 or (math.isinf(number) and not allow_inf):
        limit = "a non-negative number" if allow_inf else "a finite non-negative number"
        raise ValueError(f"{name} must be {limit}, got {value!r}")
    return number


def positive(name: str, value: object, *, allow_inf: bool = False) -> float:
    """``value`` as a float > 0; infinity only when ``allow_inf``."""
    number = nonnegative(name, value, allow_inf=allow_inf)
    if number == 0.0:
        raise ValueError(f"{name} must be greater than zero, got {value!r}")
    return number


def fraction(name: str, value: object, *, low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float in [0, 1], with either end excluded on request."""
    number = _real(name, value)
    low_ok = number > 0.0 if low_open else number >= 0.0
    high_ok = number < 1.0 if high_open else number <= 1.0
    if not (low_ok and high_ok):
        interval = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return number
