"""`ccbox compare`: a site on several trunk hardware variants, seeded replications of each,
the figures side by side with 95 % intervals."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.table import Table

from appliance.config import Site
from sim.cli import _fail, progress_bar, site_with_traffic, working_day_hours
from sim.compare.figures import FIGURES, Run, pooled, runs, shown
from sim.compare.variants import DEFAULT_VARIANTS, Trunks, on_trunks, trunk_group_of
from sim.experiment import Experiment, run_replications


@dataclass(frozen=True)
class Variant:
    trunks: Trunks
    site: Site


def variants_of(site: Site, group: str, specs: Sequence[str]) -> list[Variant]:
    """The site on each of `specs` (see `Trunks.parse`); stops with the reason if one is
    not a valid variant."""
    variants = []
    for spec in specs:
        try:
            trunks = Trunks.parse(spec)
            variants.append(Variant(trunks, on_trunks(site, group, trunks)))
        except ValueError as error:
            _fail(f"--on {spec}: {error}")
    return variants


def compare_command(
    config: str = typer.Argument("small", help="Site file or built-in site to vary"),
    on: list[str] = typer.Option(
        list(DEFAULT_VARIANTS), "--on", help="Trunk hardware: a gateway profile, or N x one "
        "(fxo-4, 2xfxo-4, e1-30); repeat the option for each variant"),
    trunk_group: str | None = typer.Option(
        None, help="The trunk group to put on each variant [default: the call types' one]"),
    replications: int = typer.Option(10, min=2, help="Seeded replications of each variant"),
    hours: float | None = typer.Option(
        None, min=0.01, help="Simulated hours per replication [default: the site's day]"),
    seed: int = typer.Option(1, help="Seed (replication r has the same streams on every "
                             "variant: the same callers meet different trunks)"),
    workers: int | None = typer.Option(None, min=1, help="Processes for replications"),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON"),
) -> None:
    """The same site, agents and traffic on different trunks (by default one 4-port FXO
    card, two, and one E1 span): service level, ASA, abandon rate, blocking, lost rings,
    trunk occupancy, the answer delay caller ID adds and the line time lost to late
    disconnect, side by side."""
    site = site_with_traffic(config)
    try:
        group = trunk_group_of(site, trunk_group)
    except ValueError as error:
        _fail(f"--trunk-group: {error}")
    variants = variants_of(site, group, on)
    hours = working_day_hours(site) if hours is None else hours
    console = Console(stderr=as_json)
    measured = _simulate(console, variants, group, replications, hours, seed, workers)
    if as_json:
        typer.echo(json.dumps(_document(site, group, variants, measured, hours, seed),
                              indent=2))
        return
    console.print(_table(site, group, variants, measured, hours, replications, seed))


def _simulate(console: Console, variants: Sequence[Variant], group: str, replications: int,
              hours: float, seed: int, workers: int | None) -> list[list[Run]]:
    measured = []
    with progress_bar(console) as progress:
        task = progress.add_task(f"{len(variants)} x {replications} runs",
                                 total=len(variants) * replications)
        for variant in variants:
            reports = run_replications(Experiment(variant.site, hours, seed), replications,
                                       workers, on_done=lambda _r: progress.advance(task))
            measured.append(runs(reports, group, variant.trunks.channels, hours * 3600.0))
    return measured


def _table(site: Site, group: str, variants: Sequence[Variant], measured: list[list[Run]],
           hours: float, replications: int, seed: int) -> Table:
    table = Table(title=f"{site.site}, trunk group {group} on each variant: {replications} x "
                        f"{hours:g} h, seed {seed}, mean ± 95 % half-width")
    table.add_column("")
    for variant in variants:
        table.add_column(variant.trunks.label, justify="right")
    for figure in FIGURES:
        table.add_row(figure.label, *(shown(pooled(runs_, figure), figure)
                                      for runs_ in measured))
    return table


def _document(site: Site, group: str, variants: Sequence[Variant], measured: list[list[Run]],
              hours: float, seed: int) -> dict[str, object]:
    return {"site": site.site, "trunk_group": group, "hours": hours, "seed": seed,
            "variants": [{"trunks": variant.trunks.label, "channels": variant.trunks.channels,
                          "replications": len(runs_),
                          "figures": {f.key: pooled(runs_, f).to_dict() for f in FIGURES}}
                         for variant, runs_ in zip(variants, measured, strict=True)]}
