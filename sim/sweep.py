"""Sweeps: many sites, traffic scenarios and replications, run on Dask.

A sweep is a grid of runs (site x load scale x replication), each a simulation in call
fidelity from the same seed scheme as `ccbox sim` (the replication number picks the streams),
so a run gives the same figures wherever it executes: in this process, in a local Dask
cluster started for the sweep (the default: nothing to set up), or on the workers of an
existing scheduler given by address. Results are summarised per (site, scale) with 95 %
intervals, like `ccbox sim --replications`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from appliance.config import Site
from appliance.kpi import KpiReport
from appliance.kpi.replications import summarize
from sim.experiment import Experiment, run_once

SUMMARY_FIGURES = ("offered", "service_level", "asa", "abandon_rate", "blocked_rate")

LOCAL = "local"
"""The scheduler address that means: start a local cluster for this sweep."""


@dataclass(frozen=True)
class SweepRun:
    """One simulation of the grid."""

    site: Site
    scale: float  # calls per hour multiplied by this
    replication: int
    hours: float
    seed: int

    @property
    def key(self) -> tuple[str, float, int]:
        return (self.site.site, self.scale, self.replication)


@dataclass(frozen=True)
class SweepResult:
    site: str
    scale: float
    reports: tuple[KpiReport, ...]

    def summary(self, names: Sequence[str] = SUMMARY_FIGURES) -> dict[str, Any]:
        """Center figures, mean and 95 % half-width across the replications."""
        figures = summarize(self.reports).figures
        return {name: figures[f"center.{name}"].to_dict() for name in names}


def grid(sites: Sequence[Site], scales: Sequence[float], replications: int, hours: float,
         seed: int) -> list[SweepRun]:
    return [SweepRun(site, scale, replication, hours, seed)
            for site in sites for scale in scales for replication in range(replications)]


def scaled(site: Site, scale: float) -> Site:
    """`site` with every interval's offered calls multiplied by `scale`."""
    if scale == 1.0:
        return site
    traffic = site.traffic
    assert traffic is not None
    rates = traffic.calls_per_hour
    new_rates = [r * scale for r in rates] if isinstance(rates, list) else rates * scale
    data = site.model_dump(mode="json")
    data["traffic"]["calls_per_hour"] = new_rates
    return type(site).model_validate(data)


def run_one(run: SweepRun) -> KpiReport:
    """One run of the grid: a plain function of its argument, so that it ships to workers."""
    return run_once(Experiment(scaled(run.site, run.scale), run.hours, run.seed), run.replication)


def run_locally(runs: Sequence[SweepRun],
                on_done: Callable[[int], None] | None = None) -> list[SweepResult]:
    """The single-process path: every run here, one after another."""
    reports = []
    for done, run in enumerate(runs, start=1):
        reports.append(run_one(run))
        if on_done:
            on_done(done)
    return _grouped(runs, reports)


def run_on_dask(runs: Sequence[SweepRun], scheduler: str = LOCAL, workers: int | None = None,
                on_done: Callable[[int], None] | None = None) -> list[SweepResult]:
    """Every run on Dask: a local cluster started for the sweep, or `scheduler`'s workers."""
    from distributed import as_completed

    with _client(scheduler, workers) as client:
        futures = client.map(run_one, list(runs), pure=False)
        index = {future.key: position for position, future in enumerate(futures)}
        reports: list[KpiReport | None] = [None] * len(futures)
        for done, future in enumerate(as_completed(futures), start=1):
            reports[index[future.key]] = future.result()
            if on_done:
                on_done(done)
    return _grouped(runs, [report for report in reports if report is not None])


@contextmanager
def _client(scheduler: str, workers: int | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if scheduler != LOCAL:
        with Client(scheduler, timeout="10s") as client:
            yield client
        return
    # Processes, one thread each: a simulation is pure Python and holds the GIL. The
    # cluster's own chatter stays quiet (a worker's heartbeat racing the scheduler's close
    # would print a traceback at the end of a sweep that went well); a run that fails still
    # raises here, through its future.
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        yield client


def _grouped(runs: Sequence[SweepRun], reports: Sequence[KpiReport]) -> list[SweepResult]:
    groups: dict[tuple[str, float], list[KpiReport]] = {}
    for run, report in sorted(zip(runs, reports, strict=True), key=lambda pair: pair[0].key):
        groups.setdefault((run.site.site, run.scale), []).append(report)
    return [SweepResult(site, scale, tuple(reports)) for (site, scale), reports in groups.items()]
