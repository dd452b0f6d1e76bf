"""The KPI report of a box's own records: what ``ccbox report`` computes, free of any CLI.

The records database is read (``RecordReader``): its runs are laid on one clock
(``appliance.kpi.timeline``) from their first and last records, and the records of the runs
the report's window overlaps are read and reduced by ``compute_kpis``, the very code that
reports a simulation, so that "simulation predicted X, the box measured Y" compares like
with like.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from appliance.events import CallAbandoned, CallAnswered, CallOverflowed, CallQueued, Record
from appliance.kpi.compute import compute_kpis
from appliance.kpi.outside import OutsideSummary, outside_summary
from appliance.kpi.report import KpiReport
from appliance.kpi.settings import KpiSettings, QueueKpiSettings
from appliance.kpi.timeline import Timeline, fill, place
from appliance.records.store import RecordReader

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "": 60.0}
# Records that name the queue a call is in: a call belongs to every queue it visited.
_IN_QUEUE = (CallQueued, CallAnswered, CallAbandoned, CallOverflowed)


class ReportError(Exception):
    """What keeps the report from being made, in one line naming the file or option."""


@dataclass(frozen=True)
class BoxReport:
    """A report of the box's records and the period it covers."""

    kpis: KpiReport
    timeline: Timeline
    first: float
    last: float
    """The first and last moment the report covers, on the report's clock."""
    outside: OutsideSummary = field(default_factory=OutsideSummary)
    """The outside calls ended in the window (none counted for a report of one queue)."""

    @property
    def period(self) -> str:
        """The covered period as the box's clock reads it; the day once if it is one."""
        first, last = (self.timeline.describe(t) for t in (self.first, self.last))
        day = first.split(" ", 1)[0]
        if last.startswith(day + " ") and not first.startswith("t="):
            last = last.split(" ", 1)[1]
        return f"{first} to {last}"

    def header(self, records: Path) -> dict[str, object]:
        """Where the figures come from, for the JSON form."""
        timeline = self.timeline
        return {
            "records": str(records),
            "from": timeline.describe(self.first),
            "to": timeline.describe(self.last),
            "runs": [{"run": span.run, "from": timeline.describe(span.first),
                      "to": timeline.describe(span.last)} for span in timeline.runs],
        }


def read_timeline(path: Path, start: str | None = None, end: str | None = None) -> Timeline:
    """The runs of the database at ``path`` on one clock, with the records of those that
    overlap [start, end) (times as ``parse_moment`` reads them; open when None): a run ended
    before ``start`` or begun at or after ``end`` is never read, but keeps its place. The last
    run counts as going on (it may be: the box is running), its agents still logged in.
    ReportError if there is no record at all or a time cannot be read."""
    try:
        reader = RecordReader(path)
        placed = place(reader.bounds(), reader.clock_origins())
        if not placed.runs:
            raise ReportError(f"{path}: the database holds no records yet")
        window_start, window_end = report_window(placed, start, end)
        last = placed.runs[-1].run
        return fill(placed, reader.events, lambda span: span.first < window_end and (
            span.last >= window_start or span.run == last))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such records file") from None
    except (OSError, sqlite3.Error, ValueError, KeyError) as error:
        raise ReportError(f"{path}: not a readable records database ({error})") from None


def report_window(timeline: Timeline, start: str | None, end: str | None) -> tuple[float, float]:
    """[start, end) on the report's clock; end is infinite when None."""
    window_start = 0.0 if start is None else parse_moment(start, timeline, "--from")
    window_end = math.inf if end is None else parse_moment(end, timeline, "--to")
    if window_end <= window_start:
        raise ReportError(f"--to {end} is not after --from {start or 'the first record'}")
    return window_start, window_end


def box_report(timeline: Timeline, interval: str = "30m", start: str | None = None,
               end: str | None = None, queue: str | None = None,
               thresholds: Mapping[str, QueueKpiSettings] | None = None) -> BoxReport:
    """The KPI report over [start, end) (times as ``parse_moment`` reads them), in intervals
    of ``interval``, of every call or of the calls that visited ``queue``; ``thresholds``
    are the queues' own (``queue_thresholds`` of the site), else 20 s for every queue.
    ``timeline`` holds the records of at least the runs that overlap the window
    (``read_timeline``)."""
    window_start, window_end = report_window(timeline, start, end)
    settings = KpiSettings(interval=parse_interval(interval), window_start=window_start,
                           window_end=None if end is None else window_end,
                           clock_origin=timeline.clock_origin, queues=thresholds or {})
    records = timeline.records if queue is None else calls_of_queue(timeline, queue)
    kpis = compute_kpis(records, settings)
    if queue is not None:
        kpis = only_queue(kpis, queue)
    first = max(window_start, timeline.runs[0].first)
    last = min(window_end, timeline.runs[-1].last)
    outside = (OutsideSummary() if queue is not None
               else outside_summary(timeline.records, window_start, window_end))
    return BoxReport(kpis, timeline, first, max(first, last), outside)


def parse_interval(text: str) -> float:
    """ "30m", "1h", "900s" or "15" (minutes) as seconds."""
    match = _DURATION.match(text)
    seconds = 0.0 if match is None else float(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds <= 0:
        raise ReportError(f"--interval: expected a length such as 30m, 1h or 900s; got {text!r}")
    return seconds


def parse_moment(text: str, timeline: Timeline, option: str) -> float:
    """A moment on the report's clock from the box's wall clock: an ISO date and time
    ("2026-12-07T08:00"), or a time of day ("08:00") on the day of the first record;
    or a number of seconds on the records' own clock (for records without a wall clock)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return timeline.at(_wall_moment(text, timeline))
    except ValueError as error:
        raise ReportError(f"{option} {text}: {error}") from None


def _wall_moment(text: str, timeline: Timeline) -> datetime:
    if ":" in text and "-" not in text:  # a time of day
        day = timeline.wall(timeline.runs[0].first)
        if day is None:
            raise ValueError("the records carry no wall-clock time; give seconds instead")
        return datetime.combine(day.date(), datetime.strptime(text, "%H:%M").time())
    return datetime.fromisoformat(text)


def queues_in(records: list[Record]) -> list[str]:
    """Every queue the records name, sorted."""
    return sorted({r.queue for r in records if type(r) in _IN_QUEUE})  # type: ignore[union-attr]


def calls_of_queue(timeline: Timeline, queue: str) -> list[Record]:
    """The records of the calls that visited ``queue``, and every record of no call."""
    records = timeline.records
    if queue not in queues_in(records):
        raise ReportError(f"--queue {queue}: no such queue in the records "
                          f"(queues: {', '.join(queues_in(records)) or 'none'})")
    calls = {r.call for r in records if type(r) in _IN_QUEUE and r.queue == queue}  # type: ignore[union-attr]
    return [r for r in records if not getattr(r, "call", 0) or r.call in calls]  # type: ignore[union-attr]


def only_queue(report: KpiReport, queue: str) -> KpiReport:
    """The report with its queue figures cut down to ``queue``."""
    intervals = [replace(i, queues={queue: i.queues[queue]}) for i in report.intervals]
    return replace(report, queues={queue: report.queues[queue]}, intervals=intervals)
