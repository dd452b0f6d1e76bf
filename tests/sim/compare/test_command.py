"""`ccbox compare` on the small site: the ordering DOMAIN.md's "Ports: analog vs digital"
predicts, from seeded replications, and the command's output."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from appliance.cli import _register_plugins, app
from appliance.config import resolve_site
from sim.compare.figures import FIGURES, Run, pooled, runs
from sim.compare.variants import DEFAULT_VARIANTS, Trunks, on_trunks
from sim.experiment import Experiment, run_replications

HOURS = 9.0  # the small site's day


def measured(spec: str, replications: int = 6) -> dict[str, tuple[float, float]]:
    """(mean, half-width) of every compared figure of the small site on `spec`."""
    trunks = Trunks.parse(spec)
    site = on_trunks(resolve_site("small"), "pstn", trunks)
    reports = run_replications(Experiment(site, HOURS, seed=1), replications, workers=1)
    figures: list[Run] = runs(reports, "pstn", trunks.channels, HOURS * 3600)
    out = {}
    for figure in FIGURES:
        summary = pooled(figures, figure)
        assert summary.mean is not None and summary.half_width is not None
        out[figure.key] = (summary.mean, summary.half_width)
    return out


def below(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """`a`'s interval lies wholly below `b`'s."""
    return a[0] + a[1] < b[0] - b[1]


def test_e1_blocks_least_and_one_analog_card_most() -> None:
    four, eight, e1 = (measured(spec) for spec in DEFAULT_VARIANTS)
    assert below(e1["blocked_rate"], four["blocked_rate"])
    assert below(eight["blocked_rate"], four["blocked_rate"])
    assert four["blocked_rate"][0] > 0.10 and eight["blocked_rate"][0] < 0.01
    assert e1["blocked_rate"] == (0.0, 0.0)  # 30 channels: 16 agents and their queue fit
    # The trunks are busiest where they are fewest, and seized longest per call on analog.
    assert below(e1["trunk_occupancy"], eight["trunk_occupancy"])
    assert below(eight["trunk_occupancy"], four["trunk_occupancy"])
    # Analog's own costs: the caller-ID wait, rings lost in it, hang-ups noticed late.
    for analog in (four, eight):
        assert analog["answer_delay"] == (5.0, 0.0)
        assert analog["lost_rings"][0] > 10 and analog["late_minutes"][0] > 30
    assert e1["answer_delay"] == e1["lost_rings"] == e1["late_minutes"] == (0.0, 0.0)
    assert below(e1["answer_from_first_ring"], eight["answer_from_first_ring"])


def test_the_command_prints_each_variant_side_by_side() -> None:
    _register_plugins()
    result = CliRunner().invoke(app, ["compare", "small", "--replications", "2", "--hours",
                                      "2", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [v["trunks"] for v in document["variants"]] == [
        "4 analog (fxo-4)", "8 analog (2 x fxo-4)", "30 e1 (e1-30)"]
    figures = document["variants"][0]["figures"]
    assert set(figures) == {figure.key for figure in FIGURES}
    assert figures["blocked_rate"]["n"] == 2


def test_a_variant_that_is_no_trunk_hardware_is_refused() -> None:
    _register_plugins()
    result = CliRunner().invoke(app, ["compare", "small", "--on", "fxs-8"])
    assert result.exit_code == 2
    assert "--on fxs-8: profile fxs-8 has no trunk ports" in result.output
