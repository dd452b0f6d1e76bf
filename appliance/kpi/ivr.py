"""The IVR's figures: each call's way through the IVR (``appliance.ivrpath``) added up.

``IvrKpis`` is told every closed call that entered the IVR and adds its path into an
``IvrTally`` per interval and per (interval, flow); the report is built from the sums.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from appliance.events import IvrExitKind
from appliance.kpi.calls import CallTally, ratio
from appliance.kpi.report import IvrIntervalStats, IvrReport, IvrStats, NodeStats, build
from appliance.reduce import CallState, Outcome

_COUNTS = ("entered", "completed", "hung_up", "abandoned", "to_queue", "other_exits",
           "to_flow", "in_ivr", "answered")
_EXITS = {
    IvrExitKind.COMPLETED: "completed",
    IvrExitKind.HANG_UP: "hung_up",
    IvrExitKind.ABANDONED: "abandoned",
    IvrExitKind.QUEUE: "to_queue",
    IvrExitKind.VOICEMAIL: "other_exits",
    IvrExitKind.AGENT: "other_exits",
}
# How a call left when the records skipped its IvrExited: its end says it.
_ENDS = {
    Outcome.IVR_COMPLETED: "completed",
    Outcome.IVR_HANG_UP: "hung_up",
    Outcome.IVR_ABANDONED: "abandoned",
}


class IvrTally:
    """Counts and sums for one group of IVR calls; ``nodes``: name -> [visits, seconds]."""

    __slots__ = (*_COUNTS, "nodes", "seconds")

    def __init__(self) -> None:
        for name in _COUNTS:
            setattr(self, name, 0)
        self.seconds = 0.0
        self.nodes: dict[str, list[float]] = {}

    def add(self, other: IvrTally) -> None:
        for name in (*_COUNTS, "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for node, (visits, seconds) in other.nodes.items():
            self.add_node(node, visits, seconds)

    def add_node(self, node: str, visits: float, seconds: float) -> None:
        sums = self.nodes.setdefault(node, [0, 0.0])
        sums[0] += visits
        sums[1] += seconds

    @classmethod
    def total(cls, tallies: Iterable[IvrTally]) -> IvrTally:
        out = cls()
        for tally in tallies:
            out.add(tally)
        return out

    def stats(self, offered: int, answered: int) -> IvrStats:
        """The figures, with ``(completed + answered) / offered`` as the answer rate."""
        figures = {name: getattr(self, name) for name in _COUNTS}
        nodes = {name: NodeStats(int(visits), ratio(seconds, visits))
                 for name, (visits, seconds) in sorted(self.nodes.items())}
        figures.update(mean_time=ratio(self.seconds, self.entered),
                       answer_rate=ratio(self.completed + answered, offered), nodes=nodes)
        return build(IvrStats, figures)

    def flow_stats(self) -> IvrStats:
        """A flow's figures: its answer rate is of the calls that entered it."""
        return self.stats(self.entered, self.answered)


def exit_of(call: CallState) -> str:
    """The ``IvrStats`` count the call's way out of the IVR goes in."""
    path = call.ivr
    assert path is not None
    if path.exit is not None:
        return _EXITS[path.exit]
    if call.queued_at is not None:
        return "to_queue"
    return _ENDS.get(call.outcome, "in_ivr")


class IvrKpis:
    """IVR tallies per interval (``center``) and per (interval, flow) (``by_flow``)."""

    def __init__(self) -> None:
        self.center: dict[int, IvrTally] = {}
        self.by_flow: dict[tuple[int, str], IvrTally] = {}

    def add(self, k: int, call: CallState) -> None:
        """Count ``call`` (closed, its ``ivr`` set) in interval ``k``."""
        path = call.ivr
        assert path is not None
        answered = call.outcome is Outcome.ANSWERED
        way_out = exit_of(call)
        center = _tally(self.center, k)
        _count(center, way_out, answered)
        center.seconds += path.seconds
        last = path.last_flow
        for flow in dict.fromkeys(path.flows):
            _count(_tally(self.by_flow, (k, flow)), way_out if flow == last else "to_flow",
                   answered)
        for step in path.steps:
            seconds = step.seconds or 0.0
            tally = self.by_flow[(k, step.flow)]
            tally.seconds += seconds
            tally.add_node(step.node, 1, seconds)

    def report(self, intervals: Sequence[tuple[int, str]], calls: dict[int, CallTally]
               ) -> IvrReport | None:
        """The figures over ``intervals`` ((index, label) in order), with each interval's
        call figures ``calls``; None when no call entered the IVR."""
        if not self.center:
            return None
        flows = sorted({flow for _, flow in self.by_flow})
        empty = CallTally()
        out = []
        for k, label in intervals:
            tally = self.center.get(k) or IvrTally()
            own = calls.get(k) or empty
            out.append(IvrIntervalStats(label, tally.stats(own.offered, own.answered), {
                flow: (self.by_flow.get((k, flow)) or IvrTally()).flow_stats()
                for flow in flows}))
        total = CallTally.total(calls.values())
        by_name: dict[str, list[IvrTally]] = {flow: [] for flow in flows}
        for (_, flow), tally in self.by_flow.items():
            by_name[flow].append(tally)
        return IvrReport(
            center=IvrTally.total(self.center.values()).stats(total.offered, total.answered),
            flows={flow: IvrTally.total(by_name[flow]).flow_stats() for flow in flows},
            intervals=out,
        )


def _tally(tallies: dict, key: object) -> IvrTally:
    tally = tallies.get(key)
    if tally is None:
        tally = tallies[key] = IvrTally()
    return tally


def _count(tally: IvrTally, way_out: str, answered: bool) -> None:
    tally.entered += 1
    setattr(tally, way_out, getattr(tally, way_out) + 1)
    if answered:
        tally.answered += 1
