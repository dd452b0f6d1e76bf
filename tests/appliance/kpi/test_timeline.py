"""Runs of a records database laid end to end on one clock."""

from __future__ import annotations

from datetime import datetime

from appliance.events import (
    AgentState,
    AgentStateChanged,
    CallEnded,
    CallOffered,
    EndCause,
    Record,
)
from appliance.kpi.timeline import fill, lay_out, place, run_started

READY = AgentState.READY


def run_of(*calls: int, last: float = 10.0) -> list[Record]:
    records: list[Record] = [AgentStateChanged(0.5, "a1", READY, "", 0)]
    for call in calls:
        records += [CallOffered(float(call), call, "pstn", "1", "2", 1),
                    CallEnded(float(call) + 1, call, EndCause.ABANDONED)]
    return [*records, AgentStateChanged(last, "a2", AgentState.NOT_READY, "break", 0)]


def test_a_run_id_made_by_the_appliance_gives_its_start_on_the_box_clock() -> None:
    assert run_started("20261207T080003-4242") == datetime(2026, 12, 7, 8, 0, 3)
    assert run_started("3f2a9c") is None


def test_runs_sit_at_their_start_and_their_calls_are_numbered_apart() -> None:
    timeline = lay_out([("20261207T080000-1", run_of(1, 2)),
                        ("20261207T090000-2", run_of(1))])
    assert timeline.origin == datetime(2026, 12, 7, 8, 0, 0)
    assert [span.offset for span in timeline.runs] == [0.0, 3600.0]
    offers = [(r.t, r.call) for r in timeline.records if type(r) is CallOffered]
    assert offers == [(1.0, 1), (2.0, 2), (3601.0, 3)]
    assert timeline.clock_origin == 8 * 3600.0
    assert timeline.describe(3601.0) == "2026-12-07 09:00:01"


def test_agents_a_stopped_run_left_logged_in_are_logged_out_where_it_ended() -> None:
    timeline = lay_out([("20261207T080000-1", run_of(1, last=10.0)),
                        ("20261207T090000-2", run_of(1, last=10.0))])
    logged_out = [(r.t, r.agent) for r in timeline.records if type(r) is AgentStateChanged
                  and r.state is AgentState.LOGGED_OUT]
    # The last run may be going on: its agents stay as they are.
    assert logged_out == [(10.0, "a1"), (10.0, "a2")]


def test_runs_without_a_time_follow_the_run_before_them() -> None:
    timeline = lay_out([("first", run_of(1, last=10.0)), ("second", run_of(1, last=5.0))])
    assert timeline.origin is None
    assert [span.offset for span in timeline.runs] == [0.0, 10.0]
    assert timeline.describe(12.5) == "t=12.5 s"


def test_a_clock_set_back_never_puts_a_run_before_the_one_it_followed() -> None:
    timeline = lay_out([("20261207T080000-1", run_of(1, last=100.0)),
                        ("20261207T075959-2", run_of(1))])
    assert timeline.runs[1].offset == 100.0
    times = [r.t for r in timeline.records]
    assert times == sorted(times)


def test_runs_without_records_are_left_out() -> None:
    assert lay_out([("20261207T080000-1", [])]).runs == []


def test_a_recorded_clock_origin_places_a_run_rather_than_its_id() -> None:
    origin = datetime(2026, 12, 7, 8, 0, 7, 500_000)
    timeline = lay_out([("20261207T080003-1", run_of(1))],
                       {"20261207T080003-1": origin.timestamp()})
    assert timeline.origin == origin  # the id's second was taken before the box was up


def test_runs_are_placed_from_their_bounds_and_only_the_wanted_ones_read() -> None:
    runs = {"20261207T080000-1": run_of(1, 2), "20261207T090000-2": run_of(1)}
    whole = lay_out(runs.items())
    placed = place([(run, events[0].t, events[-1].t) for run, events in runs.items()])
    assert (placed.runs, placed.origin, placed.records) == (whole.runs, whole.origin, [])
    read: list[str] = []

    def events_of(run: str) -> list[Record]:
        read.append(run)
        return runs[run]

    second = fill(placed, events_of, lambda span: span.offset > 0)
    assert read == ["20261207T090000-2"] and second.runs == whole.runs
    assert [(r.t, r.call) for r in second.records if type(r) is CallOffered] == [(3601.0, 1)]
