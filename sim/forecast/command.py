"""``ccbox forecast`` and ``ccbox forecast-history``: forecast call volume from a history file.

`register(app)` adds both commands to a Typer app.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import date, timedelta
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table

from sim.forecast.history import (
    HistoryError,
    HistorySpec,
    generate_history,
    read_history,
    write_history,
)
from sim.forecast.model import (
    Evaluation,
    Forecast,
    ForecastError,
    evaluate,
    fit,
    forecast,
    profile_for_day,
)


def _fail(message: str) -> NoReturn:
    typer.echo(f"ccbox: {message}", err=True)
    raise typer.Exit(2)


def _dates(option: str, values: list[str] | None) -> list[date]:
    days = []
    for text in values or []:
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            _fail(f"{option}: expected a date like 2026-04-06; got {text!r}")
    return days


def forecast_command(
    history: Path = typer.Argument(..., help="History CSV: start,calls[,campaign,holiday]"),
    days: int = typer.Option(14, min=1, help="Days to forecast after the history's last day"),
    holdout_days: int = typer.Option(
        14, min=0, help="Days at the end held out to score the model against seasonal-naive "
        "(0: no scoring)"),
    json_out: bool = typer.Option(False, "--json", help="Print everything as JSON, with "
                                  "every interval"),
    out: Path | None = typer.Option(None, help="Write the forecast per interval as CSV here"),
    campaign: list[str] | None = typer.Option(
        None, help="A planned campaign day in the forecast (repeat for more)"),
    holiday: list[str] | None = typer.Option(
        None, help="A planned holiday in the forecast (repeat for more)"),
) -> None:
    """Fit an ARIMAX model to a call history and forecast calls per day and interval."""
    campaign_days, holidays = _dates("--campaign", campaign), _dates("--holiday", holiday)
    if out is not None and not out.parent.is_dir():
        _fail(f"--out {out}: no directory {out.parent} to write it in")
    try:
        past = read_history(history)
        model = fit(past)
        scores = evaluate(past, holdout_days) if holdout_days else None
        start = past.last_day + timedelta(days=1)
        result = forecast(model, start, start + timedelta(days=days - 1), campaign_days,
                          holidays)
    except (HistoryError, ForecastError) as error:
        _fail(str(error))
    summary = {"history": str(history), "first_day": past.first_day.isoformat(),
               "last_day": past.last_day.isoformat(), **model.summary()}
    if out is not None:
        write_forecast(result, out)
    if json_out:
        typer.echo(json.dumps(_as_json(summary, scores, result), indent=2))
        return
    console = Console()
    if not console.is_terminal:
        console.width = 120
    console.print(_summary_table(summary))
    if scores is not None:
        console.print(_scores_table(scores))
    console.print(_days_table(result))
    if out is not None:
        console.print(f"Forecast per interval written to {out}")


def forecast_history_command(
    out: Path = typer.Argument(..., help="CSV file to write"),
    weeks: int = typer.Option(12, min=1, help="Weeks of history"),
    seed: int = typer.Option(1, help="Seed of the random stream"),
    start: str = typer.Option("2026-01-05", help="First day"),
    interval: int = typer.Option(30, min=1, help="Interval length, minutes"),
    opens: str = typer.Option("08:00", help="Opening time"),
    closes: str = typer.Option("20:00", help="Closing time"),
    calls_per_day: float = typer.Option(1500.0, min=1.0, help="An average weekday's calls"),
) -> None:
    """Write a synthetic call history (weekday pattern, trend, campaigns, holidays)."""
    from datetime import time

    try:
        spec = HistorySpec(weeks=weeks, start=date.fromisoformat(start),
                           interval_minutes=interval, opens=time.fromisoformat(opens),
                           closes=time.fromisoformat(closes), calls_per_day=calls_per_day)
    except ValueError as error:
        _fail(str(error))
    if not out.parent.is_dir():
        _fail(f"{out}: no directory {out.parent} to write it in")
    history = generate_history(spec, seed)
    write_history(history, out)
    typer.echo(f"{out}: {len(history.starts)} intervals, {history.first_day} to "
               f"{history.last_day}, {int(history.calls.sum())} calls")


def write_forecast(result: Forecast, path: Path) -> None:
    """The forecast per interval as CSV: start, expected calls, bounds, calls per hour."""
    per_hour = 60 / result.interval_minutes
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["start", "expected", "lower", "upper", "calls_per_hour"])
        for item in result.intervals:
            writer.writerow([item.start.isoformat(timespec="minutes"), f"{item.expected:.2f}",
                             f"{item.lower:g}", f"{item.upper:g}",
                             f"{item.expected * per_hour:.2f}"])


def _as_json(summary: dict[str, object], scores: Evaluation | None,
             result: Forecast) -> dict[str, object]:
    per_hour = 60 / result.interval_minutes
    return {
        "model": summary,
        "evaluation": None if scores is None else {
            "holdout_start": scores.holdout_start.isoformat(),
            "holdout_end": scores.holdout_end.isoformat(),
            "intervals_scored": scores.intervals_scored,
            "interval_mape": scores.interval_mape,
            "naive_interval_mape": scores.naive_interval_mape,
            "daily_mape": scores.daily_mape,
            "naive_daily_mape": scores.naive_daily_mape,
            "improvement": scores.improvement,
        },
        "forecast": {
            "interval_minutes": result.interval_minutes,
            "opens": result.opens.strftime("%H:%M"),
            "level": result.level,
            "days": [{
                "date": day.day.isoformat(), "weekday": day.day.strftime("%a"),
                "open": day.open, "campaign": day.campaign, "holiday": day.holiday,
                "expected": day.expected, "lower": day.lower, "upper": day.upper,
                "calls_per_hour": profile_for_day(result, day.day),
            } for day in result.days],
            "intervals": [{
                "start": item.start.isoformat(timespec="minutes"), "expected": item.expected,
                "lower": item.lower, "upper": item.upper,
                "calls_per_hour": item.expected * per_hour,
            } for item in result.intervals],
        },
    }


def _summary_table(summary: dict[str, object]) -> Table:
    table = Table("figure", "value", title=f"Fit: {summary['history']}")
    factor = {None: "not in the history"}
    rows = [
        ("history", f"{summary['first_day']} to {summary['last_day']}, "
                    f"{summary['days']} open days"),
        ("open", f"{', '.join(summary['open_weekdays'])} from {summary['opens']}, "
                 f"{summary['intervals_per_day']} x {summary['interval_minutes']} min"),
        ("model", str(summary["formulation"])),
        ("campaign day", factor.get(summary["campaign_factor"])
         or f"x {summary['campaign_factor']:.2f}"),
        ("holiday", factor.get(summary["holiday_factor"])
         or f"x {summary['holiday_factor']:.2f}"),
        ("trend", f"{100 * summary['trend_per_week']:+.2f} % per week"),
        ("AR(1)", f"{summary['ar1']:.2f}"),
        ("AIC", f"{summary['aic']:.1f}" + ("" if summary["converged"] else " (not converged)")),
        ("fit time", f"{summary['fit_seconds']:.2f} s"),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def _scores_table(scores: Evaluation) -> Table:
    table = Table("MAPE", "model", "seasonal-naive",
                  title=f"Hold-out {scores.holdout_start} to {scores.holdout_end}")
    table.add_row(f"intervals with calls ({scores.intervals_scored})",
                  f"{scores.interval_mape:.1f} %", f"{scores.naive_interval_mape:.1f} %")
    table.add_row("daily totals", f"{scores.daily_mape:.1f} %",
                  f"{scores.naive_daily_mape:.1f} %")
    if not math.isnan(scores.improvement):
        table.caption = (f"interval MAPE {100 * scores.improvement:.0f} % lower than "
                         "seasonal-naive (same interval, same weekday, last week)")
    return table


def _days_table(result: Forecast) -> Table:
    level = f"{100 * result.level:.0f} %"
    table = Table("date", "day", "calls", f"{level} interval", "peak calls/h", "note",
                  title="Forecast")
    for day in result.days:
        note = "closed" if not day.open else "holiday" if day.holiday else \
            "campaign" if day.campaign else ""
        peak = max(profile_for_day(result, day.day), default=0.0)
        table.add_row(day.day.isoformat(), day.day.strftime("%a"), f"{day.expected:.0f}",
                      f"{day.lower:.0f}-{day.upper:.0f}", f"{peak:.0f}", note)
    return table


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast_command)
    app.command("forecast-history")(forecast_history_command)
