"""The HTML page of a report: the terminal's cells and the interval plots, in one file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from appliance.cli import _register_plugins, app
from appliance.kpi import KpiSettings, compute_kpis, summarize
from appliance.kpi.html import write_html
from appliance.kpi.render import ReportCells
from sim.world import RunSpec, World
from tests.appliance.records.test_cdr import EVENTFUL_SITE

_register_plugins()
SITE = EVENTFUL_SITE


def simulated_report(seed: int):
    records = World(SITE, RunSpec(hours=1, seed=seed)).run().records
    return compute_kpis(records, KpiSettings(interval=900.0))


def test_the_page_holds_every_cell_of_the_terminal_tables(tmp_path: Path) -> None:
    report = simulated_report(1)
    page = tmp_path / "report.html"
    write_html(report, page, title="one <hour>")
    text = page.read_text()
    assert "<title>one &lt;hour&gt;</title>" in text
    assert text.count("<svg") == 3
    cells = ReportCells(report)
    for label in cells.intervals:
        assert f"<td>{label}</td>" in text
    assert f"<td>{cells.cell('center.service_level')}</td>" in text


def test_a_summary_of_replications_shows_means_and_half_widths(tmp_path: Path) -> None:
    summary = summarize([simulated_report(seed) for seed in (1, 2, 3)])
    page = tmp_path / "summary.html"
    write_html(summary, page, title="three")
    assert "±" in page.read_text()


def test_ccbox_sim_writes_the_same_page(tmp_path: Path) -> None:
    page = tmp_path / "sim.html"
    result = CliRunner().invoke(app, ["sim", "small", "--hours", "1", "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert page.read_text().count("<svg") == 3


def test_a_page_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "missing" / "sim.html"
    result = CliRunner().invoke(app, ["sim", "small", "--hours", "1", "--html", str(page)])
    assert result.exit_code == 2 and "no directory" in result.output
