"""A records database's runs laid end to end on one clock, for a report over them.

Each run of the appliance counts ``t`` from its own start, and call ids start again at 1.
The box's wall clock is recovered from the run's id, which the appliance makes from its
local time at start (``20261207T080003-4242``, see ``appliance.live.app``): to the second,
taken just before the SIP socket opens. A run whose id carries no time (a store made by a
test or a tool) follows the run before it. Call ids are renumbered so that calls of
different runs stay apart, and every agent a run left logged in is logged out at its last
record when another run follows: that box stopped, and nobody took calls on it until it
started again. The last run may still be going, so its agents are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import count

from appliance.events import AgentState, AgentStateChanged, Record

RUN_STARTED = "%Y%m%dT%H%M%S"


@dataclass(frozen=True)
class RunSpan:
    """One run of the appliance as placed on the report's clock."""

    run: str
    started: datetime | None
    """The box's local wall clock at the run's t = 0 (None when the run id has no time)."""
    offset: float
    """Seconds from the report's t = 0 to the run's t = 0."""
    first: float
    """The run's first and last record, on the report's clock."""
    last: float


@dataclass(frozen=True)
class Timeline:
    """Every record of the chosen runs, time-ordered on one clock, and where it came from:
    every run of the database, read or not."""

    records: list[Record]
    runs: list[RunSpan]
    origin: datetime | None
    """The box's wall clock at the report's t = 0 (None when no run id carries a time)."""

    def wall(self, t: float) -> datetime | None:
        """The box's wall clock at report time ``t``."""
        return None if self.origin is None else self.origin + timedelta(seconds=t)

    def at(self, when: datetime) -> float:
        """Report time of a wall-clock moment (ValueError without a wall clock)."""
        if self.origin is None:
            raise ValueError("the records carry no wall-clock time; give seconds instead")
        return (when - self.origin).total_seconds()

    def describe(self, t: float) -> str:
        """``t`` as the box's clock reads it, or as seconds on the records' clock."""
        wall = self.wall(t)
        return f"t={t:g} s" if wall is None else wall.isoformat(sep=" ", timespec="seconds")

    @property
    def clock_origin(self) -> float:
        """Seconds after midnight at t = 0, so that intervals fall on the clock's hours."""
        origin = self.origin
        if origin is None:
            return 0.0
        return (origin.hour * 3600.0 + origin.minute * 60.0 + origin.second
                + origin.microsecond / 1e6)


def run_started(run: str) -> datetime | None:
    """The local time a run id was made at, to the second; None for an id without one."""
    try:
        return datetime.strptime(run.split("-", 1)[0], RUN_STARTED)
    except ValueError:
        return None


def _started(run: str, origins: Mapping[str, float]) -> datetime | None:
    origin = origins.get(run)
    return run_started(run) if origin is None else datetime.fromtimestamp(origin)


def lay_out(runs: Iterable[tuple[str, list[Record]]],
            origins: Mapping[str, float] | None = None) -> Timeline:
    """Place each run's records after the ones before it, on one clock. `origins` holds the
    wall-clock time (Unix seconds) of a run's t = 0 where the box recorded it; other runs
    are placed by the time in their run id."""
    kept = {run: events for run, events in runs if events}
    placed = place([(run, events[0].t, events[-1].t) for run, events in kept.items()], origins)
    return fill(placed, kept.__getitem__)


def place(bounds: Iterable[tuple[str, float, float]],
          origins: Mapping[str, float] | None = None) -> Timeline:
    """The runs placed as `lay_out` places them, from each one's (run, first t, last t) alone:
    a timeline without records, for choosing the runs a report needs (`fill`)."""
    spans: list[RunSpan] = []
    origin: datetime | None = None
    for run, first, last in bounds:
        started = _started(run, origins or {})
        if origin is None and started is not None:
            # Untimed runs before the first timed one keep their place before it.
            origin = started - timedelta(seconds=_end(spans))
        offset = _offset(spans, started, origin)
        spans.append(RunSpan(run, started, offset, offset + first, offset + last))
    return Timeline([], spans, origin)


def fill(placed: Timeline, events_of: Callable[[str], list[Record]],
         wanted: Callable[[RunSpan], bool] = lambda span: True) -> Timeline:
    """`placed` with the records of its `wanted` runs (read with `events_of(run)`) on its
    clock; every run keeps its span. A run read as it grows (the box's last run, still being
    written) has its span end at the last record read."""
    records: list[Record] = []
    spans = list(placed.runs)
    calls = count(1)
    for index, span in enumerate(spans):
        events = events_of(span.run) if wanted(span) else []
        if not events:
            continue
        begin = len(records)
        span = spans[index] = replace(span, last=span.offset + events[-1].t)
        records.extend(_moved(events, span.offset, calls))
        if index + 1 < len(spans):  # a run followed this one: nobody stayed logged in
            records.extend(_logged_out(records[begin:], span))
    return Timeline(records, spans, placed.origin)


def _end(spans: list[RunSpan]) -> float:
    return spans[-1].last if spans else 0.0


def _offset(spans: list[RunSpan], started: datetime | None, origin: datetime | None) -> float:
    """Where a run's t = 0 falls: its start on the wall clock, never before the run
    before it ended (a clock set back must not put records out of order)."""
    after = _end(spans)
    if started is None or origin is None:
        return after
    return max(after, (started - origin).total_seconds())


def _moved(events: list[Record], offset: float, calls: Iterator[int]) -> list[Record]:
    """The run's records on the report's clock, with fresh call ids."""
    ids: dict[int, int] = {}
    moved: list[Record] = []
    for record in events:
        fields = {"t": record.t + offset}
        call = getattr(record, "call", 0)
        if call:
            fields["call"] = ids[call] if call in ids else ids.setdefault(call, next(calls))
        moved.append(record._replace(**fields))
    return moved


def _logged_out(records: list[Record], span: RunSpan) -> list[AgentStateChanged]:
    """Logouts, at the run's last record, of the agents it left logged in."""
    states: dict[str, AgentState] = {}
    for record in reversed(records):
        if record.t < span.first:
            break
        if type(record) is AgentStateChanged:
            states.setdefault(record.agent, record.state)
    return [AgentStateChanged(span.last, agent, AgentState.LOGGED_OUT, "", 0)
            for agent, state in sorted(states.items()) if state is not AgentState.LOGGED_OUT]
