"""What `ccbox compare` sets side by side, from each variant's replications: the center's
service level, ASA, abandon rate and blocking, and what the ports of the varied trunk group
cost - lost rings, the answer delay caller ID adds, trunk occupancy and the line time lost
to hang-ups noticed late. Each figure is taken per replication, then pooled into a mean and
a Student-t half-width (`appliance.kpi.replications.summarize_values`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from appliance.kpi import KpiReport
from appliance.kpi.replications import Figures, FigureSummary, flatten, summarize_values


@dataclass(frozen=True)
class Run:
    """One replication's figures (`flatten`'s keys) and what they are measured against."""

    figures: Figures
    group: str
    """The trunk group the variants differ in."""
    channels: int
    seconds: float
    """The measured window's length."""

    def port(self, name: str) -> float | None:
        value = self.figures.get(f"ports.{self.group}.{name}")
        return None if value is None else float(value)


@dataclass(frozen=True)
class Figure:
    key: str
    """Its name in `--json` output."""
    label: str
    form: str
    """How a value prints: a format string, or "%" for a percentage."""
    value: Callable[[Run], float | None]

    def show(self, value: float) -> str:
        return f"{value:.1%}" if self.form == "%" else self.form.format(value)


def _center(name: str) -> Callable[[Run], float | None]:
    def value(run: Run) -> float | None:
        figure = run.figures.get(f"center.{name}")
        return None if figure is None else float(figure)
    return value


def _occupancy(run: Run) -> float | None:
    seized = run.port("seized_seconds")
    return None if seized is None else seized / (run.channels * run.seconds)


def _from_first_ring(run: Run) -> float | None:
    """What the caller hears: ASA counts from the offer, after the port's answer delay."""
    asa, delay = _center("asa")(run), run.port("answer_delay_mean")
    return None if asa is None else asa + (delay or 0.0)


def _late_minutes(run: Run) -> float | None:
    late = run.port("late_seconds")
    return None if late is None else late / 60.0


FIGURES = (
    Figure("offered", "offered calls", "{:.0f}", _center("offered")),
    Figure("answered", "answered calls", "{:.0f}", _center("answered")),
    Figure("service_level", "service level", "%", _center("service_level")),
    Figure("asa", "ASA, s", "{:.1f}", _center("asa")),
    Figure("answer_from_first_ring", "answer from first ring, s", "{:.1f}", _from_first_ring),
    Figure("abandon_rate", "abandon rate (in queue)", "%", _center("abandon_rate")),
    Figure("blocked_rate", "blocking (busy tone)", "%", _center("blocked_rate")),
    Figure("lost_rings", "lost rings (hung up ringing)", "{:.1f}",
           lambda run: run.port("lost_rings")),
    Figure("trunk_occupancy", "trunk occupancy", "%", _occupancy),
    Figure("answer_delay", "extra answer delay (caller ID), s", "{:.1f}",
           lambda run: run.port("answer_delay_mean")),
    Figure("late_minutes", "line min lost to late disconnect", "{:.1f}", _late_minutes),
)


def runs(reports: Sequence[KpiReport], group: str, channels: int, seconds: float) -> list[Run]:
    return [Run(flatten(report), group, channels, seconds) for report in reports]


def pooled(measured: Sequence[Run], figure: Figure, confidence: float = 0.95) -> FigureSummary:
    """`figure` over the replications where it is defined."""
    values = [figure.value(run) for run in measured]
    return summarize_values([v for v in values if v is not None], confidence)


def shown(summary: FigureSummary, figure: Figure) -> str:
    """"mean ± half-width", "-" where the figure is undefined."""
    if summary.mean is None:
        return "-"
    text = figure.show(summary.mean)
    return text if summary.half_width is None else f"{text} ± {figure.show(summary.half_width)}"
