"""`ccbox load --calibrate FILE`: a short live load of a tiny site writes the site file with
its agent_behaviour calibrated, and the file validates."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from appliance.config.loader import load_site
from sim.load.calibrate import MARK
from sim.load.command import load_command
from tests.sim.load.test_world import tiny_site

pytestmark = pytest.mark.slow

app = typer.Typer()
app.command("load")(load_command)
app.command("other")(lambda: None)  # two commands: the name is given, as with ccbox


def test_the_command_writes_a_calibrated_copy_of_the_site_file(tmp_path: Path) -> None:
    source = tmp_path / "tiny.yaml"
    source.write_text(yaml.safe_dump(tiny_site().model_dump(mode="json"), sort_keys=False))
    target = tmp_path / "tiny-calibrated.yaml"
    result = CliRunner().invoke(app, [
        "load", str(source), "--minutes", "0.5", "--speedup", "6", "--replications", "2",
        "--keep", str(tmp_path / "run"), "--calibrate", str(target)])
    assert result.exit_code == 0, result.output
    assert f"calibrated agent_behaviour written to {target}" in result.output
    text = target.read_text()
    assert MARK in text and "Ring to answer:" in text
    assert "Ring to answer: - over 0" not in text
    assert load_site(target).agent_behaviour.answer_delay.mean_value >= 1.0
    assert source.read_text() != text and MARK not in source.read_text()
