"""Numbers as people read them: 1,234 calls, 80.5%, 13.2 s, 60.9 GB. None reads as a dash."""

from __future__ import annotations

import math

from appliance.kpi.storage import format_bytes

DASH = "–"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def number(value: float | None, digits: int = 0) -> str:
    """Thousands separated: 1,234 or 1,234.5."""
    return DASH if _missing(value) else f"{value:,.{digits}f}"


def whole(value: float | None) -> str:
    """A whole number, thousands separated; a fraction keeps up to two decimals (9.5)."""
    if _missing(value):
        return DASH
    if float(value).is_integer():  # type: ignore[arg-type]
        return f"{int(value):,}"  # type: ignore[arg-type]
    return f"{value:,.2f}".rstrip("0")


def percent(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage: 0.805 -> 80.5%."""
    return DASH if _missing(value) else f"{value:.{digits}%}"


def plus_minus(mean: float | None, half_width: float | None, digits: int = 1) -> str:
    """A fraction with its 95 % half-width: 88.6% ± 2.4%."""
    if _missing(mean):
        return DASH
    if _missing(half_width):
        return percent(mean, digits)
    return f"{percent(mean, digits)} ± {percent(half_width, digits)}"


def seconds(value: float | None, digits: int = 1) -> str:
    """13.2 s; from a minute up also as minutes: 180 s (3:00)."""
    if _missing(value):
        return DASH
    text = f"{value:,.{digits}f}".rstrip("0").rstrip(".") + " s"
    if value >= 60:
        whole = round(value)
        text += f" ({whole // 60}:{whole % 60:02d})"
    return text


def size(value: float | None) -> str:
    """Bytes in decimal units, as disks are sold: 60.9 GB."""
    return DASH if _missing(value) else format_bytes(value)  # type: ignore[arg-type]


def clock(seconds_of_day: float) -> str:
    """Seconds after midnight as HH:MM."""
    minutes = round(seconds_of_day / 60.0)
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


FILTERS = {"number": number, "whole": whole, "percent": percent, "plus_minus": plus_minus,
           "seconds": seconds, "size": size, "clock": clock}
"""The template's filters, by name."""
