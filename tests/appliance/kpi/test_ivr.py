"""The IVR's figures in a report: in its JSON, its terminal tables and its HTML page, and
only when calls entered the IVR."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from appliance.kpi import KpiSettings, compute_kpis, flatten, summarize
from appliance.kpi.html import write_html
from appliance.kpi.render import render_report
from tests.appliance.test_reduce_ivr import day

SETTINGS = KpiSettings(interval=3600.0)


def printed(data) -> str:
    out = io.StringIO()
    render_report(data, Console(file=out, width=200), title="run")
    return out.getvalue()


def test_the_json_report_has_the_ivr_section() -> None:
    document = json.loads(json.dumps(compute_kpis(day(), SETTINGS).to_dict()))
    ivr = document["ivr"]
    assert ivr["center"]["completed"] == 1 and ivr["center"]["answer_rate"] == 0.4
    assert ivr["flows"]["main"]["nodes"]["menu"] == {"visits": 3, "mean_time": 3.0}
    assert ivr["intervals"][0]["label"] == "00:00-01:00"


def test_flat_figures_name_the_ivr_figures_and_pool_over_replications() -> None:
    report = compute_kpis(day(), SETTINGS)
    flat = flatten(report)
    assert flat["ivr.center.entered"] == 4
    assert flat["ivr.flow.main.node.find.visits"] == 1
    assert summarize([report, report])["ivr.center.answer_rate"].mean == 0.4


def test_the_terminal_report_shows_the_ivr_tables_only_with_an_ivr() -> None:
    text = printed(compute_kpis(day(), SETTINGS))
    assert "run: IVR" in text and "main/menu" in text
    assert "Answer rate, IVR completions included" in text
    without = printed(compute_kpis(day()[-4:], SETTINGS))
    assert "IVR" not in without
    assert "IVR nodes" in printed(summarize([compute_kpis(day(), SETTINGS)] * 2))


def test_the_html_page_has_the_ivr_tables(tmp_path: Path) -> None:
    write_html(compute_kpis(day(), SETTINGS), tmp_path / "r.html", title="run")
    page = (tmp_path / "r.html").read_text()
    assert "<h2>IVR</h2>" in page and "<h2>IVR nodes</h2>" in page
    assert "night/menu" in page
    write_html(compute_kpis(day()[-4:], SETTINGS), tmp_path / "q.html", title="run")
    assert "IVR" not in (tmp_path / "q.html").read_text()
