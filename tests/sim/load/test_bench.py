"""`ccbox bench load`: how a step is judged, what the ceiling says, and one short step run
end to end (the figures themselves belong to the benchmark, not to a test)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from typer.testing import CliRunner

from appliance.cli import _register_plugins, app
from sim.agents.schedule import PlannedStep
from sim.cli import _load_result
from sim.load.bench import (
    BOX_FIGURE,
    Ceiling,
    LoadStep,
    agents_for,
    bench_site,
    staggered,
    summary,
    warm_up,
)

KEPT_UP = LoadStep(rate=10, agents=36, seconds=20, wall=20, placed=200, load_cpu=1.0,
                   box_cpu=0.6, lag_mean=0.001, lag_worst=0.02)


def test_a_step_that_placed_its_calls_on_time_without_failures_passes() -> None:
    assert KEPT_UP.passed and not KEPT_UP.fell_behind
    assert KEPT_UP.placed_per_s == 10 and KEPT_UP.load_ms_per_call == 5.0
    assert KEPT_UP.load_percent == 5.0 and KEPT_UP.box_ms_per_call == 3.0


def test_late_or_short_is_falling_behind_and_a_failure_is_not() -> None:
    late = replace(KEPT_UP, lag_worst=1.5)
    short = replace(KEPT_UP, placed=150)  # 200 offered: 3.5 standard deviations short
    failed = replace(KEPT_UP, failures={"caller 503": 4})
    assert late.fell_behind and late.problems == ["late 1/1500 ms"]
    assert short.fell_behind and short.problems == ["placed 150 of 200"]
    assert not failed.fell_behind and failed.problems == ["caller 503 x4"]
    assert replace(KEPT_UP, placed=170).passed  # within Poisson arrivals' chance


def test_the_limit_is_the_side_that_gave_out_at_the_first_failing_step() -> None:
    more = replace(KEPT_UP, rate=20, placed=400)
    behind = replace(more, lag_mean=0.2)
    refused = replace(more, failures={"caller 503": 9})
    assert Ceiling([KEPT_UP, more]).limit is None
    assert Ceiling([KEPT_UP, behind]).limit == "load"
    assert Ceiling([KEPT_UP, refused]).limit == "box"
    assert Ceiling([KEPT_UP, refused]).top == KEPT_UP
    assert Ceiling([refused]).top is None


def test_the_summary_names_the_ceiling_and_the_limit_beside_the_box_figure() -> None:
    refused = replace(KEPT_UP, rate=20, placed=400, failures={"phone 503": 1})
    lines = summary(Ceiling([KEPT_UP, refused]))
    assert lines[0].startswith("ccbox load's ceiling here: 10 calls/s with 36 agents")
    assert "the box, not the load, is the limit" in lines[1]
    assert lines[-1] == BOX_FIGURE
    behind = summary(Ceiling([replace(KEPT_UP, lag_mean=0.1)]))
    assert behind == ["the load did not keep up even at 10 calls/s: late 100/20 ms"]


def test_logins_at_the_start_are_spread_and_later_steps_kept() -> None:
    plan = [PlannedStep(0.0, "a", "login", ""), PlannedStep(0.0, "b", "login", ""),
            PlannedStep(0.0, "c", "login", ""), PlannedStep(0.5, "a", "pause", "")]
    assert [(s.at, s.agent, s.kind) for s in staggered(plan, 4.0)] == [
        (0.5, "a", "pause"), (4.0, "a", "login"), (4.25, "b", "login"), (4.5, "c", "login")]
    assert warm_up(250) == 10.0


def test_the_synthetic_site_has_agents_enough_and_nothing_but_the_queue() -> None:
    site = bench_site(40, agents_for(40))
    assert len(site.expanded_agents()) == agents_for(40) >= 40 * 2
    assert site.ivr is None and len(site.queues) == 1
    assert site.traffic is not None and site.traffic.calls_per_hour == [144_000]


@pytest.mark.slow
def test_one_short_step_runs_and_prints_its_table() -> None:
    _register_plugins()
    result = CliRunner().invoke(app, ["bench", "load", "--rate", "5", "--step-seconds", "3"],
                                catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stdout
    assert "placed/s" in result.stdout and "box ms/call" in result.stdout
    assert "ccbox load's ceiling here" in result.stdout or "did not keep up" in result.stdout


def test_logins_refused_in_the_warm_up_are_shown_but_do_not_fail_the_step() -> None:
    refused = replace(KEPT_UP, warm_up_failures=20)
    assert refused.passed and _load_result(refused) == "pass (20 logins refused)"
