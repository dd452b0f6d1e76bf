"""The live-versus-simulation comparison: verdicts and causes on hand-made figures, and its
terminal, JSON and HTML forms."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from html import escape
from pathlib import Path

import pytest
from rich.console import Console

from appliance.config.loader import builtin_site_path, load_site
from appliance.kpi.replications import FigureSummary, ReplicationSummary
from appliance.kpi.settings import KpiSettings
from sim.experiment import Experiment, run_once
from sim.load.compress import compress
from sim.load.html import write_comparison_html
from sim.load.predict import Prediction
from sim.load.report import (
    ANSWER_DELAY,
    INSIDE,
    LATENCY,
    OUTSIDE,
    HostFigures,
    Row,
    compare,
    host_rows,
    render_comparison,
)

SITE = compress(load_site(builtin_site_path("small")), 10)
LIVE = run_once(Experiment(SITE, hours=2 / 60, seed=1))

# Half-width 2 over 3 replications: one run falls within 2 x sqrt(4) = 4 of the mean.
ASA = FigureSummary(n=3, mean=10.0, stdev=1.0, half_width=2.0)


def _row(live: float | None, predicted: FigureSummary | None = ASA, key: str = "center.asa",
         ) -> Row:
    return Row("center", key, "ASA", live, predicted)


def _prediction(figures: dict[str, FigureSummary]) -> Prediction:
    summary = ReplicationSummary(replications=3, confidence=0.95, settings=KpiSettings(),
                                 queues=["service"], agents=[], intervals=[], figures=figures)
    return Prediction(minutes=2, seed=1, summary=summary)


def test_one_run_is_judged_by_the_interval_a_single_run_falls_in() -> None:
    assert _row(12.0).interval == (6.0, 14.0)
    assert (_row(14.0).verdict, _row(6.0).verdict) == (INSIDE, INSIDE)
    assert (_row(14.5).verdict, _row(5.5).verdict) == (OUTSIDE, OUTSIDE)
    assert _row(14.5).difference == 4.5


def test_a_figure_or_interval_not_defined_has_no_verdict() -> None:
    assert _row(None).verdict is None and _row(None).difference is None
    one_run = FigureSummary(n=1, mean=10.0, stdev=None, half_width=None)
    assert (_row(12.0, one_run).verdict, _row(12.0, one_run).difference) == (None, 2.0)
    assert _row(12.0, None).verdict is None


def test_a_figure_outside_names_the_likely_cause_in_its_direction() -> None:
    assert _row(15.0).cause == ANSWER_DELAY
    assert _row(5.0).cause is None  # answering sooner than the model: no rule
    assert _row(12.0).cause is None  # inside
    att = FigureSummary(n=3, mean=15.0, stdev=1.0, half_width=1.0)
    assert _row(5.0, att, "queue.service.att").cause == LATENCY


def test_the_comparison_sets_the_box_beside_the_prediction() -> None:
    live = replace(LIVE, center=replace(LIVE.center, asa=20.0))
    comparison = compare(live, _prediction({"center.asa": ASA}), speedup=10)
    scopes = [(row.scope, row.key) for row in comparison.rows]
    assert comparison.scopes() == ["center", "service"]
    assert ("center", "agents.occupancy") in scopes
    assert ("service", "queue.service.service_level") in scopes
    assert ("service", "queue.service.blocked_rate") not in scopes
    assert [row.key for row in comparison.outside()] == ["center.asa"]
    offered = comparison.rows[0]
    assert (offered.key, offered.live, offered.predicted) == ("center.offered",
                                                             LIVE.center.offered, None)


def test_the_json_form() -> None:
    live = replace(LIVE, center=replace(LIVE.center, asa=20.0))
    host = HostFigures(cpu_percent_mean=12.5, rss_bytes_max=50 * 2**20, samples=4)
    document = json.loads(json.dumps(compare(live, _prediction({"center.asa": ASA}), 10,
                                             host).to_dict()))
    assert {k: document[k] for k in ("speedup", "minutes", "seed", "replications")} == {
        "speedup": 10, "minutes": 2, "seed": 1, "replications": 3}
    asa = next(row for row in document["rows"] if row["key"] == "center.asa")
    assert asa == {"scope": "center", "key": "center.asa", "label": "ASA", "live": 20.0,
                   "predicted": ASA.to_dict(), "low": 6.0, "high": 14.0, "difference": 10.0,
                   "verdict": OUTSIDE, "cause": ANSWER_DELAY}
    assert document["host"]["rss_bytes_max"] == 50 * 2**20


def test_host_figures_as_shown() -> None:
    host = HostFigures(cpu_percent_mean=12.5, cpu_percent_max=40.0, rss_bytes_max=50 * 2**20,
                       loop_lag_mean=0.0021, loop_lag_max=None)
    assert host_rows(host) == [("Box CPU, mean", "12.5 %"), ("Box CPU, peak", "40.0 %"),
                               ("Box memory (RSS), peak", "50.0 MiB"),
                               ("Load event-loop lag, mean", "2.1 ms"),
                               ("Load event-loop lag, worst", "-")]


def test_the_terminal_tables() -> None:
    live = replace(LIVE, center=replace(LIVE.center, asa=20.0))
    console = Console(record=True, width=200)
    render_comparison(compare(live, _prediction({"center.asa": ASA}), 10, HostFigures()),
                      console)
    text = console.export_text()
    assert "2 min at 10x, seed 1, 3 replications: center" in text
    assert "6.0 s to 14.0 s" in text and "outside" in text
    assert f"center ASA: {ANSWER_DELAY}" in " ".join(text.split())
    assert "Box CPU, mean" in text


def test_the_html_page(tmp_path: Path) -> None:
    live = replace(LIVE, center=replace(LIVE.center, asa=20.0))
    page = tmp_path / "load.html"
    write_comparison_html(compare(live, _prediction({"center.asa": ASA}), 10,
                                  HostFigures(cpu_percent_mean=3.0)), page)
    text = page.read_text(encoding="utf-8")
    assert text.count("<svg") == 2  # the center and the queue
    assert "<h2>service</h2>" in text and "Box CPU, mean" in text
    assert escape(ANSWER_DELAY) in text


@pytest.mark.parametrize("n", [2, 5, 30])
def test_the_interval_widens_the_mean_s_by_the_root_of_n_plus_one(n: int) -> None:
    figure = FigureSummary(n=n, mean=10.0, stdev=1.0, half_width=1.0)
    assert _row(10.0, figure).interval == (10 - math.sqrt(n + 1), 10 + math.sqrt(n + 1))


def test_the_interval_stays_within_what_the_figure_can_be() -> None:
    level = FigureSummary(n=3, mean=0.95, stdev=0.05, half_width=0.1)
    assert _row(1.0, level, "center.service_level").interval == (pytest.approx(0.75), 1.0)
    assert _row(0.0, FigureSummary(n=3, mean=1.0, stdev=1.0, half_width=2.0)).interval == (
        0.0, 5.0)


def test_the_ivr_s_rows_come_when_the_prediction_has_them() -> None:
    completed = FigureSummary(n=3, mean=2.0, stdev=0.5, half_width=1.0)
    comparison = compare(LIVE, _prediction({"ivr.center.entered": ASA,
                                            "ivr.center.completed": completed}), 10)
    rows = [row for row in comparison.rows if row.scope == "ivr"]
    assert comparison.scopes()[-1] == "ivr"
    assert [row.figure for row in rows] == ["entered", "completed", "abandoned", "to_queue",
                                            "mean_time", "answer_rate"]
    assert rows[1].live is None and rows[1].predicted == completed
    assert "ivr" not in compare(LIVE, _prediction({}), 10).scopes()  # a site without one
