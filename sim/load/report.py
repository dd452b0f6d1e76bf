"""What the box measured beside what the simulation predicted for the same compressed site,
length and seed: the headline figures of the center and of each queue, each with its
difference and whether it lies inside the simulation's interval, a likely cause where it
does not, and the host's figures of the run.

The interval is the one a single run falls in (a prediction interval): the simulation's mean
± t x sd x sqrt(1 + 1/n) over its n replications, which is the confidence interval of the
mean widened by sqrt(n + 1). A live run is one run, so judging it against the interval of
the mean would call most honest runs "outside" as replications grow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from rich.console import Console
from rich.table import Table

from appliance.kpi.render import RATES, format_value
from appliance.kpi.replications import FigureSummary, flatten
from appliance.kpi.report import KpiReport
from sim.load.calibrate import Calibration
from sim.load.predict import Prediction

INSIDE, OUTSIDE = "inside", "outside"

CENTER_ROWS = (
    ("center.offered", "Offered"),
    ("center.blocked_rate", "Blocked rate"),
    ("center.answer_rate", "Answer rate"),
    ("center.service_level", "Service level"),
    ("center.asa", "ASA"),
    ("center.abandon_rate", "Abandon rate"),
    ("center.avg_abandon_time", "Average abandon time"),
    ("center.att", "ATT"),
    ("agents.occupancy", "Occupancy"),
)
QUEUE_FIGURES = tuple((key.split(".")[1], name) for key, name in CENTER_ROWS
                      if key.startswith("center.") and key != "center.blocked_rate")
"""A queue's rows: the center's but the blocked rate (a blocked call never reaches a queue)
and occupancy (agents serve several queues)."""

IVR_ROWS = (
    ("ivr.center.entered", "Entered the IVR"),
    ("ivr.center.completed", "Completed in the IVR"),
    ("ivr.center.abandoned", "Abandoned in the IVR"),
    ("ivr.center.to_queue", "Sent on to a queue"),
    ("ivr.center.mean_time", "Mean time in the IVR"),
    ("ivr.center.answer_rate", "Answer rate (IVR or agent)"),
)
"""The IVR's rows, in scope "ivr", when the box's report or the simulation's has any."""

ANSWER_DELAY = ("answer delay: the live agents take calls later than the model's "
                "answer_delay (each ring's SIP round trips add to the wait)")
LATENCY = ("signalling latency: call set-up and clear-down over SIP take time the model "
           "does not have, and a speed-up makes it weigh K times more")
PROMPTS = ("prompt lengths: prompts and announcements play at their recorded length, which "
           "a speed-up does not shorten")
RING_TIME = ("ring time: live phones and gateways ring for real (cadence, caller-number "
             "delay) before a call is taken, unscaled by the speed-up")
WRAP_UP = ("wrap-up: agents' after-call work lasts longer live than the model's "
           "(ending it takes signalling too)")
LOAD = ("the load generator: callers came late or not at all (see the load side's "
        "event-loop lag)")

CAUSES = {
    ("offered", "higher"): LOAD, ("offered", "lower"): LOAD,
    ("blocked_rate", "higher"): RING_TIME, ("blocked_rate", "lower"): LOAD,
    ("answer_rate", "lower"): PROMPTS,
    ("completed", "lower"): PROMPTS, ("abandoned", "higher"): PROMPTS,
    ("mean_time", "higher"): PROMPTS, ("mean_time", "lower"): PROMPTS,
    ("service_level", "lower"): ANSWER_DELAY,
    ("asa", "higher"): ANSWER_DELAY,
    ("abandon_rate", "higher"): PROMPTS,
    ("avg_abandon_time", "higher"): PROMPTS, ("avg_abandon_time", "lower"): PROMPTS,
    ("att", "higher"): LATENCY, ("att", "lower"): LATENCY,
    ("occupancy", "higher"): LATENCY, ("occupancy", "lower"): RING_TIME,
}
"""(figure, how live compares) -> the likely cause of a live figure outside the interval."""

MEASURED_CAUSES = {"answer_delay": ANSWER_DELAY, "missed_rings": RING_TIME, "setup": LATENCY,
                   "announcements": PROMPTS, "wrap_up": WRAP_UP}
"""A timing the load measured (``sim.load.calibrate``) -> the cause it stands for."""
_WAITS = ("answer_delay", "missed_rings", "announcements", "setup")
EVIDENCE = {
    **{key: _WAITS for key in (("asa", "higher"), ("service_level", "lower"),
                               ("abandon_rate", "higher"), ("answer_rate", "lower"),
                               ("avg_abandon_time", "higher"))},
    ("blocked_rate", "higher"): ("answer_delay", "wrap_up", "setup"),
    ("att", "higher"): ("setup",),
    ("occupancy", "higher"): ("wrap_up", "answer_delay", "setup"),
}
"""(figure, how live compares) -> the measured timings that would explain it, likeliest
first: the first measured longer than the model assumes, beyond noise, is named."""


def measured_cause(figure: str, direction: str, calibration: Calibration) -> str | None:
    """The cause the run's own measurements point to, with the measurement; None when no
    timing that could explain it was measured longer than the model assumes."""
    for name in EVIDENCE.get((figure, direction), ()):
        timing = calibration.timings.get(name)
        if timing is not None and timing.significant and (timing.excess or 0) > 0:
            return f"{MEASURED_CAUSES[name]}; measured {timing.label.lower()}: " \
                   f"{timing.describe()}"
    return None


@dataclass(frozen=True)
class HostFigures:
    """The machine during the run, as the runner measured it; None where it could not."""

    cpu_percent_mean: float | None = None
    """The box's process, 100 for one core kept busy."""
    cpu_percent_max: float | None = None
    rss_bytes_max: int | None = None
    """Peak resident memory of the box's process."""
    loop_lag_mean: float | None = None
    """Seconds the load side's event loop ran late, on average and at worst."""
    loop_lag_max: float | None = None
    samples: int = 0


HOST_ROWS = (
    ("cpu_percent_mean", "Box CPU, mean", "{:.1f} %"),
    ("cpu_percent_max", "Box CPU, peak", "{:.1f} %"),
    ("rss_bytes_max", "Box memory (RSS), peak", "{:.1f} MiB"),
    ("loop_lag_mean", "Load event-loop lag, mean", "{:.1f} ms"),
    ("loop_lag_max", "Load event-loop lag, worst", "{:.1f} ms"),
)
_SHOWN_AS = {"rss_bytes_max": 1 / 2**20, "loop_lag_mean": 1000, "loop_lag_max": 1000}


def host_rows(host: HostFigures) -> list[tuple[str, str]]:
    """(label, value as shown) for each host figure; "-" where not measured."""
    rows = []
    for name, label, form in HOST_ROWS:
        value = getattr(host, name)
        scale = _SHOWN_AS.get(name, 1)
        rows.append((label, "-" if value is None else form.format(value * scale)))
    return rows


@dataclass(frozen=True)
class Row:
    """One figure: the box's value beside the simulation's."""

    scope: str
    """"center" or a queue's name."""
    key: str
    """The figure's flat key (``appliance.kpi.replications.flatten``), e.g. ``queue.a.asa``."""
    label: str
    live: float | None
    predicted: FigureSummary | None
    evidence: str | None = None
    """The cause the run's measured timings point to, which overrides the rule's."""

    @property
    def figure(self) -> str:
        return self.key.rsplit(".", 1)[1]

    @property
    def interval(self) -> tuple[float, float] | None:
        """Where one run falls (module docstring), cut to what the figure can be (no
        headline figure is negative, no rate above 1); None without two replications."""
        p = self.predicted
        if p is None or p.mean is None or p.half_width is None:
            return None
        spread = p.half_width * math.sqrt(p.n + 1)
        high = p.mean + spread
        return max(0.0, p.mean - spread), min(1.0, high) if self.figure in RATES else high

    @property
    def difference(self) -> float | None:
        """Live minus the predicted mean; None where either is undefined."""
        if self.live is None or self.predicted is None or self.predicted.mean is None:
            return None
        return self.live - self.predicted.mean

    @property
    def verdict(self) -> str | None:
        """``INSIDE`` or ``OUTSIDE`` the interval; None where the figure or interval is not
        defined."""
        interval = self.interval
        if self.live is None or interval is None:
            return None
        low, high = interval
        return INSIDE if low - 1e-9 <= self.live <= high + 1e-9 else OUTSIDE

    @property
    def cause(self) -> str | None:
        """The likely cause of a figure outside the interval, if a rule names one."""
        direction = self.direction
        if self.verdict != OUTSIDE or direction is None:
            return None
        return self.evidence or CAUSES.get((self.figure, direction))

    @property
    def direction(self) -> str | None:
        """"higher" or "lower": how live compares with the predicted mean."""
        difference = self.difference
        if difference is None:
            return None
        return "higher" if difference > 0 else "lower"

    def to_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "scope": self.scope, "key": self.key, "label": self.label, "live": self.live,
            "predicted": None if self.predicted is None else self.predicted.to_dict(),
            "low": None if interval is None else interval[0],
            "high": None if interval is None else interval[1],
            "difference": self.difference, "verdict": self.verdict, "cause": self.cause,
        }


@dataclass(frozen=True)
class Comparison:
    """The box's figures of a live run beside the simulation's prediction for it."""

    speedup: float
    prediction: Prediction
    rows: list[Row]
    """The center's rows, then each queue's, queues by name, then the IVR's (if any)."""
    host: HostFigures | None = None
    calibration: Calibration | None = None

    def scopes(self) -> list[str]:
        return list(dict.fromkeys(row.scope for row in self.rows))

    def outside(self) -> list[Row]:
        return [row for row in self.rows if row.verdict == OUTSIDE]

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form."""
        summary = self.prediction.summary
        return {
            "speedup": self.speedup, "minutes": self.prediction.minutes,
            "seed": self.prediction.seed, "replications": summary.replications,
            "confidence": summary.confidence, "rows": [row.to_dict() for row in self.rows],
            "host": None if self.host is None else asdict(self.host),
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
        }


def compare(live: KpiReport, prediction: Prediction, speedup: float,
            host: HostFigures | None = None,
            calibration: Calibration | None = None) -> Comparison:
    """The headline figures of ``live`` (the box's report of the run's window) beside
    ``prediction``, for the center, every queue either names and the IVR if either has
    its figures; a figure outside its interval names the cause ``calibration``'s timings
    point to, where one does."""
    values, figures = flatten(live), prediction.summary.figures

    def rows_of(scope: str, keys: Sequence[tuple[str, str]]) -> list[Row]:
        return [Row(scope, key, label, values.get(key), figures.get(key))
                for key, label in keys]

    rows = rows_of("center", CENTER_ROWS)
    for queue in sorted({*live.queues, *prediction.summary.queues}):
        rows += rows_of(queue, [(f"queue.{queue}.{figure}", label)
                                for figure, label in QUEUE_FIGURES])
    if IVR_ROWS[0][0] in values or IVR_ROWS[0][0] in figures:
        rows += rows_of("ivr", IVR_ROWS)
    if calibration is not None:
        rows = [_with_evidence(row, calibration) for row in rows]
    return Comparison(speedup, prediction, rows, host, calibration)


def _with_evidence(row: Row, calibration: Calibration) -> Row:
    direction = row.direction
    if row.verdict != OUTSIDE or direction is None:
        return row
    return replace(row, evidence=measured_cause(row.figure, direction, calibration))


COLUMNS = ("Figure", "Live", "Predicted", "Interval", "Difference", "Verdict")


def cells(row: Row) -> list[str]:
    """A row as shown, one cell per ``COLUMNS``."""
    kind = row.figure
    interval = row.interval
    mean = None if row.predicted is None else row.predicted.mean
    shown = "-" if interval is None else (
        f"{format_value(kind, interval[0])} to {format_value(kind, interval[1])}")
    return [row.label, format_value(kind, row.live), format_value(kind, mean), shown,
            format_value(kind, row.difference), row.verdict or "-"]


def title_of(comparison: Comparison) -> str:
    prediction = comparison.prediction
    return (f"Live load beside simulation: {prediction.minutes:g} min at "
            f"{comparison.speedup:g}x, seed {prediction.seed}, "
            f"{prediction.summary.replications} replications")


def render_comparison(comparison: Comparison, console: Console) -> None:
    """The comparison's tables, one for the center and one per queue, then the causes of
    the figures outside and the host figures."""
    for scope in comparison.scopes():
        console.print(_scope_table(comparison, scope))
    for row in comparison.outside():
        console.print(f"{row.scope} {row.label}: {row.cause or 'no rule names a cause'}",
                      highlight=False)
    if comparison.calibration is not None:
        console.print(_calibration_table(comparison.calibration))
    if comparison.host is not None:
        console.print(_host_table(comparison.host))


def _scope_table(comparison: Comparison, scope: str) -> Table:
    table = Table(title=f"{title_of(comparison)}: {scope}")
    for n, heading in enumerate(COLUMNS):
        table.add_column(heading, justify="left" if n == 0 else "right")
    for row in comparison.rows:
        if row.scope == scope:
            table.add_row(*cells(row), style="red" if row.verdict == OUTSIDE else None)
    return table


def _host_table(host: HostFigures) -> Table:
    table = Table(title="Host")
    table.add_column("Figure")
    table.add_column("Value", justify="right")
    for label, value in host_rows(host):
        table.add_row(label, value)
    return table


def _calibration_table(calibration: Calibration) -> Table:
    table = Table(title=f"Timings measured live (run seconds, at {calibration.speedup:g}x)")
    for heading in ("Timing", "Measured", "Configured", "Verdict"):
        table.add_column(heading, justify="left" if heading == "Timing" else "right")
    for timing in calibration.timings.values():
        measured, _, configured = timing.describe().partition(", configured ")
        table.add_row(timing.label, measured, configured,
                      "beyond noise" if timing.significant else "-")
    return table
