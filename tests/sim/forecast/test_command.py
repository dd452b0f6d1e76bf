"""`ccbox forecast-history` and `ccbox forecast`, end to end on a generated file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from sim.forecast.command import register

app = typer.Typer()
register(app)
runner = CliRunner()


def test_generate_then_forecast_as_json(tmp_path: Path) -> None:
    history, out = tmp_path / "history.csv", tmp_path / "forecast.csv"
    made = runner.invoke(app, ["forecast-history", str(history), "--weeks", "6", "--seed", "3"])
    assert made.exit_code == 0, made.output
    assert "864 intervals" in made.stdout
    result = runner.invoke(app, ["forecast", str(history), "--days", "7", "--holdout-days", "7",
                                 "--json", "--out", str(out), "--campaign", "2026-02-17"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["model"]["last_day"] == "2026-02-14"
    assert {"formulation", "campaign_factor", "holiday_factor", "fit_seconds"} <= set(
        report["model"])
    scores = report["evaluation"]
    assert scores["holdout_start"] == "2026-02-08"
    assert {"interval_mape", "naive_interval_mape", "daily_mape", "naive_daily_mape",
            "improvement"} <= set(scores)
    days = report["forecast"]["days"]
    assert [day["date"] for day in days][:2] == ["2026-02-15", "2026-02-16"]
    assert days[2]["campaign"] and len(days[2]["calls_per_hour"]) == 24
    assert len(report["forecast"]["intervals"]) == 7 * 24
    assert report["forecast"]["interval_minutes"] == 30 and report["forecast"]["opens"] == "08:00"
    with out.open() as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 7 * 24 and rows[0]["start"] == "2026-02-15T08:00"


def test_forecast_prints_tables(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    runner.invoke(app, ["forecast-history", str(history), "--weeks", "5"])
    result = runner.invoke(app, ["forecast", str(history), "--days", "3"])
    assert result.exit_code == 0, result.output
    assert "seasonal-naive" in result.stdout and "Forecast" in result.stdout


def test_a_bad_history_stops_with_its_line(tmp_path: Path) -> None:
    history = tmp_path / "bad.csv"
    history.write_text("start,calls\n2026-01-05T08:00,-1\n", encoding="utf-8")
    result = runner.invoke(app, ["forecast", str(history)])
    assert result.exit_code == 2
    assert "bad.csv, line 2, column 2 (calls)" in result.output


def test_a_bad_date_option_is_refused(tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    runner.invoke(app, ["forecast-history", str(history), "--weeks", "4"])
    result = runner.invoke(app, ["forecast", str(history), "--holiday", "tomorrow"])
    assert result.exit_code == 2
    assert "--holiday: expected a date" in result.output
