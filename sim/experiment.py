"""Simulation experiments: one run to a KPI report, and replications in parallel processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from appliance.config import Site
from appliance.eventlog import EventLog, write_jsonl
from appliance.kpi import KpiReport, KpiSettings, compute_kpis
from appliance.kpi.settings import queue_thresholds
from sim.sipnet import LinkQuality
from sim.world import RunSpec, World


@dataclass(frozen=True)
class Experiment:
    site: Site
    hours: float
    seed: int
    warmup: float = 0.0  # seconds from the start left out of the figures
    events_path: Path | None = None  # where to write each run's event log

    def spec(self, replication: int) -> RunSpec:
        return RunSpec(hours=self.hours, seed=self.seed, replication=replication)

    def events_file(self, replication: int, replications: int) -> Path | None:
        """PATH for a single run; PATH with ``.rN`` before the suffix for several."""
        if self.events_path is None:
            return None
        if replications == 1:
            return self.events_path
        path = self.events_path
        return path.with_name(f"{path.stem}.r{replication}{path.suffix}")


def kpi_settings(site: Site, window_start: float, window_end: float) -> KpiSettings:
    """The report settings a site's configuration implies."""
    traffic = site.traffic
    return KpiSettings(
        interval=(traffic.interval_minutes * 60.0) if traffic else 1800.0,
        window_start=window_start,
        window_end=window_end,
        clock_origin=float(traffic.start) if traffic else 0.0,
        queues=queue_thresholds(site),
    )


def run_once(
    experiment: Experiment,
    replication: int = 0,
    replications: int = 1,
    progress: Callable[[float], None] | None = None,
) -> KpiReport:
    world = World(experiment.site, experiment.spec(replication))
    log = world.run(progress)
    return _report(experiment, log, world.length, replication, replications)


def _report(experiment: Experiment, log: EventLog, length: float, replication: int,
            replications: int) -> KpiReport:
    """A run's figures, its event log written out first if the experiment asks for it."""
    events_file = experiment.events_file(replication, replications)
    if events_file is not None:
        with events_file.open("w", encoding="utf-8") as out:
            write_jsonl(log.records, out)
    return compute_kpis(log.records, kpi_settings(experiment.site, experiment.warmup, length))


def run_replications(
    experiment: Experiment,
    replications: int,
    workers: int | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[KpiReport]:
    """Run replications 0..n-1, in parallel processes; reports come back in order."""
    workers = workers or min(replications, os.cpu_count() or 1)
    if workers <= 1 or replications == 1:
        reports = []
        for r in range(replications):
            reports.append(run_once(experiment, r, replications))
            if on_done:
                on_done(r)
        return reports
    results: dict[int, KpiReport] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {
            pool.submit(run_once, experiment, r, replications): r for r in range(replications)
        }
        for future in as_completed(futures):
            r = futures[future]
            results[r] = future.result()
            if on_done:
                on_done(r)
    return [results[r] for r in range(replications)]


def offered_calls(reports: Sequence[KpiReport]) -> int:
    return sum(r.center.offered for r in reports)


def run_sip_once(experiment: Experiment, quality: LinkQuality, replication: int = 0,
                 replications: int = 1) -> KpiReport:
    """One run in SIP fidelity: the same figures from the same code, every leg a SIP dialog."""
    from sim.sipfidelity import SipRunSpec, SipWorld

    spec = experiment.spec(replication)
    world = SipWorld(experiment.site, SipRunSpec(spec.hours, spec.seed, quality, replication))
    log = world.run()
    return _report(experiment, log, world.length, replication, replications)
