"""The day-level ARIMAX, its forecasts and its hold-out evaluation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sim.forecast.history import History, HistorySpec, generate_history
from sim.forecast.model import (
    ForecastError,
    ForecastModel,
    evaluate,
    fit,
    forecast,
    profile_for_day,
)


@pytest.fixture(scope="module")
def history() -> History:
    return generate_history(HistorySpec(weeks=12), seed=1)


@pytest.fixture(scope="module")
def model(history: History) -> ForecastModel:
    return fit(history)


def test_fit_finds_the_generated_effects(model: ForecastModel) -> None:
    summary = model.summary()
    assert summary["converged"]
    assert summary["open_weekdays"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    assert 1.2 < summary["campaign_factor"] < 1.9
    assert summary["holiday_factor"] < 0.2
    assert -0.02 < summary["trend_per_week"] < 0.03


@pytest.mark.parametrize("seed", [1, 3])
def test_beats_seasonal_naive_on_held_out_weeks(seed: int) -> None:
    scores = evaluate(generate_history(HistorySpec(weeks=12), seed), holdout_days=14)
    assert scores.holdout_end - scores.holdout_start == timedelta(days=13)
    assert scores.interval_mape < scores.naive_interval_mape
    assert scores.daily_mape < scores.naive_daily_mape
    # Interval counts of a few dozen calls carry ~15-20 % of noise no model removes.
    assert scores.interval_mape < 30
    assert scores.daily_mape < 12


def test_a_campaign_day_is_forecast_higher(model: ForecastModel) -> None:
    tuesday = date(2026, 3, 31)
    plain = forecast(model, date(2026, 3, 29), date(2026, 4, 11))
    pushed = forecast(model, date(2026, 3, 29), date(2026, 4, 11), campaign_days=[tuesday])
    day = {entry.day: entry for entry in pushed.days}
    assert day[tuesday].campaign
    assert day[tuesday].expected > 1.2 * day[tuesday + timedelta(weeks=1)].expected
    assert day[tuesday].expected > 1.2 * {d.day: d for d in plain.days}[tuesday].expected
    assert day[tuesday].lower < day[tuesday].expected < day[tuesday].upper


def test_a_holiday_is_forecast_low_and_sunday_closed(model: ForecastModel) -> None:
    result = forecast(model, date(2026, 3, 29), date(2026, 4, 4), holidays=[date(2026, 4, 3)])
    day = {entry.day: entry for entry in result.days}
    assert not day[date(2026, 3, 29)].open and day[date(2026, 3, 29)].expected == 0
    assert day[date(2026, 4, 3)].expected < 0.2 * day[date(2026, 4, 2)].expected


def test_profile_for_day_is_calls_per_hour_over_opening_hours(model: ForecastModel) -> None:
    result = forecast(model, date(2026, 3, 29), date(2026, 4, 4))
    monday = result.days[1]
    profile = profile_for_day(result, monday.day)
    assert len(profile) == 24 and result.interval_minutes == 30
    assert sum(profile) * 0.5 == pytest.approx(monday.expected)
    assert max(profile) == max(profile[2:5])  # the 09:00-10:30 peak
    assert profile_for_day(result, date(2026, 3, 29)) == [0.0] * 24
    with pytest.raises(ForecastError, match="not in the forecast"):
        profile_for_day(result, date(2026, 4, 5))


def test_intervals_carry_a_prediction_interval(model: ForecastModel) -> None:
    result = forecast(model, date(2026, 3, 30), date(2026, 3, 30))
    assert len(result.intervals) == 24
    assert all(i.lower <= i.expected <= i.upper for i in result.intervals)
    assert result.intervals[0].start.isoformat() == "2026-03-30T08:00:00"


def test_horizon_must_follow_the_history(model: ForecastModel) -> None:
    with pytest.raises(ForecastError, match="after the history's last day 2026-03-28"):
        forecast(model, date(2026, 3, 28), date(2026, 4, 3))


def test_too_short_a_history_is_refused(history: History) -> None:
    with pytest.raises(ForecastError, match="at least 3 weeks"):
        fit(history.until(date(2026, 1, 20)))


def test_without_holidays_in_the_history_a_planned_holiday_is_closed(history: History) -> None:
    short = history.until(date(2026, 2, 7))
    assert not short.holiday.any()
    model = fit(short)
    assert model.summary()["holiday_factor"] is None
    result = forecast(model, date(2026, 2, 9), date(2026, 2, 10), holidays=[date(2026, 2, 10)])
    assert result.days[0].expected > 1000
    assert result.days[1].expected == 0
