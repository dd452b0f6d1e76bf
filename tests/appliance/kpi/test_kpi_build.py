"""The fast constructor of report figures builds the same objects as the dataclass."""

from __future__ import annotations

import dataclasses

from appliance.events import AgentState, AgentStateChanged, CallEnded, CallOffered, EndCause
from appliance.kpi import KpiSettings, compute_kpis
from appliance.kpi.agents import AgentTally
from appliance.kpi.calls import CallTally
from appliance.kpi.report import AgentStats, CallStats, IntervalStats


def test_built_call_stats_equal_constructed_ones() -> None:
    tally = CallTally()
    tally.offered, tally.answered, tally.answer_wait, tally.entered_queue = 10, 8, 40.0, 9
    built = tally.stats()
    constructed = CallStats(**{f.name: getattr(built, f.name) for f in dataclasses.fields(built)})
    assert built == constructed and hash(built) == hash(constructed)
    assert repr(built) == repr(constructed)
    assert built.asa == 5.0


def test_built_agent_stats_equal_constructed_ones() -> None:
    tally = AgentTally()
    tally.add_time(AgentState.TALKING, "", 300.0)
    tally.add_time(AgentState.READY, "", 100.0)
    tally.calls_handled = 2
    built = tally.stats()
    fields = {f.name: getattr(built, f.name) for f in dataclasses.fields(built)}
    assert built == AgentStats(**fields)
    assert built.occupancy == 0.75


def test_a_reports_intervals_equal_constructed_ones() -> None:
    records = [
        AgentStateChanged(0.0, "a1", AgentState.READY, "", 0),
        CallOffered(10.0, 1, "pstn", "100", "400", 1),
        CallEnded(70.0, 1, EndCause.ABANDONED),
    ]
    (interval,) = compute_kpis(records, KpiSettings(window_end=1800.0)).intervals
    fields = {f.name: getattr(interval, f.name) for f in dataclasses.fields(interval)}
    assert interval == IntervalStats(**fields)
    assert repr(interval) == repr(IntervalStats(**fields))
