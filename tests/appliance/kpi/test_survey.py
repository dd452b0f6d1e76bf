"""Survey figures in the KPI report: scored count and mean per agent and per queue, shown
only when callers scored; the detail record keeps each call's score."""

from __future__ import annotations

import io

from rich.console import Console

from appliance.kpi.compute import compute_kpis
from appliance.kpi.render import render_report
from appliance.kpi.settings import KpiSettings
from appliance.records.cdr import call_details
from tests.appliance.pbx.test_survey import control, talking


def surveyed(scores: list[str]) -> list:
    cc, log = control()
    for k, score in enumerate(scores):
        call = talking(cc)
        cc.agent_hangup(30.0 + 100 * k, "1007")
        cc.on_deadline(35.0 + 100 * k)
        cc.caller_digit(35.5 + 100 * k, call, score)
        cc.on_deadline(40.0 + 100 * k)
        cc.agent_ready(41.0 + 100 * k, "1007")
        cc.take_actions()
    return list(log)


def printed(records: list) -> str:
    out = io.StringIO()
    render_report(compute_kpis(records, KpiSettings()), Console(file=out, width=200),
                  title="run")
    return out.getvalue()


def test_scores_are_counted_and_averaged_per_agent_and_queue() -> None:
    records = surveyed(["4", "5"])
    surveys = compute_kpis(records, KpiSettings()).surveys
    assert surveys is not None
    assert (surveys.agents["1007"].scored, surveys.agents["1007"].mean_score) == (2, 4.5)
    assert surveys.queues["service"].mean_score == 4.5
    assert [d.survey_score for d in call_details(records)] == ["4", "5"]
    assert "survey by agent" in printed(records)


def test_a_report_without_scores_has_no_survey_tables() -> None:
    records = surveyed([])
    assert compute_kpis(records, KpiSettings()).surveys is None
    assert "survey" not in printed(records)
