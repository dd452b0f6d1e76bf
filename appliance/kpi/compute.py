"""KPIs from the event log: the per-call reduction's facts added up, no clock, no simulation.

``appliance.reduce`` decides each call's visits, wait, talk, hold, wrap-up and outcome;
this pass adds every fact into a ``CallTally`` per (interval, queue) and per interval as
soon as it is known, and agent time into an ``AgentTally`` per agent and per interval. A
call is dropped when it ends, so the live appliance can feed it the day's log as well as a
simulation can feed it a run's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from appliance.events import AgentState, CallPickedUp, Record, SurveyScored, VoicemailLeft
from appliance.kpi.agents import AgentTally
from appliance.kpi.calls import CallTally, ratio
from appliance.kpi.features import FeatureTally
from appliance.kpi.grid import Grid
from appliance.kpi.ivr import IvrKpis
from appliance.kpi.ports import PortTally
from appliance.kpi.report import CallStats, IntervalStats, KpiReport, build
from appliance.kpi.resolution import ResolutionTally
from appliance.kpi.settings import KpiSettings
from appliance.kpi.survey import SurveyTally
from appliance.kpi.voicemail import VoicemailTally
from appliance.reduce import (
    AgentStatus,
    CallState,
    EventReducer,
    Handling,
    Outcome,
    ReductionListener,
    TransferKind,
    Visit,
    VisitEnd,
)

NOT_READY = AgentState.NOT_READY
ANSWERED = VisitEnd.ANSWERED
OVERFLOWED = VisitEnd.OVERFLOWED
ABANDONED = VisitEnd.ABANDONED
CALLBACK_GIVEN_UP = VisitEnd.CALLBACK_GIVEN_UP


def compute_kpis(records: Iterable[Record], settings: KpiSettings) -> KpiReport:
    """Every figure of ``KpiReport`` from time-ordered records.

    Record types the KPIs do not use (announcements, and any added later) are
    skipped. Calls whose ``CallOffered`` lies outside the window are left out
    with all their records; agent time is clipped to the window.
    """
    kpi_pass = _Pass(settings)
    return kpi_pass.run(records)


class _Pass(ReductionListener):
    """Adds the reduction's facts into a ``CallTally`` per (interval, queue) and per
    interval, and agent time into an ``AgentTally`` per agent and per interval."""

    def __init__(self, settings: KpiSettings) -> None:
        self.settings = settings
        self.grid = Grid(settings)
        self.window_start = settings.window_start
        self.window_end = math.inf if settings.window_end is None else settings.window_end
        self.reducer = EventReducer(self)
        self.center: dict[int, CallTally] = {}
        self.by_queue: dict[tuple[int, str], CallTally] = {}
        self.agent_intervals: dict[int, AgentTally] = {}
        self.ivr = IvrKpis()
        self.surveys = SurveyTally()
        self.voicemail = VoicemailTally()
        # Messages are logged after their call's end: the reduction has no call for them.
        self.reducer.handlers[VoicemailLeft] = self.voicemail_left
        # Supervision, conferences and campaigns have records of their own, beside (or
        # instead of) a call's: added up as they come, by when they happened.
        self.features = FeatureTally()
        self.ports = PortTally()
        for kind, handler in (*self.features.handlers.items(), *self.ports.handlers.items()):
            self.reducer.handlers[kind] = self.in_window(self.reducer.handlers.get(kind), handler)
        self.resolution = ResolutionTally(settings.repeat_window)
        self.sl = _PerQueue(settings.sl_threshold)
        self.short = _PerQueue(settings.short_abandon)
        self.here = 0  # the interval the last record fell in, and its bounds
        self.here_from = self.here_to = 0.0
        self.here_agents = AgentTally()
        self.here_times = self.here_agents.times

    def in_window(self, reduce: Callable[[Record], None] | None,
                  tally: Callable[[Record], None]) -> Callable[[Record], None]:
        """The reduction's handler of a record type (if any), then ``tally`` for records
        inside the window."""
        def handle(record: Record) -> None:
            if reduce is not None:
                reduce(record)
            if self.window_start <= record.t < self.window_end:
                tally(record)
        return handle

    def run(self, records: Iterable[Record]) -> KpiReport:
        reducer = self.reducer
        last_t = reducer.feed_all(records)
        last_t = self.window_start if last_t is None else last_t
        end = last_t if self.settings.window_end is None else self.window_end
        end = max(end, self.window_start)
        reducer.close_agents(end)
        reducer.finish(last_t)
        return self.report(end)

    def interval(self, t: float) -> int:
        """The interval holding t; the last one found is kept, as records come in time order."""
        if not self.here_from <= t < self.here_to:
            k = self.here = self.grid.index(t)
            # Clipped to the window, so that a span inside these bounds needs no other check.
            self.here_from = max(self.grid.start(k), self.window_start)
            self.here_to = min(self.grid.start(k + 1), self.window_end)
            self.here_agents = self.agents_in(k)
            self.here_times = self.here_agents.times
        return self.here

    def agents_in(self, k: int) -> AgentTally:
        tally = self.agent_intervals.get(k)
        if tally is None:
            tally = self.agent_intervals[k] = AgentTally()
        return tally

    # --- calls -----------------------------------------------------------------

    def call_opened(self, call: CallState) -> bool:
        t = call.offered.t
        if t < self.window_start or t >= self.window_end:
            return False
        k = self.here if self.here_from <= t < self.here_to else self.interval(t)
        tally = self.center.get(k)
        if tally is None:
            tally = self.center[k] = CallTally()
        tally.offered += 1
        call.tag = (k, tally)
        self.resolution.opened(call)
        return True

    def visit_opened(self, call: CallState, visit: Visit, first: bool) -> None:
        interval, center = call.tag
        key = (interval, visit.queue)
        tally = self.by_queue.get(key)
        if tally is None:
            tally = self.by_queue[key] = CallTally()
        tally.offered += 1
        tally.entered_queue += 1
        visit.tag = tally
        if first:
            center.entered_queue += 1

    def visit_closed(self, call: CallState, visit: Visit, end: VisitEnd, t: float) -> None:
        tally: CallTally = visit.tag
        if end is ANSWERED:
            wait = t - visit.entered
            tally.answered += 1
            tally.handled += 1
            tally.answer_wait += wait
            if wait <= self.sl[visit.queue]:
                tally.answered_within_sl += 1
            if call.callback is not None:
                tally.callbacks_connected += 1
                if wait + call.carried_wait <= self.sl[visit.queue]:
                    tally.callbacks_within_sl += 1
        elif end is CALLBACK_GIVEN_UP:
            tally.callback_given_up += 1
        elif end is OVERFLOWED:
            tally.overflowed_out += 1
            if visit.target == "voicemail":
                tally.voicemail += 1
            elif visit.target == "busy":
                tally.busy += 1
        elif end is ABANDONED:
            self.count_abandon(tally, visit.queue, t - visit.entered)
        else:
            tally.in_system += 1
        if visit.waited:
            tally.waited += 1

    def count_abandon(self, tally: CallTally, queue: str, wait: float) -> None:
        tally.abandoned += 1
        tally.abandoned_in_queue += 1
        if wait <= self.short[queue]:
            tally.short_abandoned += 1
        else:
            tally.abandon_wait += wait

    def call_answered(self, call: CallState, handling: Handling, first: bool) -> None:
        center: CallTally = call.tag[1]
        center.handled += 1
        self.resolution.answered(call.offered.ani, handling.agent, first)
        if first:
            wait = call.wait
            center.answered += 1
            center.answer_wait += wait
            if wait <= self.sl[handling.visit.queue]:
                center.answered_within_sl += 1
            if call.callback is not None:  # a carried one waited in earlier runs too
                center.callbacks_connected += 1
                if wait + call.carried_wait <= self.sl[handling.visit.queue]:
                    center.callbacks_within_sl += 1

    def callback_offered(self, call: CallState) -> None:
        call.tag[1].callbacks_offered += 1
        if call.visit is not None:
            call.visit.tag.callbacks_offered += 1

    def callback_requested(self, call: CallState) -> None:
        call.tag[1].callbacks_requested += 1
        if call.visit is not None:
            call.visit.tag.callbacks_requested += 1

    def hold_began(self, call: CallState, first_for_call: bool, first_for_answer: bool) -> None:
        if first_for_call:
            call.tag[1].held += 1
        if first_for_answer:
            call.handling.visit.tag.held += 1  # type: ignore[union-attr]

    def hold_ended(self, call: CallState, seconds: float) -> None:
        call.tag[1].hold += seconds
        if call.handling is not None:
            call.handling.visit.tag.hold += seconds

    def call_transferred(self, call: CallState, handling: Handling | None, first: bool) -> None:
        if handling is not None:
            handling.visit.tag.transferred += 1
        if first:
            call.tag[1].transferred += 1

    def transfer_known(self, call: CallState, visit: Visit | None, kind: TransferKind,
                       first: bool) -> None:
        name = _TRANSFERRED.get(kind)
        if name is None:  # into a conference room: in `transferred` only
            return
        if visit is not None:
            setattr(visit.tag, name, getattr(visit.tag, name) + 1)
        if first:
            center = call.tag[1]
            setattr(center, name, getattr(center, name) + 1)

    def transfer_recalled(self, call: CallState, visit: Visit | None) -> None:
        call.tag[1].recalls += 1
        if visit is not None:
            visit.tag.recalls += 1

    def picked_up(self, call: CallState, r: CallPickedUp) -> None:
        call.tag[1].picked_up += 1

    def talk_ended(self, handling: Handling, seconds: float) -> None:
        center: CallTally = handling.call.tag[1]
        queue: CallTally = handling.visit.tag
        center.talk += seconds
        center.talked += 1
        queue.talk += seconds
        queue.talked += 1

    def wrap_up_ended(self, handling: Handling, seconds: float) -> None:
        center: CallTally = handling.call.tag[1]
        queue: CallTally = handling.visit.tag
        center.wrap_up += seconds
        center.wrapped += 1
        queue.wrap_up += seconds
        queue.wrapped += 1

    def voicemail_left(self, r: VoicemailLeft) -> None:
        if self.window_start <= r.t < self.window_end:
            self.voicemail.add(r)

    def survey_scored(self, call: CallState, r: SurveyScored) -> None:
        self.surveys.add(r.agent, r.queue, r.score)

    def call_closed(self, call: CallState) -> None:
        """Count the call in exactly one outcome of the center."""
        tally: CallTally = call.tag[1]
        self.resolution.closed(call)
        if call.waited:
            tally.waited += 1
        if call.parks:
            tally.parked += 1
        if call.ivr is not None:
            self.ivr.add(call.tag[0], call)
        outcome = call.outcome
        if outcome is Outcome.ANSWERED:
            return
        if outcome is Outcome.ABANDONED:
            queue = call.abandon_queue
            if queue is None:
                tally.abandoned += 1
            else:
                self.count_abandon(tally, queue, call.wait or 0.0)
        else:
            setattr(tally, outcome.value, getattr(tally, outcome.value) + 1)
            if outcome is Outcome.VOICEMAIL or outcome is Outcome.BUSY:
                tally.overflowed_out += 1

    # --- agents ----------------------------------------------------------------

    def agent_opened(self, agent: AgentStatus) -> None:
        agent.tag = AgentTally()

    def agent_answered(self, agent: AgentStatus, t: float) -> None:
        interval = self.agent_interval(t)
        if interval is not None:
            agent.tag.calls_handled += 1
            interval.calls_handled += 1

    def agent_missed(self, agent: AgentStatus, t: float) -> None:
        interval = self.agent_interval(t)
        if interval is not None:
            agent.tag.ring_no_answer += 1
            interval.ring_no_answer += 1

    def agent_interval(self, t: float) -> AgentTally | None:
        """The agent figures of the interval holding t; None outside the window."""
        if t < self.window_start or t >= self.window_end:
            return None
        if self.here_from <= t < self.here_to:
            return self.here_agents
        return self.agents_in(self.interval(t))

    def agent_span(self, agent: AgentStatus, t: float) -> None:
        since = agent.since
        before = agent.state
        if self.here_from <= since and t <= self.here_to and before is not NOT_READY:
            # The usual case, inline: the whole span lies in the current interval
            # (whose bounds are clipped to the window).
            seconds = t - since
            agent.tag.times[before] += seconds
            self.here_times[before] += seconds
        else:
            self.spend(agent, since, t)

    def spend(self, agent: AgentStatus, begin: float, end: float) -> None:
        """Add [begin, end) in the agent's current state, clipped and split by interval."""
        if begin < self.window_start:
            begin = self.window_start
        if end > self.window_end:
            end = self.window_end
        if end <= begin:
            return
        state, reason = agent.state, agent.reason
        agent.tag.add_time(state, reason, end - begin)
        if self.here_from <= begin and end <= self.here_to:  # within the current interval
            self.here_agents.add_time(state, reason, end - begin)
            return
        grid = self.grid
        # Index the interval without moving the cache: the next record is current again.
        k = grid.index(begin)
        while begin < end:
            stop = min(end, max(begin, grid.start(k + 1)))
            self.agents_in(k).add_time(state, reason, stop - begin)
            begin = stop
            k += 1

    # --- the report --------------------------------------------------------------

    def report(self, end: float) -> KpiReport:
        grid = self.grid
        queues = sorted(self.reducer.queues | set(self.settings.queues))
        count = max(
            grid.count(end),
            max(self.center, default=-1) + 1,
            max((k for k, _ in self.by_queue), default=-1) + 1,
            max(self.agent_intervals, default=-1) + 1,
        )
        intervals = []
        # Quiet intervals (nights in a run of several days) share one set of
        # empty figures: the stats are frozen, and building them is most of a
        # long run's report.
        no_calls = CallTally().stats()
        no_agent_stats = AgentTally().stats()
        for k in range(count):
            start = max(grid.start(k), self.window_start)
            stop = max(start, min(grid.start(k + 1), end))
            agents = self.agent_intervals.get(k)
            agent_stats = no_agent_stats if agents is None else agents.stats()
            calls = self.center.get(k)
            intervals.append(
                build(
                    IntervalStats,
                    dict(
                        start=start,
                        end=stop,
                        label=grid.label(k),
                        calls=no_calls if calls is None else calls.stats(),
                        queues={q: _stats_or(self.by_queue.get((k, q)), no_calls) for q in queues},
                        agents=agent_stats,
                        agents_logged_in_avg=ratio(agent_stats.logged_in_time, stop - start),
                        occupancy=agent_stats.occupancy,
                    ),
                )
            )
        by_name: dict[str, list[CallTally]] = {q: [] for q in queues}
        for (_, queue), tally in self.by_queue.items():
            by_name[queue].append(tally)
        known = self.reducer.agents
        agents = {name: known[name].tag for name in sorted(known)}
        ivr = self.ivr.report([(k, grid.label(k)) for k in range(count)], self.center)
        return KpiReport(
            settings=self.settings,
            center=CallTally.total(self.center.values()).stats(),
            center_agents=AgentTally.total(agents.values()).stats(),
            queues={q: CallTally.total(by_name[q]).stats() for q in queues},
            agents={name: tally.stats() for name, tally in agents.items()},
            intervals=intervals,
            ivr=ivr,
            surveys=self.surveys.report(),
            voicemail=self.voicemail.report(),
            features=self.features.report(),
            ports=self.ports.report(),
            resolution=self.resolution.stats(),
        )


_TRANSFERRED = {TransferKind.QUEUE: "transferred_to_queue",
                TransferKind.AGENT: "transferred_to_agent",
                TransferKind.ATTENDED: "transferred_attended",
                TransferKind.EXTENSION: "transferred_to_extension",
                TransferKind.OUTSIDE: "transferred_outside"}


class _PerQueue(dict[str, float]):
    """A threshold per queue, asked of the settings once per queue: indexing it costs no
    call, and the KPI pass reads one for most calls."""

    def __init__(self, threshold: Callable[[str], float]) -> None:
        super().__init__()
        self.threshold = threshold

    def __missing__(self, queue: str) -> float:
        value = self[queue] = self.threshold(queue)
        return value


def _stats_or(tally: CallTally | None, empty: CallStats) -> CallStats:
    return empty if tally is None else tally.stats()
