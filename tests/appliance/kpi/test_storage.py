"""Recording storage: bytes from talk time, a day's worth and the retention's disk."""

from __future__ import annotations

import pytest

from appliance.config.live import Recording
from appliance.kpi.storage import (
    describe_storage,
    format_bytes,
    recording_storage,
)


def test_one_file_a_call_is_16000_bytes_a_second_plus_its_header() -> None:
    # 100 calls, 10,000 s in all, over a 2 h run, for an 8 h day kept 90 days.
    storage = recording_storage(10_000.0, 100, 7200.0, 8.0,
                                Recording(retention_days=90, keep_free_mb=2000))
    assert storage is not None
    assert storage.files_per_call == 1
    assert storage.bytes == 10_000 * 16_000 + 100 * 44 == 160_004_400
    assert storage.bytes_per_day == pytest.approx(4 * 160_004_400)
    assert storage.disk_bytes == pytest.approx(90 * 4 * 160_004_400 + 2000 * 1_000_000)


def test_split_writes_three_files_a_call() -> None:
    one = recording_storage(600.0, 3, 3600.0, 8.0, Recording())
    three = recording_storage(600.0, 3, 3600.0, 8.0, Recording(split=True))
    assert one is not None and three is not None
    assert three.files_per_call == 3
    assert three.bytes == 3 * one.bytes == 3 * (600 * 16_000 + 3 * 44)


def test_nothing_when_recording_is_disabled() -> None:
    assert recording_storage(600.0, 3, 3600.0, 8.0, Recording(enabled=False)) is None


def test_no_retention_by_age_gives_no_disk_figure() -> None:
    storage = recording_storage(600.0, 3, 3600.0, 8.0, Recording(retention_days=None))
    assert storage is not None and storage.disk_bytes is None
    assert describe_storage(storage).endswith("no retention by age: kept until free space "
                                              "runs short")


def test_a_run_without_length_is_refused() -> None:
    with pytest.raises(ValueError, match="run_seconds must be positive"):
        recording_storage(0.0, 0, 0.0, 8.0, Recording())


def test_the_report_line_says_it_all() -> None:
    storage = recording_storage(3723.0, 40, 3600.0, 8.0,
                                Recording(split=True, retention_days=30, keep_free_mb=2000))
    assert storage is not None
    assert describe_storage(storage) == (
        "Recordings: 1:02:03 of calls in 40 recordings, 3 files a call (split), 178.7 MB; "
        "1.4 GB a day of 8 h; 30 days' retention needs 44.9 GB of disk (2.0 GB of it kept free)"
    )
    assert storage.to_dict()["bytes"] == 3 * (3723 * 16_000 + 40 * 44)


def test_bytes_read_in_decimal_units() -> None:
    assert format_bytes(999) == "999 B"
    assert format_bytes(1500) == "1.5 kB"
    assert format_bytes(724_300_000) == "724.3 MB"
    assert format_bytes(1.2e12) == "1.2 TB"
