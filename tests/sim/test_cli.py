"""The ``ccbox`` command as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from appliance.cli import _register_plugins, app
from appliance.eventlog import read_jsonl
from appliance.kpi import CENTER_ENDS

_register_plugins()
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_sim_prints_a_kpi_report_for_the_small_site() -> None:
    result = invoke("sim", "small", "--hours", "2")
    assert result.exit_code == 0
    for figure in ("Offered", "Blocked rate", "Service level", "ASA", "Occupancy"):
        assert figure in result.stdout


def test_sim_json_figures_add_up() -> None:
    result = invoke("sim", "small", "--hours", "3", "--json", "--seed", "3")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    center = data["report"]["center"]
    assert center["offered"] == sum(center[k] for k in CENTER_ENDS)
    assert center["offered"] > 50
    assert 0 < center["blocked"] < center["offered"]  # 4 analog lines are the bottleneck


def test_replications_report_means_with_confidence_intervals() -> None:
    result = invoke("sim", "small", "--hours", "2", "--replications", "3", "--json")
    assert result.exit_code == 0
    offered = json.loads(result.stdout)["report"]["figures"]["center.offered"]
    assert offered["n"] == 3
    assert offered["half_width"] > 0


def test_events_are_written_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    result = invoke("sim", "small", "--hours", "1", "--events", str(path), "--json")
    assert result.exit_code == 0
    records = read_jsonl(path.read_text().splitlines())
    offered = sum(type(r).__name__ == "CallOffered" for r in records)
    assert offered == json.loads(result.stdout)["report"]["center"]["offered"]


def test_invalid_configuration_names_file_and_field_and_runs_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "site.yaml"
    small = Path(__file__).resolve().parents[2] / "appliance" / "sites" / "small.yaml"
    bad.write_text(small.read_text().replace("strategy: longest_idle", "strategy: fastest"))
    events = tmp_path / "events.jsonl"
    result = runner.invoke(app, ["sim", str(bad), "--events", str(events)])
    assert result.exit_code == 2
    assert str(bad) in result.output
    assert "strategy" in result.output and "fastest" in result.output
    assert not events.exists()


def test_unknown_site_name_lists_the_built_in_ones() -> None:
    result = runner.invoke(app, ["sim", "huge"])
    assert result.exit_code == 2
    assert "small" in result.output and "medium" in result.output


@pytest.mark.parametrize("site", ["small", "medium", "digital"])
def test_check_validates_the_reference_sites(site: str) -> None:
    result = invoke("check", site)
    assert result.exit_code == 0
    assert "valid" in result.stdout


def test_bench_prints_both_rates_and_their_ratio() -> None:
    result = invoke("bench", "sim", "--days", "2", "--repeats", "1")
    assert result.exit_code == 0
    assert "plain SimPy" in result.stdout
    assert "ratio ccbox / plain SimPy" in result.stdout
    assert "Ciw" in result.stdout and "ratio ccbox / Ciw" in result.stdout


def test_an_events_file_in_a_missing_directory_is_refused_before_simulating(
    tmp_path: Path,
) -> None:
    target = tmp_path / "missing" / "day.jsonl"
    result = runner.invoke(app, ["sim", "small", "--events", str(target)])
    assert result.exit_code == 2
    assert "no directory" in result.output
    assert not target.parent.exists()
