"""Pooling replications: means, sample standard deviations and t-interval half-widths."""

from __future__ import annotations

import json
import math

import pytest

from appliance.events import (
    AgentState,
    AgentStateChanged,
    CallAnswered,
    CallBlocked,
    CallEnded,
    CallOffered,
    CallQueued,
    EndCause,
    Record,
)
from appliance.kpi import KpiReport, KpiSettings, compute_kpis, flatten, summarize
from appliance.kpi.replications import summarize_values

# Student's t, 97.5 % quantile, from the printed tables: 2 and 1 degrees of freedom.
T_975_DF2 = 4.302652729749462
T_975_DF1 = 12.706204736174698


def blocked_calls(count: int) -> list[Record]:
    records: list[Record] = []
    for call in range(1, count + 1):
        records += [
            CallOffered(call, call, "pstn", "ani", "400", 1),
            CallBlocked(call, call, "pstn"),
            CallEnded(call, call, EndCause.BLOCKED),
        ]
    return records


def answered_call(wait: float, reason: str = "") -> list[Record]:
    records = [
        AgentStateChanged(0, "a1", AgentState.READY, "", 0),
        CallOffered(0, 1, "pstn", "ani", "400", 1),
        CallQueued(0, 1, "sales", 0, 1),
        CallAnswered(wait, 1, "sales", "a1", wait),
        AgentStateChanged(wait, "a1", AgentState.TALKING, "", 1),
        CallEnded(wait + 60, 1, EndCause.CALLER_HANGUP),
        AgentStateChanged(wait + 60, "a1", AgentState.READY, "", 0),
    ]
    if reason:
        records.append(AgentStateChanged(wait + 70, "a1", AgentState.NOT_READY, reason, 0))
    records.append(AgentStateChanged(wait + 100, "a1", AgentState.LOGGED_OUT, "", 0))
    return records


def report(records: list[Record], **settings) -> KpiReport:
    return compute_kpis(records, KpiSettings(**settings))


def test_identical_replications_have_zero_half_width():
    run = report(answered_call(wait=8))

    summary = summarize([run, run, run])

    assert summary.replications == 3
    for key, value in flatten(run).items():
        figure = summary[key]
        if value is None:
            assert (figure.n, figure.mean, figure.half_width) == (0, None, None), key
        else:
            assert (figure.n, figure.mean, figure.stdev, figure.half_width) == (
                3,
                value,
                0.0,
                0.0,
            ), key
    assert summary["center.asa"].mean == 8.0
    assert summary["queue.sales.asa"].mean == 8.0


def test_known_values_give_the_textbook_t_interval():
    runs = [report(blocked_calls(n)) for n in (1, 2, 3)]

    summary = summarize(runs)

    offered = summary["center.offered"]
    assert (offered.n, offered.mean, offered.stdev) == (3, 2.0, 1.0)
    assert offered.half_width == pytest.approx(T_975_DF2 / math.sqrt(3), rel=1e-12)
    assert offered.half_width == pytest.approx(2.4841, abs=5e-5)
    assert summary["center.blocked_rate"].half_width == 0.0
    assert summary["interval.00:00-00:30.offered"].mean == 2.0


def test_a_figure_undefined_in_some_replications_is_pooled_over_the_others():
    runs = [report(blocked_calls(1)), report(answered_call(5)), report(answered_call(30))]

    summary = summarize(runs)

    service_level = summary["center.service_level"]
    assert (service_level.n, service_level.mean) == (2, 0.5)
    assert service_level.stdev == math.sqrt(0.5)
    assert service_level.half_width == pytest.approx(T_975_DF1 * 0.5, rel=1e-12)
    assert summary["center.offered"].n == 3
    assert summary["queue.sales.offered"].n == 2  # no queue in the blocked run
    assert summary.queues == ["sales"]


def test_a_single_replication_has_no_interval():
    run = report(answered_call(wait=8))

    figure = summarize([run])["center.asa"]

    assert (figure.n, figure.mean, figure.stdev, figure.half_width) == (1, 8.0, None, None)


def test_a_not_ready_reason_missing_from_a_run_counts_as_zero():
    summary = summarize([report(answered_call(5, "lunch")), report(answered_call(5))])

    lunch = summary["agents.not_ready_by_reason.lunch"]
    assert (lunch.n, lunch.mean) == (2, 15.0)
    assert summary["agent.a1.not_ready_by_reason.lunch"].mean == 15.0


def test_summarize_values_directly():
    figure = summarize_values([10.0, 12.0, 14.0, 16.0])
    assert (figure.n, figure.mean) == (4, 13.0)
    assert figure.stdev == math.sqrt(20.0 / 3.0)
    assert summarize_values([]).mean is None


def test_summary_keys_and_dict_form():
    summary = summarize([report(answered_call(5)), report(answered_call(7))])

    data = json.loads(json.dumps(summary.to_dict()))

    assert data["replications"] == 2
    assert data["confidence"] == 0.95
    assert data["intervals"] == ["00:00-00:30"]
    assert data["figures"]["center.asa"]["mean"] == 6.0
    assert data["figures"]["interval.00:00-00:30.occupancy"]["n"] == 2
    assert data["figures"]["agents.occupancy"]["n"] == 2


def test_reports_to_pool_must_exist_and_share_settings():
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        summarize([report(blocked_calls(1)), report(blocked_calls(1), window_start=1)])
