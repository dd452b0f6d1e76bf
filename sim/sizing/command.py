"""`ccbox size`: agents and trunks per interval, by the rule, the formulas and simulation."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from appliance.config import ConfigError, Site, resolve_site
from appliance.config.live import Recording
from appliance.config.schema import parse_time_of_day
from appliance.kpi.storage import RecordingStorage, describe_storage, recording_storage
from sim.sizing.explain import explain
from sim.sizing.formulas import FormulaAnswer, answer_all
from sim.sizing.inputs import RuleInputs, SizingInputs, from_site, parse_service_level
from sim.sizing.ivr import FIELDS as IVR_FIELDS
from sim.sizing.ivr import MIN_HOURS, ivr_document, ivr_note, measure_ivr, routes_into_flows
from sim.sizing.simulate import (
    SimulatedAnswer,
    SimulatedTrunks,
    simulate_interval,
    simulate_trunks,
)

HOLDOUT_DAYS = 14


def _fail(message: str) -> typer.Exit:
    typer.echo(f"ccbox size: {message}", err=True)
    return typer.Exit(2)


def _rates(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.replace(";", ",").split(","))
    except ValueError:
        raise _fail(f"--calls-per-hour: expected a number or numbers separated by commas "
                    f"(one per interval); got {text!r}") from None


def size_command(
    config: str = typer.Argument(None, help="A site file or built-in site to size from "
                                 "(else the numbers below)"),
    calls_per_hour: str = typer.Option(None, help="Calls per hour, or one per interval: "
                                       "120,180,240"),
    history: Path = typer.Option(None, help="A call history CSV (as `ccbox forecast` reads): "
                                 "size the forecast of --day"),
    day: str = typer.Option(None, help="With --history: the day to size, YYYY-MM-DD "
                            "(default: the first open day after the history)"),
    population: int = typer.Option(None, help="People served (the sources' rule)"),
    call_rate: float = typer.Option(None, help="Calls per person per day, e.g. 0.003"),
    busy_hour_share: float = typer.Option(None, help="Share of the day's calls in the busy "
                                          "hour, e.g. 0.18"),
    interval_minutes: int = typer.Option(None, help="Minutes per interval [60]"),
    start: str = typer.Option(None, help="Time of day of the first interval [08:00]"),
    aht: float = typer.Option(None, help="Average handle time in seconds [180]"),
    sl: str = typer.Option(None, help="Service level target, percent/seconds [80/20]"),
    patience: float = typer.Option(None, help="Mean seconds callers wait before hanging up "
                                   "(none: they never do)"),
    retrial: float = typer.Option(None, help="Share of abandoning callers who call again"),
    ivr_share: float = typer.Option(None, help="Share of calls served by the IVR alone"),
    ivr_seconds: float = typer.Option(None, help="Seconds such a call holds a trunk [60]"),
    ivr_queue_seconds: float = typer.Option(None, help="Seconds in the IVR of a call that "
                                            "goes on to agents: its trunk is held that much "
                                            "longer [0]"),
    shrinkage: float = typer.Option(None, help="Share of paid time off the phones [0]"),
    max_occupancy: float = typer.Option(None, help="The rule's occupancy cap [0.7]"),
    trunks: int = typer.Option(None, help="Trunks installed (report their blocking)"),
    blocking: float = typer.Option(None, help="Blocking target for sizing trunks [0.01]"),
    simulate: bool = typer.Option(True, help="Also search the agent count by simulation"),
    replications: int = typer.Option(10, min=2, help="Runs per agent count (more if the "
                                     "answer is not clear)"),
    hours: float = typer.Option(4.0, min=0.5, help="Simulated hours per run, after a "
                                "30-minute warm-up"),
    seed: int = typer.Option(1, help="Seed of the simulation (common to every agent count)"),
    workers: int = typer.Option(None, help="Processes for the simulation [CPU count]"),
    plan: bool = typer.Option(False, help="Also plan shifts for the day (8 h, breaks and "
                              "lunch) and simulate the plan interval by interval"),
    report: Path = typer.Option(None, help="Also write a customer report (HTML, PNG, PDF, "
                                "JSON) into this folder"),
    retention_days: int = typer.Option(90, min=1, help="Days recordings are kept"),
    split: bool = typer.Option(False, help="Recordings also kept one file per party"),
    as_json: bool = typer.Option(False, "--json", help="Print the answers as JSON"),
) -> None:
    """Agents and trunks per interval: the sources' rule, Erlang C and A, Erlang B, and a
    simulation of the appliance's own code; where they disagree, and why. A site whose routes
    send calls into IVR flows has the --ivr-* figures measured from a simulation of its own
    traffic, unless given."""
    inputs, forecast_data, ivr = _inputs(config, locals())
    console = Console(stderr=as_json)
    answers = answer_all(inputs)
    simulated: list[SimulatedAnswer | None] = [None] * len(answers)
    trunks: list[SimulatedTrunks | None] = [None] * len(answers)
    if simulate:
        from sim.cli import progress_bar

        busy = [i for i, a in enumerate(answers) if a.load > 0]
        with progress_bar(console) as progress:
            task = progress.add_task("simulating", total=len(busy))
            for done, index in enumerate(busy):
                formula = answers[index]
                runs = 0

                def ran(label: str = formula.interval) -> None:
                    nonlocal runs
                    runs += 1
                    progress.update(task, description=f"simulating {label}: {runs} runs")

                start_from = formula.erlang_a if formula.erlang_a is not None else formula.erlang_c
                simulated[index] = simulate_interval(
                    inputs, formula.calls_per_hour, start_from, replications=replications,
                    hours=hours, seed=seed, workers=workers, on_run=ran)
                trunks[index] = simulate_trunks(
                    inputs, formula.calls_per_hour, simulated[index].agents, formula.trunks,
                    replications=replications, hours=hours, seed=seed, workers=workers,
                    on_run=ran)
                progress.update(task, completed=done + 1)
    recording = Recording(retention_days=retention_days, split=split)
    document = sizing_document(inputs, answers, simulated, recording, trunks)
    if ivr is not None:
        ivr["note"] = ivr_note(ivr, inputs.model_dump())
        document["ivr"] = ivr
    plan_error = None
    if plan:
        from sim.sizing.schedule import ShiftPlanError

        try:
            document["plan"] = _plan(console, inputs, document, replications, seed, workers)
        except ShiftPlanError as error:
            # The sizing is still worth having: it is shown (or written) before the refusal.
            plan_error = f"no shift plan: {error}"
            document["plan_error"] = plan_error
    if report is not None:
        from sim.report import render_report  # matplotlib loads only when a report is asked for

        files = render_report(document, report, plan=document.get("plan"),
                              forecast=forecast_data)
        console.print(f"Report: {files.html}")
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    else:
        _print(console, inputs, document)
    if plan_error is not None:
        raise _fail(plan_error)


def _inputs(config: str | None, options: dict[str, Any]
            ) -> tuple[SizingInputs, dict[str, Any] | None, dict[str, Any] | None]:
    """The sizing question the options ask, the forecast it came from (if any) and the IVR
    figures measured from the site's flows (if it has any)."""
    fields: dict[str, Any] = {}
    forecast_data = None
    for name in ("interval_minutes", "aht", "patience", "retrial", "ivr_share", "ivr_seconds",
                 "ivr_queue_seconds", "shrinkage", "max_occupancy", "trunks"):
        if options[name] is not None:
            fields[name] = options[name]
    if options["blocking"] is not None:
        fields["blocking_target"] = options["blocking"]
    if options["start"] is not None:
        try:
            fields["day_start"] = parse_time_of_day(options["start"])
        except ValueError as error:
            raise _fail(f"--start: {error}") from None
    if options["sl"] is not None:
        try:
            fields["sl_target"], fields["sl_threshold"] = parse_service_level(options["sl"])
        except ValueError as error:
            raise _fail(f"--sl: {error}") from None
    rule_parts = [options[n] for n in ("population", "call_rate", "busy_hour_share")]
    try:
        if any(part is not None for part in rule_parts):
            if not all(part is not None for part in rule_parts):
                raise _fail("--population, --call-rate and --busy-hour-share go together")
            rule = RuleInputs(population=rule_parts[0], call_rate=rule_parts[1],
                              busy_hour_share=rule_parts[2])
            fields["rule"] = rule
            fields.setdefault("calls_per_hour", (rule.busy_hour_calls,))
        if options["calls_per_hour"] is not None:
            fields["calls_per_hour"] = _rates(options["calls_per_hour"])
        elif options["history"] is not None:
            traffic, forecast_data = _forecast_day(options["history"], options["day"])
            fields.update(traffic)
        if config is not None:
            try:
                site = resolve_site(config)
            except ConfigError as error:
                typer.echo(str(error), err=True)
                raise typer.Exit(2) from None
            ivr = _measure_ivr(site, fields, options["hours"], options["seed"])
            return from_site(site, **fields), forecast_data, ivr
        if "calls_per_hour" not in fields:
            raise _fail("give a site, --calls-per-hour, or --population, --call-rate and "
                        "--busy-hour-share")
        return SizingInputs.model_validate(fields), forecast_data, None
    except ValidationError as error:
        problems = "; ".join(f"--{'-'.join(str(p) for p in e['loc'][:1]).replace('_', '-')}: "
                             f"{e['msg']}" for e in error.errors())
        raise _fail(problems) from None
    except ValueError as error:
        raise _fail(str(error)) from None


def _measure_ivr(site: Site, fields: dict[str, Any], hours: float, seed: int
                 ) -> dict[str, Any] | None:
    """Where the site's routes send calls into flows, its IVR's figures measured from them
    fill the `fields` no option gave; what was measured and what given (None: no flows)."""
    if not routes_into_flows(site):
        return None
    figures = measure_ivr(site, max(hours, MIN_HOURS), seed)
    given = [name for name in IVR_FIELDS if name in fields]
    for name, attribute in IVR_FIELDS.items():
        fields.setdefault(name, getattr(figures, attribute))
    return ivr_document(figures, given)


def _plan(console: Console, inputs: SizingInputs, document: dict[str, Any], replications: int,
          seed: int, workers: int | None) -> dict[str, Any]:
    from sim.sizing.plancheck import check_plan, plan_day, plan_dict

    required = [_best(entry) for entry in document["intervals"]]
    shifts = plan_day(inputs, required)
    with console.status("simulating the shift plan"):
        checks = check_plan(inputs, shifts, replications, seed, workers)
    return plan_dict(inputs, shifts, checks)


def _best(entry: dict[str, Any]) -> int:
    """Agents on the phones the interval needs: simulated, else Erlang A, else Erlang C."""
    sim = entry["simulated"]
    if sim is not None:
        return int(sim["agents"])
    return int(entry["erlang_a"] if entry["erlang_a"] is not None else entry["erlang_c"])


def _forecast_day(path: Path, day: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The traffic of one forecast day (calls per hour per interval from opening time), and
    the forecast as the report shows it: recent history, the hold-out against its actual
    calls, and the forecast up to the day."""
    from datetime import date, timedelta

    from sim.forecast.history import HistoryError, read_history
    from sim.forecast.model import (
        ForecastError,
        evaluate,
        fit,
        forecast,
        holdout_predictions,
        profile_for_day,
    )

    try:
        past = read_history(path)
        wanted = date.fromisoformat(day) if day else None
        first = past.last_day + timedelta(days=1)
        last = max(first, wanted) if wanted else first + timedelta(days=7)
        result = forecast(fit(past), first, last)
        if wanted is None:
            wanted = next(d.day for d in result.days if d.expected > 0)
        profile = profile_for_day(result, wanted)
        _, test, predicted, _ = holdout_predictions(past, HOLDOUT_DAYS)
        scores = evaluate(past, HOLDOUT_DAYS)
    except (HistoryError, ForecastError) as error:
        raise _fail(str(error)) from None
    except ValueError as error:
        raise _fail(f"--day: expected a date like 2026-03-30 after the history; {error}") from None
    opens = result.opens
    recent = past.since(past.last_day - timedelta(days=4 * 7))
    shown = {
        "history": [{"start": s.isoformat(), "calls": int(c)}
                    for s, c in zip(recent.starts, recent.calls, strict=True)],
        "holdout": [{"start": s.isoformat(), "actual": int(a), "predicted": float(p)}
                    for s, a, p in zip(test.starts, test.calls, predicted, strict=True)],
        "forecast": [{"start": i.start.isoformat(), "calls": i.expected, "low": i.lower,
                      "high": i.upper} for i in result.intervals if i.start.date() <= wanted],
        "mape": scores.interval_mape, "naive_mape": scores.naive_interval_mape,
        "level": result.level,
    }
    traffic = {"calls_per_hour": tuple(profile), "interval_minutes": result.interval_minutes,
               "day_start": opens.hour * 3600.0 + opens.minute * 60.0}
    return traffic, shown


def sizing_document(inputs: SizingInputs, answers: list[FormulaAnswer],
                    simulated: list[SimulatedAnswer | None],
                    recording: Recording | None = None,
                    trunks: Sequence[SimulatedTrunks | None] | None = None) -> dict[str, Any]:
    """Everything `ccbox size` found, as JSON-ready data (the report reads the same)."""
    intervals = []
    storage = None if recording is None else _storage(inputs, answers, simulated, recording)
    trunks = trunks or [None] * len(answers)
    for formula, sim, lines in zip(answers, simulated, trunks, strict=True):
        entry: dict[str, Any] = asdict(formula)
        entry["simulated"] = None if sim is None else _simulated_dict(sim)
        entry["simulated_trunks"] = None if lines is None else {
            "trunks": lines.trunks, "replications": lines.replications,
            "seconds": round(lines.seconds, 3),
            "candidates": [{"trunks": count, "blocked": share.to_dict()}
                           for count, share in lines.candidates]}
        on_phones = {"rule": formula.rule, "erlang_c": formula.erlang_c,
                     "erlang_a": formula.erlang_a,
                     "simulated": None if sim is None else sim.agents}
        entry["scheduled"] = {name: None if count is None else
                              formula.scheduled(count, inputs.shrinkage)
                              for name, count in on_phones.items()}
        entry["notes"] = explain(inputs, formula, sim, lines)
        intervals.append(entry)
    # A question without IVR time before the queue reads as it did before that input was.
    skip = set() if inputs.ivr_queue_seconds else {"ivr_queue_seconds"}
    return {"inputs": inputs.model_dump(mode="json", exclude=skip), "intervals": intervals,
            "recordings": None if storage is None else storage.to_dict()}


def _storage(inputs: SizingInputs, answers: list[FormulaAnswer],
             simulated: list[SimulatedAnswer | None], recording: Recording
             ) -> RecordingStorage | None:
    """The disk the day's recordings need: simulated talk time where there is a simulation,
    else the answered calls (Erlang A's abandons taken out) times the AHT."""
    seconds = calls = 0.0
    hours = inputs.interval_seconds / 3600.0
    for formula, sim in zip(answers, simulated, strict=True):
        chosen = None if sim is None else sim.candidate(sim.agents)
        if chosen is not None:
            seconds += chosen.recorded_per_hour * hours
            calls += chosen.answered_per_hour * hours
        else:
            answered = inputs.agent_rate(formula.calls_per_hour) * inputs.interval_seconds * (
                1.0 - (formula.erlang_a_abandon or 0.0))
            seconds += answered * inputs.aht
            calls += answered
    day = len(answers) * inputs.interval_seconds
    return recording_storage(seconds, round(calls), day, day / 3600.0, recording)


def _simulated_dict(sim: SimulatedAnswer) -> dict[str, Any]:
    return {
        "agents": sim.agents, "replications": sim.replications, "hours": sim.hours,
        "seconds": round(sim.seconds, 3), "confident": sim.confident,
        "candidates": [
            {"agents": c.agents, "offered": c.offered,
             "service_level": c.service_level.to_dict(), "asa": c.asa.to_dict(),
             "abandoned": c.abandoned.to_dict()}
            for c in sim.candidates
        ],
    }


def _print(console: Console, inputs: SizingInputs, document: dict[str, Any]) -> None:
    table = Table(title=f"Agents on the phones for {inputs.sl_target:.0%} answered within "
                        f"{inputs.sl_threshold:g} s, AHT {inputs.aht:g} s"
                        + (f", patience {inputs.patience:g} s" if inputs.patience else ""))
    for heading in ("interval", "calls/h", "Erlangs", "rule", "Erlang C", "Erlang A",
                    "simulated", "scheduled", "trunks B / sim"):
        table.add_column(heading, justify="right")
    for entry in document["intervals"]:
        sim = entry["simulated"]
        if sim is None:
            simulated = "-"
        else:
            chosen = next(c for c in sim["candidates"] if c["agents"] == sim["agents"])
            level = chosen["service_level"]
            simulated = (f"{sim['agents']} ({level['mean']:.1%} ± {level['half_width'] or 0:.1%})"
                         + ("" if sim["confident"] else " ?"))
        best = entry["scheduled"]["simulated"] or entry["scheduled"]["erlang_a"] or entry[
            "scheduled"]["erlang_c"]
        trunks = str(entry["trunks"])
        if entry["simulated_trunks"] is not None:
            trunks += f" / {entry['simulated_trunks']['trunks']}"
        if entry["blocking"] is not None:
            trunks += f" ({inputs.trunks}: {entry['blocking']:.1%} blocked)"
        table.add_row(entry["interval"], f"{entry['calls_per_hour']:.0f}", f"{entry['load']:.2f}",
                      f"{entry['rule']} ({entry['rule_exact']:.2f})", str(entry["erlang_c"]),
                      "-" if entry["erlang_a"] is None else str(entry["erlang_a"]),
                      simulated, str(best), trunks)
    console.print(table)
    if document.get("ivr") is not None:
        console.print(document["ivr"]["note"])
    if inputs.shrinkage:
        console.print(f"Scheduled: the best answer / (1 - {inputs.shrinkage:.0%} shrinkage).")
    for entry in document["intervals"]:
        for note in entry["notes"]:
            console.print(f"[bold]{entry['interval']}[/bold] {note}")
    if document.get("plan") is not None:
        _print_plan(console, inputs, document["plan"])
    if document["recordings"] is not None:
        console.print(describe_storage(RecordingStorage(**document["recordings"])))


def _print_plan(console: Console, inputs: SizingInputs, plan: dict[str, Any]) -> None:
    shifts = Table(title=f"Shift plan: {plan['agents']} agents, {plan['paid_hours']:g} paid hours"
                   + (f" ({plan['paid_hours_with_shrinkage']:.0f} with "
                      f"{inputs.shrinkage:.0%} shrinkage)" if inputs.shrinkage else ""))
    for heading in ("agents", "shift", "breaks"):
        shifts.add_column(heading)
    for shift in plan["shifts"]:
        breaks = ", ".join(f"{b['start']} {b['minutes']:g} min {b['reason']}"
                           for b in shift["breaks"])
        shifts.add_row(str(shift["count"]), f"{shift['start']}-{shift['end']}", breaks)
    console.print(shifts)
    check = Table(title="The plan simulated: service level per interval (mean ± 95 %)")
    for heading in ("interval", "required", "planned", "service level", ""):
        check.add_column(heading, justify="right")
    for row in plan["check"]:
        level = row["service_level"]
        shown = "-" if level["mean"] is None else (
            f"{level['mean']:.1%} ± {level['half_width'] or 0:.1%}")
        check.add_row(row["interval"], str(row["required"]), str(row["planned"]), shown,
                      "ok" if row["meets"] else "[red]below target[/red]")
    console.print(check)
    short = [row["interval"] for row in plan["check"] if not row["meets"]]
    if short:
        console.print(f"Below the {inputs.sl_target:.0%} target in simulation: "
                      f"{', '.join(short)} (queues carried over from busier intervals, or "
                      "breaks taken where the plan is tight).")
