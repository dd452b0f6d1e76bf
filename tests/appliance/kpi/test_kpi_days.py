"""Runs longer than a day: intervals say which day they belong to."""

from __future__ import annotations

from tests.appliance.kpi.test_kpi_compute import Log, kpis


def test_intervals_from_the_second_day_on_carry_the_day() -> None:
    day = 86400.0
    log = Log().block(100, 1).block(day + 100, 2)  # 08:01:40 on day 1 and on day 2
    report = kpis(log, interval=3600, clock_origin=8 * 3600, window_end=day + 3600)
    labels = [i.label for i in report.intervals]
    assert labels[0] == "08:00-09:00"
    assert labels[15] == "23:00-24:00" and labels[16] == "d2 00:00-01:00"  # past midnight
    assert labels[-1] == "d2 08:00-09:00"
    assert len(labels) == 25 and len(set(labels)) == 25  # no two days share a label
    assert [i.calls.offered for i in report.intervals if i.calls.offered] == [1, 1]
