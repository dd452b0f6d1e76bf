"""`ccbox check`, as a user runs it before a reload."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from appliance.cli import app
from tests.factories import site_dict

runner = CliRunner()


def write(path: Path, data: dict) -> str:
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_check_against_the_running_file_prints_what_a_reload_changes(tmp_path: Path) -> None:
    running = write(tmp_path / "running.yaml", site_dict(agents=2))
    data = site_dict(agents=3)
    data["media"] = {"rtp_port_min": 30000, "rtp_port_max": 40000}
    new = write(tmp_path / "new.yaml", data)
    result = runner.invoke(app, ["check", new, "--against", running])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("test: valid")
    assert lines[1:] == ["reload applies: agents: added a3 (may log in)",
                         "needs a restart: media.rtp_port_min: 10000 -> 30000",
                         "needs a restart: media.rtp_port_max: 20000 -> 40000"]


def test_check_against_an_identical_file_says_nothing_changes(tmp_path: Path) -> None:
    running = write(tmp_path / "running.yaml", site_dict())
    result = runner.invoke(app, ["check", running, "--against", running])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "a reload changes nothing"


def test_an_invalid_new_file_fails_with_status_2_and_names_the_field(tmp_path: Path) -> None:
    running = write(tmp_path / "running.yaml", site_dict())
    data = site_dict(trunks=0)
    new = write(tmp_path / "new.yaml", data)
    result = runner.invoke(app, ["check", new, "--against", running])
    assert result.exit_code == 2
    assert "new.yaml" in result.output and "channels" in result.output


def test_an_invalid_running_file_fails_with_status_2(tmp_path: Path) -> None:
    running = write(tmp_path / "running.yaml", site_dict(trunks=0))
    new = write(tmp_path / "new.yaml", site_dict())
    result = runner.invoke(app, ["check", new, "--against", running])
    assert result.exit_code == 2
    assert "running.yaml" in result.output
