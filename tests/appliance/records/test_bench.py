"""The append-overhead measurement runs and reports its figures (no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.events import CallEnded, CallOffered
from appliance.records import call_details
from appliance.records.bench import (
    measure_append_overhead,
    measure_durable_wait,
    sample_records,
)


def test_sample_records_are_whole_calls_cut_at_n() -> None:
    records = sample_records(20)
    assert len(records) == 20
    assert sum(type(r) is CallOffered for r in records) == 3
    assert [d.call for d in call_details(records)] == [1, 2]
    assert sum(type(r) is CallEnded for r in sample_records(800)) == 100


def test_measurement_reports_both_rates_and_their_ratio(tmp_path: Path) -> None:
    figures = measure_append_overhead(2000, directory=tmp_path)
    assert set(figures) == {
        "records", "plain_per_s", "store_per_s", "ratio", "added_ns_per_record", "drain_s"
    }  # fmt: skip
    assert figures["records"] == 2000
    assert figures["plain_per_s"] > 0 and figures["store_per_s"] > 0
    assert figures["ratio"] == pytest.approx(figures["plain_per_s"] / figures["store_per_s"])
    assert list(tmp_path.iterdir()) == []  # the database went with its temporary directory


def test_the_durable_wait_is_measured_for_every_call(tmp_path: Path) -> None:
    figures = measure_durable_wait(50, directory=tmp_path)
    assert set(figures) == {"calls", "median_ms", "p99_ms", "max_ms", "calls_per_s"}
    assert figures["calls"] == 50
    assert 0 < figures["median_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert list(tmp_path.iterdir()) == []
