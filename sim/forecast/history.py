"""Call-volume history: calls per interval, as a call center's reporting exports it.

A history file is a CSV with one row per interval of opening hours::

    start,calls,campaign,holiday
    2026-01-05T08:00,41,0,0

``start`` is the interval's local start time (ISO 8601, no UTC offset), ``calls`` the calls
offered in it, ``campaign`` and ``holiday`` 0/1 flags for the day (a marketing push, a public
holiday). Columns may come in any order and extra columns are ignored; ``campaign`` and
``holiday`` may be left out (0). Closed hours and closed days have no rows.

`generate_history` makes a realistic synthetic history from a seed, so that forecasting can be
tried and tested without a customer's export.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np

REQUIRED_COLUMNS = ("start", "calls")
FLAG_COLUMNS = ("campaign", "holiday")


class HistoryError(ValueError):
    """A history file that cannot be used; the message names the file, line and column."""


@dataclass(frozen=True, eq=False)
class History:
    """Calls per interval, in time order, every start on one grid of `interval_minutes`."""

    starts: tuple[datetime, ...]
    calls: np.ndarray  # int64, one per start
    campaign: np.ndarray  # bool, one per start
    holiday: np.ndarray  # bool, one per start
    interval_minutes: int

    @property
    def first_day(self) -> date:
        return self.starts[0].date()

    @property
    def last_day(self) -> date:
        return self.starts[-1].date()

    @property
    def opens(self) -> time:
        """The earliest interval start of any day."""
        return min(start.time() for start in self.starts)

    @property
    def closes(self) -> time:
        """The end of the latest interval of any day."""
        latest = max(_minute_of_day(start) for start in self.starts) + self.interval_minutes
        return _time_of(latest)

    @property
    def slots(self) -> int:
        """Intervals from `opens` to the end of the latest interval of any day."""
        first = _minute_of_day(self.opens)
        latest = max(_minute_of_day(start) for start in self.starts)
        return (latest - first) // self.interval_minutes + 1

    def until(self, last_day: date) -> History:
        """The intervals up to and including `last_day`."""
        keep = [i for i, start in enumerate(self.starts) if start.date() <= last_day]
        return self._subset(keep)

    def since(self, first_day: date) -> History:
        """The intervals from `first_day` on."""
        keep = [i for i, start in enumerate(self.starts) if start.date() >= first_day]
        return self._subset(keep)

    def _subset(self, keep: list[int]) -> History:
        index = np.asarray(keep, dtype=np.int64)
        return History(tuple(self.starts[i] for i in keep), self.calls[index],
                       self.campaign[index], self.holiday[index], self.interval_minutes)


@dataclass(frozen=True)
class HistorySpec:
    """What `generate_history` draws: a center open `weekday_factors[d] > 0` days a week.

    `calls_per_day` is a Monday-to-Friday average day at the start, before trend, campaigns
    and holidays; `weekday_factors` scale it (Monday first, 0 = closed); `trend_per_week` is
    the relative growth per week; `dispersion` is the negative binomial size of the noise
    around each interval's expected count (large = nearly Poisson).
    """

    weeks: int = 12
    start: date = date(2026, 1, 5)  # a Monday
    interval_minutes: int = 30
    opens: time = time(8, 0)
    closes: time = time(20, 0)
    calls_per_day: float = 1500.0
    weekday_factors: tuple[float, ...] = (1.25, 1.08, 1.0, 0.97, 0.92, 0.45, 0.0)
    trend_per_week: float = 0.004
    holidays_per_week: float = 0.12
    holiday_level: float = 0.04
    campaigns_per_week: float = 0.35
    campaign_uplift: tuple[float, float] = (0.3, 0.8)
    day_noise: float = 0.05
    dispersion: float = 60.0

    def __post_init__(self) -> None:
        if self.weeks < 1:
            raise ValueError(f"weeks: expected at least 1; got {self.weeks}")
        if self.interval_minutes < 1 or 1440 % self.interval_minutes:
            raise ValueError("interval_minutes: expected a number of minutes that divides a "
                             f"day (1440); got {self.interval_minutes}")
        span = _minute_of_day(self.closes) - _minute_of_day(self.opens)
        if span <= 0 or span % self.interval_minutes:
            raise ValueError(f"opens/closes: expected a whole number of {self.interval_minutes}"
                             f"-minute intervals; got {self.opens:%H:%M}-{self.closes:%H:%M}")
        if len(self.weekday_factors) != 7 or min(self.weekday_factors) < 0:
            raise ValueError("weekday_factors: expected 7 factors >= 0, Monday first")


def intraday_shape(minute_of_day: np.ndarray, weekday: int) -> np.ndarray:
    """Relative call rate at each minute of the day: a morning peak near 10:00 and a lower
    early-afternoon one near 14:00 (Saturday afternoons are quieter)."""
    hours = minute_of_day / 60.0
    afternoon = 0.85 if weekday < 5 else 0.45
    return (0.15 + np.exp(-0.5 * ((hours - 10.0) / 1.3) ** 2)
            + afternoon * np.exp(-0.5 * ((hours - 14.25) / 1.5) ** 2))


def generate_history(spec: HistorySpec, seed: int) -> History:
    """A synthetic history drawn from `spec`; the same seed gives the same history."""
    rng = np.random.default_rng(seed)
    slots = np.arange(_minute_of_day(spec.opens), _minute_of_day(spec.closes),
                      spec.interval_minutes)
    days = [spec.start + timedelta(days=n) for n in range(7 * spec.weeks)]
    open_days = [day for day in days if spec.weekday_factors[day.weekday()] > 0]
    holidays = _draw_days(rng, [d for d in open_days if d.weekday() < 5],
                          spec.holidays_per_week * spec.weeks, span=1)
    candidates = [d for d in open_days if d not in holidays]
    campaigns = _draw_days(rng, candidates, spec.campaigns_per_week * spec.weeks, span=2)
    campaigns -= holidays
    starts: list[datetime] = []
    expected: list[np.ndarray] = []
    # Day-to-day swings (weather, news) persist for a few days: an AR(1) on the log level.
    level = 0.0
    for number, day in enumerate(days):
        level = 0.5 * level + rng.normal(0.0, spec.day_noise)
        factor = spec.weekday_factors[day.weekday()]
        if factor == 0:
            continue
        total = (spec.calls_per_day * factor * math.exp(level)
                 * (1 + spec.trend_per_week) ** (number / 7))
        if day in holidays:
            total *= spec.holiday_level
        elif day in campaigns:
            total *= 1 + rng.uniform(*spec.campaign_uplift)
        shape = intraday_shape(slots + spec.interval_minutes / 2, day.weekday())
        expected.append(total * shape / shape.sum())
        midnight = datetime.combine(day, time())
        starts.extend(midnight + timedelta(minutes=int(m)) for m in slots)
    mean = np.concatenate(expected)
    # Negative binomial: Poisson noise plus the extra spread real interval counts show.
    calls = rng.negative_binomial(spec.dispersion, spec.dispersion / (spec.dispersion + mean))
    day_of = [start.date() for start in starts]
    return History(tuple(starts), calls.astype(np.int64),
                   np.array([d in campaigns for d in day_of]),
                   np.array([d in holidays for d in day_of]), spec.interval_minutes)


def _draw_days(rng: np.random.Generator, days: list[date], count: float, span: int) -> set[date]:
    """About `count` runs of 1 to `span` consecutive days among `days`."""
    chosen: set[date] = set()
    if not days:
        return chosen
    for first in rng.choice(len(days), size=min(len(days), round(count)), replace=False):
        length = int(rng.integers(1, span + 1))
        chosen.update(days[int(first):int(first) + length])
    return chosen


def write_history(history: History, path: Path) -> None:
    """Write `history` as a history CSV (see the module docstring)."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["start", "calls", "campaign", "holiday"])
        for start, calls, campaign, holiday in zip(
            history.starts, history.calls, history.campaign, history.holiday, strict=True
        ):
            writer.writerow([start.isoformat(timespec="minutes"), int(calls), int(campaign),
                             int(holiday)])


def read_history(path: Path) -> History:
    """Read and check a history CSV; `HistoryError` says where the file is wrong.

    The interval length is the most common gap between consecutive rows; every other gap
    must be a multiple of it (closed hours and days have no rows) and it must divide a day.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            rows = list(csv.reader(file))
    except OSError as error:
        raise HistoryError(f"{path}: cannot read it ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise HistoryError(f"{path}: not a UTF-8 text file") from None
    if not rows:
        raise HistoryError(f"{path}: empty; expected a header line with columns "
                           f"{', '.join(REQUIRED_COLUMNS + FLAG_COLUMNS)}")
    header = [name.strip().lower() for name in rows[0]]
    for name in REQUIRED_COLUMNS:
        if name not in header:
            raise HistoryError(f"{path}, line 1: missing column {name!r}; the header has "
                               f"{', '.join(repr(h) for h in header) or 'no columns'}")
    columns = {name: header.index(name) for name in REQUIRED_COLUMNS + FLAG_COLUMNS
               if name in header}
    starts: list[datetime] = []
    calls: list[int] = []
    flags: dict[str, list[bool]] = {name: [] for name in FLAG_COLUMNS}
    lines: list[int] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = _Where(path, line, columns)
        if len(row) < len(header):
            raise HistoryError(f"{path}, line {line}: expected {len(header)} columns as in "
                               f"the header; got {len(row)}")
        starts.append(_parse_start(row[columns["start"]], where))
        calls.append(_parse_calls(row[columns["calls"]], where))
        for name in FLAG_COLUMNS:
            flags[name].append(_parse_flag(row[columns[name]], where, name)
                               if name in columns else False)
        lines.append(line)
    if len(starts) < 2:
        raise HistoryError(f"{path}: expected at least two intervals; got {len(starts)}")
    interval = _check_spacing(path, starts, lines, columns["start"])
    return History(tuple(starts), np.array(calls, dtype=np.int64),
                   np.array(flags["campaign"]), np.array(flags["holiday"]), interval)


@dataclass(frozen=True)
class _Where:
    path: Path
    line: int
    columns: dict[str, int]

    def error(self, column: str, message: str) -> HistoryError:
        number = self.columns[column] + 1
        return HistoryError(f"{self.path}, line {self.line}, column {number} ({column}): "
                            f"{message}")


def _parse_start(text: str, where: _Where) -> datetime:
    text = text.strip()
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise where.error("start", "expected an ISO local date and time like "
                          f"2026-01-05T08:00; got {text!r}") from None
    if start.tzinfo is not None:
        raise where.error("start", f"expected a local time without a UTC offset; got {text!r}")
    return start


def _parse_calls(text: str, where: _Where) -> int:
    text = text.strip()
    try:
        value = int(text)
    except ValueError:
        raise where.error("calls", f"expected a whole number of calls; got {text!r}") from None
    if value < 0:
        raise where.error("calls", f"expected a number of calls >= 0; got {value}")
    return value


def _parse_flag(text: str, where: _Where, column: str) -> bool:
    text = text.strip()
    if text not in ("0", "1"):
        raise where.error(column, f"expected 0 or 1; got {text!r}")
    return text == "1"


def _check_spacing(path: Path, starts: list[datetime], lines: list[int], column: int) -> int:
    gaps = [(later - earlier).total_seconds() / 60 for earlier, later in pairwise(starts)]
    for gap, line in zip(gaps, lines[1:], strict=True):
        if gap <= 0:
            raise HistoryError(f"{path}, line {line}, column {column + 1} (start): "
                               "not after the previous interval; expected rows in time order, "
                               "one per interval")
    interval, _count = Counter(gaps).most_common(1)[0]
    if interval != int(interval) or 1440 % interval:
        raise HistoryError(f"{path}: intervals are mostly {interval:g} minutes apart; expected "
                           "an interval length that divides a day (1440 minutes)")
    for gap, line in zip(gaps, lines[1:], strict=True):
        if gap % interval:
            raise HistoryError(
                f"{path}, line {line}, column {column + 1} (start): intervals not evenly "
                f"spaced: {gap:g} minutes after the previous row, while intervals are "
                f"{interval:g} minutes long (gaps for closed hours must be whole intervals)")
    return int(interval)


def _minute_of_day(moment: datetime | time) -> int:
    return moment.hour * 60 + moment.minute


def _time_of(minutes: int) -> time:
    # A center open until midnight closes at 00:00, the next day's first minute.
    return time((minutes // 60) % 24, minutes % 60)
