"""KPIs from the event log: one pass over the records, no clock, no simulation.

The pass keeps a small object per call that is still up and per agent, and
adds every figure into a ``CallTally`` per (interval, queue) and per interval
as soon as it is known; a call is dropped when it ends, so the live appliance
can feed it the day's log as well as a simulation can feed it a run's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallBlocked,
    CallEnded,
    CallHeld,
    CallOffered,
    CallOverflowed,
    CallQueued,
    CallResumed,
    CallTransferred,
    EndCause,
    Record,
    RingNoAnswer,
)
from appliance.kpi.agents import AgentTally
from appliance.kpi.calls import CallTally, ratio
from appliance.kpi.grid import Grid
from appliance.kpi.report import CallStats, IntervalStats, KpiReport
from appliance.kpi.settings import KpiSettings

LOGGED_OUT = AgentState.LOGGED_OUT
TALKING = AgentState.TALKING
HELD = AgentState.HELD
WRAP_UP = AgentState.WRAP_UP
NOT_READY = AgentState.NOT_READY
RINGING = AgentState.RINGING
READY = AgentState.READY

# Unanswered calls that ended one of these ways were ended by the caller.
_BY_CALLER = frozenset({EndCause.ABANDONED, EndCause.CALLER_HANGUP, EndCause.AGENT_HANGUP})


def compute_kpis(records: Iterable[Record], settings: KpiSettings) -> KpiReport:
    """Every figure of ``KpiReport`` from time-ordered records.

    Record types the KPIs do not use (announcements, and any added later) are
    skipped. Calls whose ``CallOffered`` lies outside the window are left out
    with all their records; agent time is clipped to the window.
    """
    kpi_pass = _Pass(settings)
    return kpi_pass.run(records)


class _Visit:
    """A call's stay in one queue, from ``CallQueued`` until it leaves."""

    __slots__ = ("entered", "queue", "rung", "tally")

    def __init__(self, queue: str, entered: float, tally: CallTally) -> None:
        self.queue = queue
        self.entered = entered
        self.rung: float | None = None
        self.tally = tally


class _Handling:
    """One agent's answer of a call: talk, then wrap-up."""

    __slots__ = ("answered", "call", "center", "held", "queue", "talking", "wrap_from")

    def __init__(self, call: _Call, answered: float, queue: CallTally) -> None:
        self.call = call
        self.answered = answered
        self.center = call.tally
        self.queue = queue
        self.talking = True
        self.held = False
        self.wrap_from: float | None = None


class _Call:
    __slots__ = (
        "abandon",
        "answered",
        "blocked",
        "first_queued",
        "first_rung",
        "handling",
        "held",
        "hold_from",
        "interval",
        "overflow",
        "tally",
        "transferred",
        "visit",
    )

    def __init__(self, interval: int, tally: CallTally) -> None:
        self.interval = interval
        self.tally = tally
        self.first_queued: float | None = None
        self.first_rung: float | None = None
        self.visit: _Visit | None = None
        self.handling: _Handling | None = None
        self.answered = False
        self.transferred = False
        self.held = False
        self.blocked = False
        self.hold_from: float | None = None
        self.abandon: tuple[float, str] | None = None  # (wait, queue) of an abandon in queue
        self.overflow = ""  # target of the last overflow


class _Agent:
    __slots__ = ("reason", "since", "state", "tally", "times")

    def __init__(self, since: float) -> None:
        self.state = LOGGED_OUT
        self.reason = ""
        self.since = since
        self.tally = AgentTally()
        self.times = self.tally.times


class _Pass:
    def __init__(self, settings: KpiSettings) -> None:
        self.settings = settings
        self.grid = Grid(settings)
        self.window_start = settings.window_start
        self.window_end = math.inf if settings.window_end is None else settings.window_end
        self.calls: dict[int, _Call] = {}
        self.center: dict[int, CallTally] = {}
        self.by_queue: dict[tuple[int, str], CallTally] = {}
        self.queues: set[str] = set(settings.queues)
        self.agents: dict[str, _Agent] = {}
        self.agent_intervals: dict[int, AgentTally] = {}
        self.handlings: dict[str, _Handling] = {}
        self.sl: dict[str, float] = {}
        self.short: dict[str, float] = {}
        self.here = 0  # the interval the last record fell in, and its bounds
        self.here_from = self.here_to = 0.0
        self.here_agents = AgentTally()
        self.here_times = self.here_agents.times
        self.handlers: dict[type, Callable] = {
            CallOffered: self.offered,
            CallBlocked: self.blocked,
            CallQueued: self.queued,
            AgentRung: self.rung,
            RingNoAnswer: self.ring_no_answer,
            CallAnswered: self.answered,
            CallAbandoned: self.abandoned,
            CallOverflowed: self.overflowed,
            CallHeld: self.held,
            CallResumed: self.resumed,
            CallTransferred: self.transferred,
            CallEnded: self.ended,
            AgentStateChanged: self.agent_state,
        }

    def run(self, records: Iterable[Record]) -> KpiReport:
        handlers = self.handlers
        record = None
        for record in records:
            handler = handlers.get(type(record))
            if handler is not None:
                handler(record)
        return self.finish(self.window_start if record is None else record.t)

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

    def offered(self, r: CallOffered) -> None:
        t = r.t
        if t < self.window_start or t >= self.window_end:
            return
        k = self.here if self.here_from <= t < self.here_to else self.interval(t)
        tally = self.center.get(k)
        if tally is None:
            tally = self.center[k] = CallTally()
        tally.offered += 1
        self.calls[r.call] = _Call(k, tally)

    def blocked(self, r: CallBlocked) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            call.blocked = True

    def queued(self, r: CallQueued) -> None:
        self.queues.add(r.queue)
        call = self.calls.get(r.call)
        if call is None:
            return
        if call.visit is not None:
            # Left its queue without a record saying how: it went on to this one.
            self.overflow_visit(call, call.visit, r.queue)
        self.enter(call, r.queue, r.t)

    def enter(self, call: _Call, queue: str, t: float) -> _Visit:
        key = (call.interval, queue)
        tally = self.by_queue.get(key)
        if tally is None:
            tally = self.by_queue[key] = CallTally()
        tally.offered += 1
        tally.entered_queue += 1
        visit = call.visit = _Visit(queue, t, tally)
        if call.first_queued is None:
            call.first_queued = t
            call.tally.entered_queue += 1
        return visit

    def visit_in(self, call: _Call, queue: str, t: float) -> _Visit:
        """The call's stay in ``queue``; one starting now if the records skipped its entry."""
        visit = call.visit
        if visit is not None and visit.queue == queue:
            return visit
        if visit is not None:
            self.overflow_visit(call, visit, queue)
        self.queues.add(queue)
        return self.enter(call, queue, t)

    def leave(self, call: _Call, visit: _Visit) -> None:
        if visit.rung is None or visit.rung > visit.entered:
            visit.tally.waited += 1
        call.visit = None

    def overflow_visit(self, call: _Call, visit: _Visit, target: str) -> None:
        tally = visit.tally
        tally.overflowed_out += 1
        if target == "voicemail":
            tally.voicemail += 1
        elif target == "busy":
            tally.busy += 1
        call.overflow = target
        self.leave(call, visit)

    def abandon_visit(self, call: _Call, visit: _Visit, t: float, call_wait: float) -> None:
        tally = visit.tally
        wait = t - visit.entered
        tally.abandoned += 1
        tally.abandoned_in_queue += 1
        if wait <= self.short_abandon(visit.queue):
            tally.short_abandoned += 1
        else:
            tally.abandon_wait += wait
        call.abandon = (call_wait, visit.queue)
        self.leave(call, visit)

    def rung(self, r: AgentRung) -> None:
        if r.agent not in self.agents:
            self.agent(r.agent)
        call = self.calls.get(r.call)
        if call is None:
            return
        if call.first_rung is None:
            call.first_rung = r.t
        visit = call.visit
        if visit is not None and visit.rung is None:
            visit.rung = r.t

    def ring_no_answer(self, r: RingNoAnswer) -> None:
        self.count_for_agent(r.agent, r.t, "ring_no_answer")

    def answered(self, r: CallAnswered) -> None:
        t = r.t
        self.count_for_agent(r.agent, t, "calls_handled")
        call = self.calls.get(r.call)
        if call is None:
            return
        visit = self.visit_in(call, r.queue, t)
        sl = self.sl_threshold(r.queue)
        wait = t - visit.entered
        tally = visit.tally
        tally.answered += 1
        tally.handled += 1
        tally.answer_wait += wait
        if wait <= sl:
            tally.answered_within_sl += 1
        if visit.rung is None:  # answered without a ring record: rung as it was answered
            visit.rung = t
        if call.first_rung is None:
            call.first_rung = t
        self.leave(call, visit)
        center = call.tally
        center.handled += 1
        if not call.answered:
            call.answered = True
            center.answered += 1
            center.answer_wait += r.wait
            if r.wait <= sl:
                center.answered_within_sl += 1
        handling = call.handling = _Handling(call, t, tally)
        self.handlings[r.agent] = handling

    def abandoned(self, r: CallAbandoned) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            self.abandon_visit(call, self.visit_in(call, r.queue, r.t), r.t, r.wait)

    def overflowed(self, r: CallOverflowed) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            self.overflow_visit(call, self.visit_in(call, r.queue, r.t), r.target)

    def held(self, r: CallHeld) -> None:
        call = self.calls.get(r.call)
        if call is None:
            return
        if call.hold_from is None:
            call.hold_from = r.t
        if not call.held:
            call.held = True
            call.tally.held += 1
        handling = call.handling
        if handling is not None and not handling.held:
            handling.held = True
            handling.queue.held += 1

    def resumed(self, r: CallResumed) -> None:
        call = self.calls.get(r.call)
        if call is not None and call.hold_from is not None:
            self.end_hold(call, r.t)

    def end_hold(self, call: _Call, t: float) -> None:
        if call.hold_from is None:
            return
        seconds = t - call.hold_from
        call.hold_from = None
        call.tally.hold += seconds
        if call.handling is not None:
            call.handling.queue.hold += seconds

    def transferred(self, r: CallTransferred) -> None:
        call = self.calls.get(r.call)
        if call is None:
            return
        if call.hold_from is not None:
            self.end_hold(call, r.t)
        handling = call.handling
        if handling is not None:
            handling.queue.transferred += 1
            self.end_talk(handling, r.t)
        if not call.transferred:
            call.transferred = True
            call.tally.transferred += 1

    def end_talk(self, handling: _Handling, t: float) -> None:
        if not handling.talking:
            return
        handling.talking = False
        seconds = t - handling.answered
        for tally in (handling.center, handling.queue):
            tally.talk += seconds
            tally.talked += 1
        call = handling.call
        if call.handling is handling:
            if call.hold_from is not None:
                self.end_hold(call, t)
            call.handling = None

    def end_wrap_up(self, agent: str, handling: _Handling, seconds: float) -> None:
        for tally in (handling.center, handling.queue):
            tally.wrap_up += seconds
            tally.wrapped += 1
        del self.handlings[agent]

    def ended(self, r: CallEnded) -> None:
        call = self.calls.pop(r.call, None)
        if call is None:
            return
        t = r.t
        if call.hold_from is not None:
            self.end_hold(call, t)
        if call.handling is not None:
            self.end_talk(call.handling, t)
        visit = call.visit
        if visit is not None:
            # Ended while waiting with no record saying how: trust the cause.
            if r.cause is EndCause.VOICEMAIL or r.cause is EndCause.BUSY:
                self.overflow_visit(call, visit, r.cause.value)
            else:
                wait = t - (visit.entered if call.first_queued is None else call.first_queued)
                self.abandon_visit(call, visit, t, wait)
        self.settle(call, r.cause)

    def settle(self, call: _Call, cause: EndCause | None) -> None:
        """Count the call in exactly one outcome of the center (cause None: still up)."""
        tally = call.tally
        first_queued = call.first_queued
        if first_queued is not None and (call.first_rung is None or call.first_rung > first_queued):
            tally.waited += 1
        if call.answered:
            return
        if cause is None:
            cause = self.cause_so_far(call)
        if cause is None:
            tally.in_system += 1
        elif cause is EndCause.BLOCKED:
            tally.blocked += 1
        elif cause is EndCause.NO_ROUTE:
            tally.no_route += 1
        elif cause is EndCause.VOICEMAIL:
            tally.voicemail += 1
            tally.overflowed_out += 1
        elif cause is EndCause.BUSY:
            tally.busy += 1
            tally.overflowed_out += 1
        else:
            tally.abandoned += 1
            if call.abandon is not None:
                wait, queue = call.abandon
                tally.abandoned_in_queue += 1
                if wait <= self.short_abandon(queue):
                    tally.short_abandoned += 1
                else:
                    tally.abandon_wait += wait

    @staticmethod
    def cause_so_far(call: _Call) -> EndCause | None:
        """How a call the records leave up will end, if already decided."""
        if call.abandon is not None:
            return EndCause.ABANDONED
        if call.visit is None and call.overflow == "voicemail":
            return EndCause.VOICEMAIL
        if call.visit is None and call.overflow == "busy":
            return EndCause.BUSY
        if call.blocked:
            return EndCause.BLOCKED
        return None

    def sl_threshold(self, queue: str) -> float:
        threshold = self.sl.get(queue)
        if threshold is None:
            threshold = self.sl[queue] = self.settings.sl_threshold(queue)
        return threshold

    def short_abandon(self, queue: str) -> float:
        threshold = self.short.get(queue)
        if threshold is None:
            threshold = self.short[queue] = self.settings.short_abandon(queue)
        return threshold

    # --- agents ----------------------------------------------------------------

    def agent(self, agent_id: str, t: float = 0.0) -> _Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = self.agents[agent_id] = _Agent(t)
        return agent

    def count_for_agent(self, agent_id: str, t: float, what: str) -> None:
        """Count one answer or ring-no-answer (``what``) for the agent and the interval."""
        agent = self.agent(agent_id, t)
        if t < self.window_start or t >= self.window_end:
            return
        interval = self.here_agents if self.here_from <= t < self.here_to else None
        if interval is None:
            interval = self.agents_in(self.interval(t))
        if what == "calls_handled":
            agent.tally.calls_handled += 1
            interval.calls_handled += 1
        else:
            for tally in (agent.tally, interval):
                setattr(tally, what, getattr(tally, what) + 1)

    def agent_state(self, r: AgentStateChanged) -> None:
        t = r.t
        agent = self.agents.get(r.agent)
        if agent is None:
            agent = self.agents[r.agent] = _Agent(t)
        before = agent.state
        since = agent.since
        if before is not LOGGED_OUT and t > since:
            if self.here_from <= since and t <= self.here_to and before is not NOT_READY:
                # The usual case, inline: the whole span lies in the current interval
                # (whose bounds are clipped to the window).
                seconds = t - since
                agent.times[before] += seconds
                self.here_times[before] += seconds
            else:
                self.spend(agent, since, t)
        agent.state = state = r.state
        agent.reason = r.reason
        agent.since = t
        if state is TALKING or state is HELD:
            return
        # Ringing or going ready after a ring has no answer to close; everything
        # else may end the talk or the wrap-up of the agent's last answer.
        if state is RINGING or (state is READY and before is RINGING):
            return
        handling = self.handlings.get(r.agent)
        if handling is not None:
            self.follow(r.agent, handling, before, state, t)

    def follow(
        self, agent: str, handling: _Handling, before: AgentState, state: AgentState, t: float
    ) -> None:
        """The agent left talk: the talk ends, then the wrap-up (none if not in WRAP_UP)."""
        if before is TALKING or before is HELD:
            self.end_talk(handling, t)
            if state is WRAP_UP:
                handling.wrap_from = t
            else:
                self.end_wrap_up(agent, handling, 0.0)
        elif state is WRAP_UP:
            return  # still wrapping up
        elif before is WRAP_UP and handling.wrap_from is not None:
            self.end_wrap_up(agent, handling, t - handling.wrap_from)
        else:
            # The agent moved on without the records closing this answer.
            del self.handlings[agent]

    def spend(self, agent: _Agent, begin: float, end: float) -> None:
        """Add [begin, end) in the agent's current state, clipped and split by interval."""
        if begin < self.window_start:
            begin = self.window_start
        if end > self.window_end:
            end = self.window_end
        if end <= begin:
            return
        state, reason = agent.state, agent.reason
        agent.tally.add_time(state, reason, end - begin)
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

    def finish(self, last_t: float) -> KpiReport:
        end = last_t if self.settings.window_end is None else self.window_end
        end = max(end, self.window_start)
        for agent in self.agents.values():
            if agent.state is not LOGGED_OUT and end > agent.since:
                self.spend(agent, agent.since, end)
                agent.since = end
        for call in self.calls.values():
            self.end_hold(call, last_t)
            visit = call.visit
            if visit is not None:
                visit.tally.in_system += 1
                self.leave(call, visit)
            self.settle(call, None)
        self.calls.clear()
        return self.report(end)

    def report(self, end: float) -> KpiReport:
        grid = self.grid
        queues = sorted(self.queues)
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
        no_agents = AgentTally()
        no_agent_stats = no_agents.stats()
        for k in range(count):
            start = max(grid.start(k), self.window_start)
            stop = max(start, min(grid.start(k + 1), end))
            agents = self.agent_intervals.get(k)
            agent_stats = no_agent_stats if agents is None else agents.stats()
            calls = self.center.get(k)
            intervals.append(
                IntervalStats(
                    start=start,
                    end=stop,
                    label=grid.label(k),
                    calls=no_calls if calls is None else calls.stats(),
                    queues={q: _stats_or(self.by_queue.get((k, q)), no_calls) for q in queues},
                    agents=agent_stats,
                    agents_logged_in_avg=ratio(
                        (agents or no_agents).logged_in_time(), stop - start
                    ),
                    occupancy=agent_stats.occupancy,
                )
            )
        by_name: dict[str, list[CallTally]] = {q: [] for q in queues}
        for (_, queue), tally in self.by_queue.items():
            by_name[queue].append(tally)
        agents = {name: self.agents[name].tally for name in sorted(self.agents)}
        return KpiReport(
            settings=self.settings,
            center=CallTally.total(self.center.values()).stats(),
            center_agents=AgentTally.total(agents.values()).stats(),
            queues={q: CallTally.total(by_name[q]).stats() for q in queues},
            agents={name: tally.stats() for name, tally in agents.items()},
            intervals=intervals,
        )


def _stats_or(tally: CallTally | None, empty: CallStats) -> CallStats:
    return empty if tally is None else tally.stats()
