"""``ccbox load SITE``: the site's traffic model, compressed, driving a local appliance in
real time, and its KPIs beside the simulation's prediction."""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from appliance.config import ConfigError, builtin_site_path
from sim.load.calibrate import write_calibrated
from sim.load.media import GAP, MediaSeen
from sim.load.report import render_comparison
from sim.load.run import BoxDied, LoadOptions, LoadOutcome, run_load

GAPS_PRINTED = 5  # gaps listed under the RTP line (`--json` has up to `media.GAPS_KEPT`)


def load_command(
    config: str = typer.Argument(..., help="Site configuration file, or a built-in site name"),
    minutes: float = typer.Option(2.0, min=0.1, help="Minutes of load, on the wall clock"),
    speedup: float = typer.Option(10.0, min=1.0, help="Handle times and the interval profile "
                                  "compressed together by this factor"),
    seed: int = typer.Option(1, help="Seed of the callers and agents (and of the prediction)"),
    replications: int = typer.Option(10, min=2, help="Simulation replications for the "
                                     "prediction's interval"),
    folder: Path = typer.Option(None, "--keep", metavar="DIR", help="Keep the lab site, the "
                                "box's records and log in DIR [default: a temporary folder]"),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON"),
    html: Path = typer.Option(None, "--html", metavar="FILE",
                              help="Also write the comparison as an HTML page"),
    calibrate: Path = typer.Option(None, "--calibrate", metavar="FILE", help="Write the site "
                                   "file to FILE with its agent_behaviour section calibrated "
                                   "from the timings measured live (FILE may be the site "
                                   "file itself)"),
) -> None:
    """Load-test a site before it goes live: start the appliance locally on the site (its
    lab form: a gateway per trunk group and a phone per agent on 127.0.0.1), drive it for
    MINUTES with the site's own callers and agents - the simulator's models, in real time,
    over UDP - and print the box's KPIs, computed from its records, beside the simulation's
    prediction for the same compressed site, length and seed, with whether each lies inside
    the simulation's interval, and the timings the simulator assumes as measured live.
    Exits 2 on a bad site (or a calibrated one that does not validate), 3 if the appliance
    dies mid-run."""
    from sim.cli import site_with_traffic

    site = site_with_traffic(config)
    options = LoadOptions(minutes, speedup, seed, replications)
    console = Console(stderr=as_json)
    with tempfile.TemporaryDirectory(prefix="ccbox-load-") as scratch:
        outcome = _run(site, options, folder or Path(scratch), console)
    _print(outcome, console, as_json, html)
    if calibrate is not None:
        _calibrate(config, site, outcome, calibrate, console)


def _run(site, options: LoadOptions, folder: Path, console: Console) -> LoadOutcome:
    folder.mkdir(parents=True, exist_ok=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(f"{site.site}: {options.minutes:g} min at "
                                     f"{options.speedup:g}x", total=1.0)
            return run_load(site, options, folder,
                            lambda done: progress.update(task, completed=done))
    except BoxDied as died:
        typer.echo(f"ccbox load: {died}", err=True)
        raise typer.Exit(3) from None
    except ValueError as error:  # a site the load cannot drive (gateway ports, ...)
        typer.echo(f"ccbox load: {error}", err=True)
        raise typer.Exit(2) from None


def _print(outcome: LoadOutcome, console: Console, as_json: bool, html: Path | None) -> None:
    seen = outcome.seen
    if as_json:
        print(json.dumps({**outcome.comparison.to_dict(), "load": _seen(outcome)}, indent=2))
    else:
        render_comparison(outcome.comparison, console)
        console.print(f"calls placed {seen.calls_placed}, failures "
                      f"{dict(seen.failures) or 'none'}, registrations refused "
                      f"{dict(seen.registration_failures) or 'none'}, all calls ended: "
                      f"{'yes' if seen.drained else 'no'}", highlight=False)
        _print_media(seen.media, console)
    if html is not None:
        from sim.load.html import write_comparison_html

        write_comparison_html(outcome.comparison, html)


def _print_media(media: MediaSeen, console: Console) -> None:
    console.print(f"RTP: {media.streams} streams, {media.sent} packets sent ({media.late} "
                  f"late, {media.skipped} skipped), {media.received} received; "
                  f"{media.silent} streams received none, {media.gapped} had a gap over "
                  f"{GAP:g} s (longest {media.longest_gap:.2f} s): media flowed all along: "
                  f"{'yes' if media.flowed else 'no'}", highlight=False)
    for gap in media.gaps[:GAPS_PRINTED]:
        console.print(f"  {gap.stream}: nothing back from {gap.at:.2f} s for "
                      f"{gap.seconds:.2f} s", highlight=False)


def _calibrate(config: str, site, outcome: LoadOutcome, target: Path,
               console: Console) -> None:
    """Write the calibrated site file; exit 2 if it does not validate where written."""
    assert outcome.calibration is not None
    source = Path(config) if Path(config).is_file() else builtin_site_path(config)
    try:
        write_calibrated(source, site, outcome.calibration, target)
    except ConfigError as error:
        typer.echo(f"ccbox load --calibrate: {target} was written but does not validate: "
                   f"{error}", err=True)
        raise typer.Exit(2) from None
    console.print(f"calibrated agent_behaviour written to {target}", highlight=False,
                  soft_wrap=True)


def _seen(outcome: LoadOutcome) -> dict[str, object]:
    seen = outcome.seen
    return {"calls_placed": seen.calls_placed, "failures": dict(seen.failures),
            "registration_failures": {str(k): v for k, v in
                                      seen.registration_failures.items()},
            "send_errors": dict(seen.send_errors), "drained": seen.drained,
            "rtp": {**asdict(seen.media), "flowed": seen.media.flowed},
            "box_status": outcome.box_status}
