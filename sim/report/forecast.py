"""The forecast a report shows against what happened: its shape, its checks, daily totals.

A forecast is JSON-ready data::

    {
      "history":  [{"start": "2024-03-04T08:00:00", "calls": 41}, ...],   # calls per interval
      "holdout":  [{"start": "...", "actual": 37, "predicted": 39.2}, ...], # held-out intervals
      "forecast": [{"start": "...", "calls": 40.5, "low": 29.0, "high": 53.1}, ...],
      "mape": 12.4,          # the model's interval MAPE on the hold-out, in percent
      "naive_mape": 17.9,    # seasonal-naive's (same weekday and time a week before), in percent
      "level": 0.9           # optional: the probability between low and high
    }

`start` is an ISO 8601 date and time (the interval's start); each list in time order; any list
may be empty.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any


class ForecastShapeError(ValueError):
    """A forecast dict of the wrong shape; the message names the field."""


_FIELDS = {"history": ("start", "calls"), "holdout": ("start", "actual", "predicted"),
           "forecast": ("start", "calls", "low", "high")}


def check_forecast(forecast: dict[str, Any]) -> dict[str, Any]:
    """The forecast, checked: raises ForecastShapeError naming the first field that is wrong."""
    for name, fields in _FIELDS.items():
        for number, row in enumerate(forecast.get(name, ())):
            missing = [f for f in fields if f not in row]
            if missing:
                raise ForecastShapeError(f"forecast.{name}[{number}]: expected fields "
                                         f"{', '.join(missing)}")
        starts(forecast, name)
    for name in ("mape", "naive_mape"):
        if not isinstance(forecast.get(name), int | float):
            raise ForecastShapeError(f"forecast.{name}: expected a number (percent)")
    return forecast


def starts(forecast: dict[str, Any], name: str) -> list[datetime]:
    try:
        return [datetime.fromisoformat(row["start"]) for row in forecast.get(name, ())]
    except (TypeError, ValueError) as error:
        raise ForecastShapeError(f"forecast.{name}: expected ISO 8601 starts; {error}") from None


def improvement(forecast: dict[str, Any]) -> float | None:
    """How much lower the model's MAPE is than seasonal-naive's (0.3 = 30 %)."""
    naive = forecast["naive_mape"]
    return None if not naive else 1.0 - forecast["mape"] / naive


def daily_totals(forecast: dict[str, Any]) -> list[dict[str, Any]]:
    """Expected calls per forecast day and its busiest interval."""
    days: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for moment, row in zip(starts(forecast, "forecast"), forecast.get("forecast", ()),
                           strict=True):
        days[moment.date().isoformat()].append((moment, row["calls"]))
    totals = []
    for day, rows in days.items():
        peak_at, peak = max(rows, key=lambda item: item[1])
        totals.append({"day": day, "calls": sum(calls for _, calls in rows),
                       "peak_start": peak_at.strftime("%H:%M"), "peak_calls": peak})
    return totals
