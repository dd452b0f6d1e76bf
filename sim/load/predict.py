"""The simulation's prediction for a live load: the same (compressed) site, length and seed in
call fidelity, over replications pooled into a mean and an interval for every figure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from appliance.config import Site
from appliance.kpi.replications import ReplicationSummary, summarize
from sim.experiment import Experiment, run_replications


@dataclass(frozen=True)
class Prediction:
    """What the simulator expects of a run of ``minutes`` from ``seed``: every figure's mean
    and confidence interval over ``summary.replications`` runs (keys as ``flatten`` names
    them, e.g. ``center.service_level``, ``queue.service.asa``)."""

    minutes: float
    seed: int
    summary: ReplicationSummary

    def to_dict(self) -> dict[str, Any]:
        return {"minutes": self.minutes, "seed": self.seed, **self.summary.to_dict()}


def predict(site: Site, minutes: float, seed: int, replications: int,
            workers: int | None = None, confidence: float = 0.95) -> Prediction:
    """Simulate ``site`` as it is (compress it first: ``sim.load.compress``) for ``minutes``
    from its traffic's start, replications 0..n-1 of ``seed`` in up to ``workers`` processes
    (default: one per core), figures over the whole run. The same arguments give the same
    prediction. Raises ValueError for fewer than one replication or a site without traffic."""
    if replications < 1:
        raise ValueError(f"expected at least one replication; got {replications}")
    if site.traffic is None:
        raise ValueError(f"site {site.site!r} has no traffic section to simulate")
    experiment = Experiment(site, hours=minutes / 60, seed=seed)
    reports = run_replications(experiment, replications, workers)
    return Prediction(minutes, seed, summarize(reports, confidence))
