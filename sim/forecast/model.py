"""Forecast calls per interval with a seasonal ARIMA model with exogenous regressors.

Formulation: a day-level ARIMAX plus an intraday profile.

1. Each open day's total calls are modelled as ``log(1 + total)`` by SARIMAX as a regression
   with ARMA errors, ``ARIMA(1, 0, 0)``, on these regressors: one indicator per open weekday
   (the weekly season), ``campaign``, ``holiday`` and a linear trend in weeks. Closed weekdays
   (no rows for that weekday anywhere in the history) are left out of the series; an open
   weekday without rows is missing data, which the Kalman filter steps over.
2. Each day's total is spread over its intervals by the average intraday profile of that
   weekday, measured on the history's ordinary days (no campaign, no holiday).

Why not one model on the intervals: a week of 30-minute intervals is a season of 144 to 336
steps, which a seasonal ARIMA handles only with huge state vectors (minutes to fit, or not
at all, on 2 cores), and Fourier regressors with ARMA errors on the intervals still spend
the fit on intraday noise. The day level is where campaigns, holidays, the weekly pattern,
the trend and the persistence of busy spells live, and a weekday's intraday shape is stable
from week to week. The log makes campaign and holiday effects multiplicative (a campaign adds
a share of the day, not a fixed count) and keeps forecasts positive.

Why weekday indicators rather than a seasonal difference: on 12 weeks of generated history,
``(1, 0, 0) x (0, 1, 1, 6)`` scored the same daily MAPE (median 7.0 % against 7.0 % over 12
seeds) but its seasonal MA ends near -1, the invertibility bound, where the optimiser
crawls: 0.2 to 6 s per fit against 0.1 to 0.7 s. Indicators are that model's limit when the
weekly pattern is steady, which a weekday pattern is over a quarter.

A regressor the history never exercises cannot be estimated and is left out of the fit:
then a planned campaign day is forecast as an ordinary day and a planned holiday as closed
(`ForecastModel.summary` says so).

Prediction intervals: the day total's interval comes from the model (log-normal); an
interval's bounds are its profile share of the day's bounds widened by Poisson noise at that
share, which is a little conservative.

`evaluate` holds out the last days of a history, fits on the rest and scores both the model
and the seasonal-naive forecast (the same interval on the same weekday of the last week
before the hold-out) by MAPE on the intervals that had calls, and on daily totals.
"""

from __future__ import annotations

import math
import time as clock
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from scipy import stats

from sim.forecast.history import History

ORDER = (1, 0, 0)
MIN_WEEKS = 3


class ForecastError(ValueError):
    """A history or a horizon the model cannot work with."""


@dataclass(frozen=True, eq=False)
class ForecastModel:
    """A fitted day-level ARIMAX and the intraday profile of each weekday."""

    results: object  # statsmodels SARIMAXResults
    regressors: tuple[str, ...]  # the exog columns, in order
    open_weekdays: tuple[int, ...]  # Monday = 0
    last_day: date  # the last open day the model has seen
    days_seen: int  # open days in the series (the trend's clock)
    interval_minutes: int
    opens: time
    slots: int  # intervals per day from `opens`
    profiles: np.ndarray  # 7 x slots, each open weekday's shares summing to 1
    fit_seconds: float

    @property
    def season(self) -> int:
        return len(self.open_weekdays)

    def coefficient(self, name: str) -> float | None:
        """A regressor's estimate, None if the history never exercised it."""
        if name not in self.regressors:
            return None
        return float(self.results.params[self.regressors.index(name)])

    def summary(self) -> dict[str, object]:
        """The fit's figures, effects as factors: campaign 1.5 = +50 % calls on the day;
        None where the history had no such day to learn from."""
        results = self.results
        campaign, holiday = self.coefficient("campaign"), self.coefficient("holiday")
        return {
            "formulation": f"log(1 + daily calls) ~ ARIMA{ORDER} errors + weekday + campaign "
                           "+ holiday + trend; intervals by weekday intraday profile",
            "order": list(ORDER),
            "open_weekdays": [_WEEKDAYS[d] for d in self.open_weekdays],
            "days": int(results.nobs),
            "interval_minutes": self.interval_minutes,
            "opens": self.opens.strftime("%H:%M"),
            "intervals_per_day": self.slots,
            "aic": float(results.aic),
            "converged": bool(results.mle_retvals.get("converged", True)),
            "ar1": float(results.params[len(self.regressors)]),
            "campaign_factor": None if campaign is None else math.exp(campaign),
            "holiday_factor": None if holiday is None else math.exp(holiday),
            "trend_per_week": math.exp(self.coefficient("trend_weeks") or 0.0) - 1,
            "fit_seconds": self.fit_seconds,
        }


@dataclass(frozen=True)
class IntervalForecast:
    start: datetime
    expected: float  # calls in the interval
    lower: float
    upper: float


@dataclass(frozen=True)
class DayForecast:
    day: date
    expected: float  # calls in the day
    lower: float
    upper: float
    campaign: bool
    holiday: bool
    open: bool


@dataclass(frozen=True)
class Forecast:
    """Expected calls per day and per interval with a `level` prediction interval."""

    days: tuple[DayForecast, ...]
    intervals: tuple[IntervalForecast, ...]  # every interval of every day, closed days too
    interval_minutes: int
    opens: time  # the first interval's start on every day
    slots: int  # intervals per day
    level: float


@dataclass(frozen=True)
class Evaluation:
    """Hold-out scores, in percent: MAPE over intervals with calls and over daily totals."""

    holdout_start: date
    holdout_end: date
    intervals_scored: int
    interval_mape: float
    naive_interval_mape: float
    daily_mape: float
    naive_daily_mape: float
    fit_seconds: float

    @property
    def improvement(self) -> float:
        """How much lower the model's interval MAPE is than seasonal-naive's (0.3 = 30 %)."""
        return 1 - self.interval_mape / self.naive_interval_mape


def fit(history: History) -> ForecastModel:
    """Fit the model on `history` (at least three weeks of it)."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    began = clock.perf_counter()
    weekdays = tuple(sorted({start.weekday() for start in history.starts}))
    days = _open_days(history.first_day, history.last_day, weekdays)
    if len(days) < MIN_WEEKS * len(weekdays):
        raise ForecastError(f"expected at least {MIN_WEEKS} weeks of history to fit; got "
                            f"{len(days)} open days ({history.first_day} to {history.last_day})")
    totals, campaign, holiday = _daily(history, days)
    regressors = tuple(
        [f"weekday_{_WEEKDAYS[d]}" for d in weekdays]
        + [name for name, flags in (("campaign", campaign), ("holiday", holiday)) if flags.any()]
        + ["trend_weeks"]
    )
    exog = _design(regressors, days, campaign, holiday, np.arange(len(days)), len(weekdays))
    model = SARIMAX(np.log1p(totals), exog=exog, order=ORDER)
    with warnings.catch_warnings():
        # Convergence chatter on short series; `summary()["converged"]` reports the outcome.
        warnings.simplefilter("ignore")
        results = model.fit(disp=False, maxiter=200)
    return ForecastModel(
        results=results, regressors=regressors, open_weekdays=weekdays, last_day=days[-1],
        days_seen=len(days), interval_minutes=history.interval_minutes, opens=history.opens,
        slots=history.slots, profiles=_profiles(history, _minute(history.opens), history.slots),
        fit_seconds=clock.perf_counter() - began,
    )


def forecast(model: ForecastModel, horizon_start: date, horizon_end: date,
             campaign_days: Iterable[date] = (), holidays: Iterable[date] = (),
             level: float = 0.9) -> Forecast:
    """Expected calls per interval from `horizon_start` to `horizon_end`, both included.

    The horizon must start after the history's last day; `campaign_days` and `holidays` are
    the days planned as such (a day in both counts as a holiday).
    """
    if horizon_start <= model.last_day:
        raise ForecastError(f"the forecast must start after the history's last day "
                            f"{model.last_day}; got {horizon_start}")
    if horizon_end < horizon_start:
        raise ForecastError(f"the forecast ends ({horizon_end}) before it starts "
                            f"({horizon_start})")
    campaign_set, holiday_set = set(campaign_days), set(holidays)
    ahead = _open_days(model.last_day + timedelta(days=1), horizon_end, model.open_weekdays)
    campaign = np.array([d in campaign_set and d not in holiday_set for d in ahead])
    holiday = np.array([d in holiday_set for d in ahead])
    position = np.arange(model.days_seen, model.days_seen + len(ahead))
    exog = _design(model.regressors, ahead, campaign, holiday, position, model.season)
    predicted = model.results.get_forecast(len(ahead), exog=exog)
    mean = np.asarray(predicted.predicted_mean)
    sd = np.sqrt(np.asarray(predicted.var_pred_mean))
    z = stats.norm.ppf(0.5 + level / 2)
    by_day = {
        day: (np.expm1(m + s * s / 2), np.expm1(m - z * s), np.expm1(m + z * s))
        for day, m, s in zip(ahead, mean, sd, strict=True)
        # No holiday to learn from: a planned holiday is taken as closed.
        if not (day in holiday_set and "holiday" not in model.regressors)
    }
    days: list[DayForecast] = []
    intervals: list[IntervalForecast] = []
    step = timedelta(minutes=model.interval_minutes)
    for offset in range((horizon_end - horizon_start).days + 1):
        day = horizon_start + timedelta(days=offset)
        expected, lower, upper = (max(0.0, float(v)) for v in by_day.get(day, (0, 0, 0)))
        shares = model.profiles[day.weekday()]
        days.append(DayForecast(day, expected, lower, upper, day in campaign_set,
                                day in holiday_set, day in by_day))
        first = datetime.combine(day, model.opens)
        low = stats.poisson.ppf((1 - level) / 2, shares * lower)
        high = stats.poisson.ppf((1 + level) / 2, shares * upper)
        for slot in range(model.slots):
            intervals.append(IntervalForecast(
                first + slot * step, float(shares[slot] * expected),
                float(np.nan_to_num(low[slot])), float(np.nan_to_num(high[slot]))))
    return Forecast(tuple(days), tuple(intervals), model.interval_minutes, model.opens,
                    model.slots, level)


def profile_for_day(result: Forecast, day: date) -> list[float]:
    """Calls per hour in each interval of `day`, from `result.opens` every
    `result.interval_minutes`: a sizing traffic profile (``calls_per_hour``)."""
    for index, entry in enumerate(result.days):
        if entry.day == day:
            chunk = result.intervals[index * result.slots:(index + 1) * result.slots]
            return [item.expected * 60 / result.interval_minutes for item in chunk]
    raise ForecastError(f"{day} is not in the forecast ({result.days[0].day} to "
                        f"{result.days[-1].day})")


def holdout_predictions(history: History, holdout_days: int = 14
                        ) -> tuple[History, History, np.ndarray, float]:
    """Fit on all but the last `holdout_days` calendar days and forecast those days, given
    their campaign and holiday flags: (train, test, predicted calls per test interval,
    fit seconds)."""
    if holdout_days < 1:
        raise ForecastError(f"holdout_days: expected at least 1; got {holdout_days}")
    cut = history.last_day - timedelta(days=holdout_days)
    train, test = history.until(cut), history.since(cut + timedelta(days=1))
    if not train.starts or not test.starts:
        raise ForecastError(f"a hold-out of {holdout_days} days leaves nothing to "
                            f"{'fit on' if not train.starts else 'score'}")
    model = fit(train)
    campaign = {s.date() for s, c in zip(test.starts, test.campaign, strict=True) if c}
    holiday = {s.date() for s, h in zip(test.starts, test.holiday, strict=True) if h}
    predicted = forecast(model, cut + timedelta(days=1), history.last_day, campaign, holiday)
    by_start = {item.start: item.expected for item in predicted.intervals}
    model_pred = np.array([by_start.get(start, 0.0) for start in test.starts])
    return train, test, model_pred, model.fit_seconds


def evaluate(history: History, holdout_days: int = 14) -> Evaluation:
    """Score the forecast of the last `holdout_days` days (`holdout_predictions`) against
    seasonal-naive."""
    train, test, model_pred, fit_seconds = holdout_predictions(history, holdout_days)
    cut = history.last_day - timedelta(days=holdout_days)
    naive_pred = _seasonal_naive(train, test.starts)
    actual = test.calls.astype(float)
    day_of = np.array([start.toordinal() for start in test.starts])
    return Evaluation(
        holdout_start=cut + timedelta(days=1), holdout_end=history.last_day,
        intervals_scored=int(np.count_nonzero(actual)),
        interval_mape=_mape(actual, model_pred), naive_interval_mape=_mape(actual, naive_pred),
        daily_mape=_mape(*_by_day(day_of, actual, model_pred)),
        naive_daily_mape=_mape(*_by_day(day_of, actual, naive_pred)),
        fit_seconds=fit_seconds,
    )


def _seasonal_naive(train: History, starts: Iterable[datetime]) -> np.ndarray:
    """The calls of the same interval in the last week of `train` (0 if it had no row)."""
    seen = dict(zip(train.starts, train.calls, strict=True))
    last = train.last_day
    predicted = []
    for start in starts:
        weeks = -(-(start.date() - last).days // 7)
        predicted.append(float(seen.get(start - timedelta(weeks=weeks), 0)))
    return np.array(predicted)


def _mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    scored = actual > 0
    if not scored.any():
        return math.nan
    return float(100 * np.mean(np.abs(actual[scored] - predicted[scored]) / actual[scored]))


def _by_day(day_of: np.ndarray, actual: np.ndarray,
            predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _days, index = np.unique(day_of, return_inverse=True)
    return np.bincount(index, weights=actual), np.bincount(index, weights=predicted)


def _open_days(first: date, last: date, weekdays: tuple[int, ...]) -> list[date]:
    span = (last - first).days + 1
    every = (first + timedelta(days=n) for n in range(span))
    return [day for day in every if day.weekday() in weekdays]


def _daily(history: History,
           days: list[date]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per open day: total calls (NaN for a day without rows), campaign and holiday flags."""
    index = {day: n for n, day in enumerate(days)}
    totals = np.full(len(days), np.nan)
    campaign = np.zeros(len(days), dtype=bool)
    holiday = np.zeros(len(days), dtype=bool)
    for start, calls, is_campaign, is_holiday in zip(
        history.starts, history.calls, history.campaign, history.holiday, strict=True
    ):
        n = index[start.date()]
        totals[n] = calls + (0.0 if math.isnan(totals[n]) else totals[n])
        campaign[n] |= is_campaign
        holiday[n] |= is_holiday
    return totals, campaign & ~holiday, holiday


def _design(regressors: tuple[str, ...], days: list[date], campaign: np.ndarray,
            holiday: np.ndarray, position: np.ndarray, season: int) -> np.ndarray:
    columns = {"campaign": campaign, "holiday": holiday, "trend_weeks": position / season}
    for weekday, name in enumerate(_WEEKDAYS):
        columns[f"weekday_{name}"] = np.array([day.weekday() == weekday for day in days])
    return np.column_stack([columns[name] for name in regressors]).astype(float)


def _profiles(history: History, first_slot: int, slots: int) -> np.ndarray:
    """Each weekday's share of the day's calls per interval, from its ordinary days
    (from all its days if it had no ordinary one); zeros for a closed weekday."""
    ordinary = np.zeros((7, slots))
    every = np.zeros((7, slots))
    for start, calls, campaign, holiday in zip(
        history.starts, history.calls, history.campaign, history.holiday, strict=True
    ):
        slot = (_minute(start) - first_slot) // history.interval_minutes
        every[start.weekday(), slot] += calls
        if not (campaign or holiday):
            ordinary[start.weekday(), slot] += calls
    profiles = np.zeros((7, slots))
    for weekday in range(7):
        counts = ordinary[weekday] if ordinary[weekday].sum() > 0 else every[weekday]
        if counts.sum() > 0:
            profiles[weekday] = counts / counts.sum()
    return profiles


def _minute(moment: datetime | time) -> int:
    return moment.hour * 60 + moment.minute


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
