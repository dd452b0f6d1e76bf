"""`ccbox report` on a records database written directly: the figures of its event log."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from appliance.cli import _register_plugins, app
from appliance.config import resolve_site
from appliance.events import (
    CallEnded,
    CallOffered,
    EndCause,
    OutsideCallAnswered,
    OutsideCallEnded,
    OutsideCallStarted,
    Record,
)
from appliance.kpi import KpiSettings, compute_kpis
from appliance.kpi.settings import queue_thresholds
from appliance.records.store import RecordStore
from sim.world import RunSpec, World
from tests.appliance.records.test_cdr import EVENTFUL_SITE

_register_plugins()
runner = CliRunner()
RUN = "20261207T080000-4242"  # as the appliance names a run it starts at 08:00:00
SITE = EVENTFUL_SITE  # holds, transfers, abandons, overflows: every figure moves


@pytest.fixture(scope="module")
def simulated() -> list[Record]:
    return World(SITE, RunSpec(hours=1.5, seed=4)).run().records


@pytest.fixture
def database(tmp_path: Path, simulated: list[Record]) -> Path:
    path = tmp_path / "records.sqlite"
    with RecordStore(path, RUN) as store:
        for record in simulated:
            store.append(record)
    return path


def report(*args: str):
    return runner.invoke(app, ["report", *args])


def figures(*args: str) -> dict:
    result = report(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_report_of_a_records_file_is_the_kpis_of_its_event_log(database, simulated):
    document = figures(str(database))
    settings = KpiSettings(interval=1800.0, clock_origin=8 * 3600.0)
    assert document["report"] == compute_kpis(simulated, settings).to_dict()
    assert document["report"]["center"]["offered"] > 50
    assert document["runs"] == [{"run": RUN, "from": document["from"], "to": document["to"]}]
    assert document["from"].startswith("2026-12-07 08:00")


def test_the_window_and_the_intervals_are_on_the_box_clock(database, simulated):
    document = figures(str(database), "--from", "08:15", "--to", "2026-12-07T09:15",
                       "--interval", "15m")
    settings = KpiSettings(interval=900.0, window_start=900.0, window_end=4500.0,
                           clock_origin=8 * 3600.0)
    assert document["report"] == compute_kpis(simulated, settings).to_dict()
    assert [i["label"] for i in document["report"]["intervals"]][:2] == [
        "08:15-08:30", "08:30-08:45"]
    assert (document["from"], document["to"]) == ("2026-12-07 08:15:00", "2026-12-07 09:15:00")


def test_runs_outside_the_window_are_not_read(tmp_path, simulated):
    """A run the day before, whose records no reader could decode: only a report that
    reads it fails."""
    path = tmp_path / "records.sqlite"
    day_before = "20261206T080000-1"
    with RecordStore(path, day_before) as store:
        store.append(CallOffered(1.0, 1, "pstn", "1", "2", 1))
        store.append(CallEnded(2.0, 1, EndCause.ABANDONED))
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("UPDATE events SET json = 'unreadable' WHERE run = ?", (day_before,))
    with RecordStore(path, RUN) as store:
        for record in simulated:
            store.append(record)
    assert "not a readable records database" in one_line_error(str(path))
    document = figures(str(path), "--from", "2026-12-07T08:15")
    day = 24 * 3600.0
    moved = [r._replace(t=r.t + day) for r in simulated]
    settings = KpiSettings(interval=1800.0, window_start=day + 900.0, clock_origin=8 * 3600.0)
    assert document["report"] == compute_kpis(moved, settings).to_dict()
    assert [run["run"] for run in document["runs"]] == [day_before, RUN]
    assert document["from"] == "2026-12-07 08:15:00"


def test_the_site_file_gives_the_queues_thresholds(database, simulated):
    document = figures(str(database), "--config", "small")
    thresholds = queue_thresholds(resolve_site("small"))
    settings = KpiSettings(interval=1800.0, clock_origin=8 * 3600.0, queues=thresholds)
    assert document["report"] == compute_kpis(simulated, settings).to_dict()
    assert document["report"]["settings"]["queues"].keys() == thresholds.keys()


def test_a_queue_report_counts_the_calls_that_visited_the_queue(database, simulated):
    document = figures(str(database), "--queue", "service")
    # A call turned away by a full queue visited it too (offered to it, overflowed out).
    visited = {r.call for r in simulated if getattr(r, "queue", None) == "service"}
    assert document["report"]["center"]["offered"] == len(visited)
    assert list(document["report"]["queues"]) == ["service"]


def test_the_json_has_the_shape_of_the_simulators(database):
    ours = figures(str(database))["report"]
    result = runner.invoke(app, ["sim", "small", "--hours", "1", "--json"])
    theirs = json.loads(result.stdout)["report"]
    assert ours.keys() == theirs.keys()
    for part in ("settings", "center", "center_agents"):
        assert ours[part].keys() == theirs[part].keys()
    assert ours["intervals"][0].keys() == theirs["intervals"][0].keys()


def test_the_table_names_the_period_and_the_html_page_has_plots(database, tmp_path):
    page = tmp_path / "report.html"
    result = report(str(database), "--html", str(page))
    assert result.exit_code == 0, result.output
    assert "records.sqlite: 2026-12-07 08:00:" in result.stdout
    for figure in ("Offered", "Service level", "ASA", "Occupancy"):
        assert figure in result.stdout
    text = page.read_text()
    assert text.count("<svg") == 3 and "<h2>Intervals</h2>" in text


def one_line_error(*args: str) -> str:
    result = report(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ccbox report: "), result.stderr
    return lines[0]


def test_a_missing_records_file_is_named(tmp_path):
    missing = tmp_path / "records.sqlite"
    assert str(missing) in one_line_error(str(missing))


def test_a_file_that_is_no_database_is_named(tmp_path):
    garbage = tmp_path / "records.sqlite"
    garbage.write_text("not a database\n" * 100)
    assert str(garbage) in one_line_error(str(garbage))


def test_a_database_without_records_is_named(tmp_path):
    empty = tmp_path / "records.sqlite"
    RecordStore(empty, RUN).close()
    assert "no records" in one_line_error(str(empty))


@pytest.mark.parametrize(("option", "said"), [
    (["--interval", "soon"], "--interval"),
    (["--from", "09:00", "--to", "08:00"], "--to"),
    (["--from", "yesterday"], "--from yesterday"),
    (["--queue", "nobody"], "queues: backup, service"),
    (["--html", "/no/such/folder/report.html"], "no directory /no/such/folder"),
])
def test_bad_options_are_named(database, option, said):
    assert said in one_line_error(str(database), *option)


def test_a_site_file_that_cannot_be_read_is_refused_as_ccbox_check_refuses_it(database):
    result = report(str(database), "--config", "/no/such/site.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith("ccbox report: /no/such/site.yaml: ")


def test_outside_calls_are_summed_apart_from_the_queue_figures(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    with RecordStore(path, RUN) as store:
        for record in (
            OutsideCallStarted(10.0, -1, "pstn", "0301234", "a1", "dialled"),
            OutsideCallAnswered(15.0, -1),
            OutsideCallEnded(75.0, -1, "far_hangup", 200),
            OutsideCallStarted(80.0, -2, "pstn", "00441234", "a2", "dialled"),
            OutsideCallEnded(80.0, -2, "barred", 403),
        ):
            store.append(record)
    document = figures(str(path))
    assert document["report"]["center"]["offered"] == 0
    assert document["outside_calls"] == {"placed": 2, "outcomes": {"answered": 1, "barred": 1},
                                         "talk": 60.0, "avg_talk": 60.0}
    shown = report(str(path)).stdout
    assert "Outside calls (2)" in shown and "barred" in shown and "60 s" in shown
