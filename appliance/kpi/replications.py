"""Pooling the reports of independent simulation replications.

Every numeric figure gets a mean, a sample standard deviation and the half-width
of a Student-t confidence interval. Figures are named by stable flat keys:

* ``center.<figure>`` - a ``CallStats`` field of the center, e.g. ``center.service_level``
* ``queue.<queue>.<figure>`` - e.g. ``queue.service.asa``
* ``agents.<figure>`` - all agents together, e.g. ``agents.occupancy``;
  ``agents.not_ready_by_reason.<reason>``
* ``agent.<agent>.<figure>`` - one agent
* ``interval.<label>.<figure>`` - an interval's center call figures and
  ``agents_logged_in_avg``, ``occupancy``, e.g. ``interval.08:00-08:30.offered``
* only for a report with IVR figures: ``ivr.center.<figure>``, ``ivr.flow.<flow>.<figure>``,
  ``ivr.flow.<flow>.node.<node>.visits`` and ``.mean_time``, and
  ``ivr.interval.<label>.<figure>`` - ``IvrStats`` fields, e.g. ``ivr.center.completed``
* where the records hold them: ``supervisor.<name>.<figure>``, ``room.<room>.<figure>``,
  ``campaign.<campaign>.<figure>`` and ``campaign.<campaign>.outcome.<outcome>``, and
  ``resolution.<figure>`` (first-call resolution and repeat callers)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from appliance.kpi.features import FeatureReport
from appliance.kpi.report import AgentStats, CallStats, IvrReport, IvrStats, KpiReport
from appliance.kpi.settings import KpiSettings

Figures = dict[str, float | int | None]


@dataclass(frozen=True)
class FigureSummary:
    """One figure across replications, over the ``n`` replications where it is defined.

    ``mean`` is None when n is 0; ``stdev`` (sample, n - 1) and ``half_width``
    (t quantile x stdev / sqrt(n)) are None when n < 2.
    """

    n: int
    mean: float | None
    stdev: float | None
    half_width: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "stdev": self.stdev, "half_width": self.half_width}


@dataclass(frozen=True)
class ReplicationSummary:
    """Every figure of a set of replications, keyed as in ``flatten``."""

    replications: int
    confidence: float
    settings: KpiSettings
    queues: list[str]
    """Queue names, sorted, as they appear in the keys."""
    agents: list[str]
    """Agent ids, sorted, as they appear in the keys."""
    intervals: list[str]
    """Interval labels in time order."""
    figures: dict[str, FigureSummary]

    def __getitem__(self, key: str) -> FigureSummary:
        return self.figures[key]

    def to_dict(self) -> dict[str, Any]:
        return {
            "replications": self.replications,
            "confidence": self.confidence,
            "settings": self.settings.to_dict(),
            "queues": list(self.queues),
            "agents": list(self.agents),
            "intervals": list(self.intervals),
            "figures": {key: figure.to_dict() for key, figure in self.figures.items()},
        }


def flatten(report: KpiReport) -> Figures:
    """Every numeric figure of a report under its flat key (see the module docstring)."""
    out: Figures = {}
    _put(out, "center", report.center)
    for name, queue in report.queues.items():
        _put(out, f"queue.{name}", queue)
    _put(out, "agents", report.center_agents)
    for name, agent in report.agents.items():
        _put(out, f"agent.{name}", agent)
    for interval in report.intervals:
        prefix = f"interval.{interval.label}"
        _put(out, prefix, interval.calls)
        out[f"{prefix}.agents_logged_in_avg"] = interval.agents_logged_in_avg
        out[f"{prefix}.occupancy"] = interval.occupancy
    if report.ivr is not None:
        _put_ivr(out, report.ivr)
    for part, stats in () if report.surveys is None else (
            ("agent", report.surveys.agents), ("queue", report.surveys.queues)):
        for name, s in stats.items():
            out[f"survey.{part}.{name}.scored"] = s.scored
            out[f"survey.{part}.{name}.mean_score"] = s.mean_score
    for name, box in {} if report.voicemail is None else report.voicemail.mailboxes.items():
        out[f"voicemail.{name}.messages"] = box.messages
        out[f"voicemail.{name}.mean_seconds"] = box.mean_seconds
    if report.features is not None:
        _put_features(out, report.features)
    if report.resolution is not None:
        for f in fields(report.resolution):
            out[f"resolution.{f.name}"] = getattr(report.resolution, f.name)
    for group, stats in {} if report.ports is None else report.ports.groups.items():
        for key, value in stats.to_dict().items():
            out[f"ports.{group}.{key}"] = value
    return out


def _put_features(out: Figures, features: FeatureReport) -> None:
    """``supervisor.NAME.FIGURE``, ``room.NAME.FIGURE`` and ``campaign.NAME.FIGURE``
    (``campaign.NAME.outcome.OUTCOME`` for each final outcome's numbers)."""
    for part, by_name in (("supervisor", features.supervisors), ("room", features.rooms),
                          ("campaign", features.campaigns)):
        for name, stats in by_name.items():
            for key, value in asdict(stats).items():
                if isinstance(value, dict):
                    for outcome, numbers in value.items():
                        out[f"{part}.{name}.outcome.{outcome}"] = numbers
                else:
                    out[f"{part}.{name}.{key}"] = value


def _put_ivr(out: Figures, ivr: IvrReport) -> None:
    _put(out, "ivr.center", ivr.center)
    for name, flow in ivr.flows.items():
        _put(out, f"ivr.flow.{name}", flow)
    for interval in ivr.intervals:
        _put(out, f"ivr.interval.{interval.label}", interval.calls)


def _put(out: Figures, prefix: str, stats: CallStats | AgentStats | IvrStats) -> None:
    for f in fields(stats):
        value = getattr(stats, f.name)
        if f.name == "nodes":
            for node, figures in value.items():
                out[f"{prefix}.node.{node}.visits"] = figures.visits
                out[f"{prefix}.node.{node}.mean_time"] = figures.mean_time
        elif isinstance(value, dict):
            for reason, seconds in value.items():
                out[f"{prefix}.{f.name}.{reason}"] = seconds
        else:
            out[f"{prefix}.{f.name}"] = value


def summarize(reports: Sequence[KpiReport], confidence: float = 0.95) -> ReplicationSummary:
    """Mean, sample standard deviation and t-interval half-width of every figure.

    A figure that is None (undefined) in some replications is pooled over the
    others, and its ``n`` says how many. A not-ready reason missing from a
    replication counts as 0 s there. All reports must share their settings.
    """
    if not reports:
        raise ValueError("summarize needs at least one report")
    settings = reports[0].settings
    if any(report.settings != settings for report in reports[1:]):
        raise ValueError("replications computed with different KPI settings cannot be pooled")
    flat = [flatten(report) for report in reports]
    keys = list(dict.fromkeys(key for figures in flat for key in figures))
    figures = {}
    for key in keys:
        missing = 0.0 if ".not_ready_by_reason." in key else None
        values = [run.get(key, missing) for run in flat]
        figures[key] = summarize_values([v for v in values if v is not None], confidence)
    return ReplicationSummary(
        replications=len(reports),
        confidence=confidence,
        settings=settings,
        queues=sorted({name for report in reports for name in report.queues}),
        agents=sorted({name for report in reports for name in report.agents}),
        intervals=_interval_labels(reports),
        figures=figures,
    )


def summarize_values(values: Sequence[float], confidence: float = 0.95) -> FigureSummary:
    """Mean, sample standard deviation and Student-t half-width of ``values``."""
    n = len(values)
    if n == 0:
        return FigureSummary(0, None, None, None)
    # Shifted by the first value: identical values give exactly that value and 0.
    first = values[0]
    mean = first + math.fsum(v - first for v in values) / n
    if n == 1:
        return FigureSummary(1, mean, None, None)
    stdev = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    # Imported here: the box computes reports but never pools replications.
    from scipy import stats

    quantile = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    return FigureSummary(n, mean, stdev, quantile * stdev / math.sqrt(n))


def _interval_labels(reports: Sequence[KpiReport]) -> list[str]:
    # Runs may end a little apart: the longest one has every label, in order.
    starts: dict[str, float] = {}
    for report in reports:
        for interval in report.intervals:
            starts.setdefault(interval.label, interval.start)
    return sorted(starts, key=starts.__getitem__)
