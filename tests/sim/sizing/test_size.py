"""`ccbox size`: the sources' worked example, the formulas against pyworkforce, the simulation
against Erlang C where its assumptions hold and against it where they do not."""

from __future__ import annotations

import json

import pytest
import typer
from pyworkforce.queuing import ErlangC
from typer.testing import CliRunner

from sim.sizing.command import size_command
from sim.sizing.formulas import answer_interval
from sim.sizing.inputs import SizingInputs, from_site, parse_service_level
from sim.sizing.simulate import MAX_REPLICATIONS, simulate_interval
from sim.world import World

WORKED_EXAMPLE = ["--population", "500000", "--call-rate", "0.003", "--busy-hour-share", "0.18",
                  "--aht", "150", "--max-occupancy", "0.7"]


def run(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    app.command()(size_command)
    app.command("other")(lambda: None)  # two commands: typer keeps `size`'s own arguments
    result = CliRunner().invoke(app, ["size-command", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_worked_example_gives_16_agents_by_the_rule_and_the_other_answers_beside_it():
    code, out, err = run(*WORKED_EXAMPLE, "--json")
    assert code == 0, err
    (interval,) = json.loads(out)["intervals"]
    assert interval["calls_per_hour"] == pytest.approx(270.0)
    assert interval["rule_exact"] == pytest.approx(16.07, abs=0.005)
    assert interval["rule"] == 16
    assert interval["erlang_c"] == 15
    assert interval["simulated"]["agents"] in (14, 15, 16)
    assert interval["trunks"] >= 12
    assert any("rule overstaffs" in note for note in interval["notes"])
    recordings = json.loads(out)["recordings"]
    # About 270 answered calls of 150 s in the hour, 16,000 bytes a second, kept 90 days.
    assert recordings["bytes_per_day"] == pytest.approx(270 * 150 * 16_000, rel=0.25)
    assert recordings["disk_bytes"] == pytest.approx(
        recordings["bytes_per_day"] * 90 + recordings["keep_free_bytes"])
    # The search's work stays bounded: a few agent counts around the analytic answer, each
    # run no more often than the cap (its speed is the business of `ccbox bench sim`).
    simulated = interval["simulated"]
    assert simulated["replications"] <= MAX_REPLICATIONS
    assert {c["agents"] for c in simulated["candidates"]} <= set(range(12, 19))


def test_the_formulas_answer_a_whole_day_without_simulating(monkeypatch: pytest.MonkeyPatch):
    def no_simulation(*_args, **_kwargs):
        raise AssertionError("the formulas ran a simulation")

    monkeypatch.setattr(World, "run", no_simulation)
    inputs = SizingInputs(calls_per_hour=tuple(float(r) for r in range(50, 1250, 50)),
                          interval_minutes=30, aht=240, patience=90)
    answers = [answer_interval(inputs, i, rate) for i, rate in enumerate(inputs.calls_per_hour)]
    assert all(a.erlang_a is not None and a.erlang_a <= a.erlang_c for a in answers)


@pytest.mark.parametrize("calls", [30, 120, 400, 900])
@pytest.mark.parametrize("aht", [120, 300])
@pytest.mark.parametrize("sl", ["80/20", "90/30", "70/60"])
def test_erlang_c_agent_counts_agree_exactly_with_pyworkforce(calls: int, aht: int, sl: str):
    target, threshold = parse_service_level(sl)
    inputs = SizingInputs(calls_per_hour=(calls,), interval_minutes=60, aht=aht,
                          sl_target=target, sl_threshold=threshold)
    ours = answer_interval(inputs, 0, calls).erlang_c
    reference = ErlangC(transactions=calls, aht=aht / 60, asa=threshold / 60, interval=60,
                        shrinkage=0)
    theirs = reference.required_positions(service_level=target, max_occupancy=1.0)
    # pyworkforce starts its search at round(load + 1), one above the floor we may answer.
    if ours >= round(calls * aht / 3600 + 1):
        assert ours == theirs["raw_positions"]


@pytest.mark.slow
@pytest.mark.parametrize("calls", [60, 270, 600])
def test_simulation_agrees_with_erlang_c_where_its_assumptions_hold(calls: int):
    # Poisson arrivals, exponential handling, callers who never leave, enough trunks.
    inputs = SizingInputs(calls_per_hour=(calls,), aht=180)
    formula = answer_interval(inputs, 0, calls)
    simulated = simulate_interval(inputs, calls, formula.erlang_c, replications=10, hours=4)
    assert simulated.agents == formula.erlang_c or (
        not simulated.confident and abs(simulated.agents - formula.erlang_c) == 1)


@pytest.mark.slow
def test_short_patience_makes_erlang_c_overstaff_and_the_simulation_follows_erlang_a():
    inputs = SizingInputs(calls_per_hour=(300,), aht=180, patience=30)
    formula = answer_interval(inputs, 0, 300)
    assert formula.erlang_a is not None and formula.erlang_a < formula.erlang_c - 1
    simulated = simulate_interval(inputs, 300, formula.erlang_a, replications=10, hours=4)
    assert abs(simulated.agents - formula.erlang_a) <= 1
    assert simulated.agents < formula.erlang_c


@pytest.mark.slow
def test_retrials_make_the_formulas_understaff():
    # Half the callers who give up call again: load the formulas never see.
    plain = SizingInputs(calls_per_hour=(400,), aht=180, patience=45, sl_target=0.9)
    retrying = plain.model_copy(update={"retrial": 0.9})
    formula = answer_interval(retrying, 0, 400)
    base = simulate_interval(plain, 400, formula.erlang_a or 1, replications=10, hours=4)
    more = simulate_interval(retrying, 400, formula.erlang_a or 1, replications=10, hours=4)
    below = base.candidate(base.agents - 1)
    retried = more.candidate(base.agents - 1)
    assert below is not None and retried is not None
    # The same agents see more calls when callers retry, and the answer needs no fewer.
    assert retried.offered > below.offered
    assert more.agents >= base.agents


def test_a_site_is_sized_from_its_traffic_and_queue():
    from appliance.config import resolve_site

    site = resolve_site("small")
    inputs = from_site(site)
    assert inputs.calls_per_hour == site.traffic.profile
    assert inputs.sl_threshold == site.queues[0].service_level.threshold
    code, out, err = run("small", "--no-simulate", "--json")
    assert code == 0, err
    assert len(json.loads(out)["intervals"]) == len(site.traffic.profile)


@pytest.mark.parametrize(("args", "message"), [
    (["--calls-per-hour", "100", "--sl", "eighty"], "--sl: expected a service level"),
    (["--calls-per-hour", "100,x"], "--calls-per-hour: expected a number"),
    (["--population", "1000"], "go together"),
    ([], "give a site, --calls-per-hour"),
    (["--calls-per-hour", "100", "--shrinkage", "1.5"], "--shrinkage"),
    (["--calls-per-hour", "100", "--start", "25:00"], "--start"),
])
def test_bad_input_is_named_and_nothing_runs(args, message):
    code, _, err = run(*args, "--no-simulate")
    assert code == 2
    assert message in err


def test_a_forecast_day_is_sized_from_a_call_history(tmp_path):
    from sim.forecast.history import HistorySpec, generate_history, write_history

    path = tmp_path / "history.csv"
    write_history(generate_history(HistorySpec(weeks=6), seed=3), path)
    code, out, err = run("--history", str(path), "--aht", "180", "--no-simulate", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["inputs"]["interval_minutes"] == 30
    rates = [entry["calls_per_hour"] for entry in document["intervals"]]
    assert len(rates) == 24 and max(rates) > 2 * min(rates)  # a day's shape, not a flat line


@pytest.mark.slow
def test_the_shift_plan_covers_the_answers_and_is_checked_by_simulation():
    rates = "40,120,200,240,200,160,200,240,160,80"  # 08:00-18:00
    code, out, err = run("--calls-per-hour", rates, "--aht", "180", "--patience", "90",
                         "--no-simulate", "--plan", "--replications", "4", "--json")
    assert code == 0, err
    document = json.loads(out)
    plan = document["plan"]
    needed = [entry["erlang_a"] for entry in document["intervals"]]
    assert plan["required"] == needed
    assert all(p >= r for p, r in zip(plan["planned"], plan["required"], strict=True))
    assert plan["paid_hours"] == 8 * plan["agents"]
    assert len(plan["check"]) == 10
    levels = [row["service_level"]["mean"] for row in plan["check"]]
    assert sum(level >= 0.7 for level in levels) >= 8  # a plan that covers, as simulated


def test_size_writes_the_customer_report_with_the_forecast_it_sized(tmp_path):
    from sim.forecast.history import HistorySpec, generate_history, write_history

    history = tmp_path / "history.csv"
    write_history(generate_history(HistorySpec(weeks=6), seed=5), history)
    code, _, err = run("--history", str(history), "--aht", "180", "--no-simulate",
                       "--report", str(tmp_path / "report"))
    assert code == 0, err
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["forecast"]["holdout"] and report["forecast"]["mape"] > 0
    for name in ("index.html", "report.pdf", "profile.png", "forecast.png"):
        assert (tmp_path / "report" / name).stat().st_size > 1000, name


@pytest.mark.slow
def test_trunks_are_searched_by_simulation_too_and_queued_calls_hold_them():
    from sim.sizing.simulate import simulate_trunks

    inputs = SizingInputs(calls_per_hour=(270,), aht=150)
    formula = answer_interval(inputs, 0, 270)
    found = simulate_trunks(inputs, 270, formula.erlang_c, formula.trunks, replications=10)
    shares = dict(found.candidates)
    assert shares[found.trunks].mean <= inputs.blocking_target < shares[found.trunks - 1].mean
    # Waits hold trunks longest when they are all busy: Erlang B's count blocks more.
    assert found.trunks >= formula.trunks


def test_a_day_shorter_than_a_full_shift_is_planned_with_four_hour_shifts():
    code, out, err = run("--calls-per-hour", "120,240,310,260", "--aht", "180", "--no-simulate",
                         "--plan", "--replications", "2", "--hours", "0.5", "--json")
    assert code == 0, err
    plan = json.loads(out)["plan"]
    assert {shift["template"] for shift in plan["shifts"]} == {"part-time"}
    assert all(low >= need for low, need in zip(plan["min_planned"], plan["required"],
                                                strict=True))


def test_a_day_no_shift_can_cover_still_prints_its_sizing_before_the_refusal():
    # One hour: neither an 8-hour nor a 4-hour shift fits inside it.
    code, out, err = run("--calls-per-hour", "240", "--aht", "180", "--no-simulate", "--plan")
    assert code == 2
    assert "Erlang C" in out  # the table computed before the planner gave up
    assert "no shift plan" in err
    code, out, err = run("--calls-per-hour", "240", "--aht", "180", "--no-simulate", "--plan",
                         "--json")
    assert code == 2
    document = json.loads(out)
    assert document["intervals"][0]["erlang_c"] > 0
    assert document["plan_error"].startswith("no shift plan")
