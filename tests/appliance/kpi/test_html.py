"""The HTML page of a report: the terminal's cells and the interval plots, in one file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from appliance.cli import _register_plugins, app
from appliance.events import CallEnded, CallOffered, EndCause, Record
from appliance.kpi import KpiSettings, compute_kpis, summarize
from appliance.kpi.html import write_html
from appliance.kpi.render import ReportCells
from sim.world import RunSpec, World
from tests.appliance.records.test_cdr import EVENTFUL_SITE

_register_plugins()
SITE = EVENTFUL_SITE


def simulated_records(seed: int) -> list[Record]:
    return World(SITE, RunSpec(hours=1, seed=seed)).run().records


def simulated_report(seed: int):
    return compute_kpis(simulated_records(seed), KpiSettings(interval=900.0))


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


def test_the_page_shows_calls_sent_away_only_when_some_occurred(tmp_path: Path) -> None:
    plain, closed = tmp_path / "plain.html", tmp_path / "closed.html"
    records = simulated_records(1)
    write_html(compute_kpis(records, KpiSettings(interval=900.0)), plain, title="plain")
    offer = CallOffered(records[-1].t, 10**6, "pstn", "ani", "400", 1)
    away = [*records, offer, CallEnded(offer.t, offer.call, EndCause.CLOSED)]
    write_html(compute_kpis(away, KpiSettings(interval=900.0)), closed, title="closed")
    assert "Closed" not in plain.read_text()
    text = closed.read_text()
    assert "<td>Closed (after hours, holiday)</td><td>1</td>" in text
    assert "<th>Closed</th>" in text and "counted as offered but not as blocked" in text
