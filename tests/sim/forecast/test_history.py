"""The synthetic history generator and the history file reader."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, time
from pathlib import Path

import numpy as np
import pytest

from sim.forecast.history import (
    History,
    HistoryError,
    HistorySpec,
    generate_history,
    read_history,
    write_history,
)


@pytest.fixture(scope="module")
def history() -> History:
    return generate_history(HistorySpec(weeks=12), seed=1)


def _daily(history: History) -> dict[date, int]:
    totals: dict[date, int] = defaultdict(int)
    for start, calls in zip(history.starts, history.calls, strict=True):
        totals[start.date()] += int(calls)
    return totals


def _flagged(history: History, flags: np.ndarray) -> set[date]:
    return {start.date() for start, flag in zip(history.starts, flags, strict=True) if flag}


def test_the_same_seed_gives_the_same_history(history: History) -> None:
    again = generate_history(HistorySpec(weeks=12), seed=1)
    assert again.starts == history.starts
    assert np.array_equal(again.calls, history.calls)
    assert np.array_equal(again.campaign, history.campaign)
    assert np.array_equal(again.holiday, history.holiday)
    other = generate_history(HistorySpec(weeks=12), seed=2)
    assert not np.array_equal(other.calls, history.calls)


def test_opening_hours_and_closed_sundays(history: History) -> None:
    assert history.interval_minutes == 30
    assert history.opens == time(8, 0) and history.closes == time(20, 0)
    assert history.slots == 24
    assert {start.weekday() for start in history.starts} == {0, 1, 2, 3, 4, 5}
    assert len(history.starts) == 12 * 6 * 24


def test_mondays_busiest_saturdays_quiet(history: History) -> None:
    special = _flagged(history, history.campaign) | _flagged(history, history.holiday)
    by_weekday: dict[int, list[int]] = defaultdict(list)
    for day, total in _daily(history).items():
        if day not in special:
            by_weekday[day.weekday()].append(total)
    means = {weekday: np.mean(totals) for weekday, totals in by_weekday.items()}
    assert means[0] == max(means.values())
    assert means[0] > 1.15 * means[2]
    assert means[5] < 0.6 * means[2]


def test_morning_and_early_afternoon_peaks(history: History) -> None:
    by_time: dict[time, list[int]] = defaultdict(list)
    for start, calls in zip(history.starts, history.calls, strict=True):
        if start.weekday() < 5:
            by_time[start.time()].append(int(calls))
    mean = {moment: np.mean(values) for moment, values in by_time.items()}
    assert max(mean, key=mean.__getitem__) in (time(9, 30), time(10, 0))
    assert mean[time(14, 0)] > mean[time(12, 30)]
    assert mean[time(14, 0)] > 2 * mean[time(19, 30)]


def test_campaigns_lift_and_holidays_sink_the_day(history: History) -> None:
    totals = _daily(history)
    campaigns, holidays = _flagged(history, history.campaign), _flagged(history, history.holiday)
    assert campaigns and holidays and not campaigns & holidays
    ordinary: dict[int, list[int]] = defaultdict(list)
    for day, total in totals.items():
        if day not in campaigns | holidays:
            ordinary[day.weekday()].append(total)
    uplift = [totals[day] / np.mean(ordinary[day.weekday()]) for day in campaigns]
    assert np.mean(uplift) > 1.25
    assert all(totals[day] < 0.2 * np.mean(ordinary[day.weekday()]) for day in holidays)


def test_written_history_reads_back(history: History, tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    write_history(history, path)
    again = read_history(path)
    assert again.starts == history.starts
    assert np.array_equal(again.calls, history.calls)
    assert np.array_equal(again.campaign, history.campaign)
    assert np.array_equal(again.holiday, history.holiday)
    assert again.interval_minutes == 30


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "2026-01-05T08:00,3,0,0\n2026-01-05T08:30,5,0,0\n2026-01-05T09:00,4,0,0\n"


def test_flags_may_be_left_out_and_columns_reordered(tmp_path: Path) -> None:
    path = _write(tmp_path, "calls,agent_count,start\n3,2,2026-01-05 08:00\n"
                            "5,2,2026-01-05 08:30\n4,2,2026-01-06 08:00\n")
    history = read_history(path)
    assert history.calls.tolist() == [3, 5, 4]
    assert not history.campaign.any() and not history.holiday.any()
    assert history.interval_minutes == 30


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "start,campaign,holiday\n2026-01-05T08:00,0,0\n")
    with pytest.raises(HistoryError, match=r"export\.csv, line 1: missing column 'calls'"):
        read_history(path)


def test_bad_date_names_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "start,calls,campaign,holiday\n" + GOOD + "05/01/2026 09:30,4,0,0\n")
    with pytest.raises(HistoryError,
                       match=r"export\.csv, line 5, column 1 \(start\): expected an ISO"):
        read_history(path)


def test_negative_calls_name_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "start,calls,campaign,holiday\n2026-01-05T08:00,-2,0,0\n")
    with pytest.raises(HistoryError,
                       match=r"export\.csv, line 2, column 2 \(calls\): expected a number of "
                             r"calls >= 0; got -2"):
        read_history(path)


def test_calls_not_a_number(tmp_path: Path) -> None:
    path = _write(tmp_path, "start,calls,campaign,holiday\n2026-01-05T08:00,12.5,0,0\n")
    with pytest.raises(HistoryError, match=r"line 2, column 2 \(calls\): expected a whole"):
        read_history(path)


def test_flag_other_than_zero_or_one(tmp_path: Path) -> None:
    path = _write(tmp_path, "start,calls,holiday,campaign\n2026-01-05T08:00,1,0,yes\n")
    with pytest.raises(HistoryError, match=r"line 2, column 4 \(campaign\): expected 0 or 1"):
        read_history(path)


def test_uneven_spacing_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "start,calls,campaign,holiday\n" + GOOD + "2026-01-05T09:45,4,0,0\n")
    with pytest.raises(HistoryError,
                       match=r"export\.csv, line 5, column 1 \(start\): intervals not evenly "
                             r"spaced: 45 minutes"):
        read_history(path)


def test_rows_out_of_order(tmp_path: Path) -> None:
    path = _write(tmp_path, "start,calls,campaign,holiday\n" + GOOD + "2026-01-05T08:30,4,0,0\n")
    with pytest.raises(HistoryError, match=r"line 5, column 1 \(start\): not after the previous"):
        read_history(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=r"nothing\.csv: cannot read it"):
        read_history(tmp_path / "nothing.csv")
