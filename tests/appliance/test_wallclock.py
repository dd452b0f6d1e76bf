"""A core's wall clock: local date and time as a function of the core's time."""

from __future__ import annotations

from datetime import datetime

from appliance.wallclock import from_origin, from_unix


def test_from_origin_counts_seconds_from_the_origin_across_midnight() -> None:
    wall = from_origin(datetime(2026, 12, 31, 23, 59, 30))
    assert wall(0) == datetime(2026, 12, 31, 23, 59, 30)
    assert wall(45.5) == datetime(2027, 1, 1, 0, 0, 15, 500000)


def test_from_unix_is_the_local_time_of_the_unix_time() -> None:
    wall = from_unix(1_800_000_000.0)
    assert wall(60) == datetime.fromtimestamp(1_800_000_060.0)
