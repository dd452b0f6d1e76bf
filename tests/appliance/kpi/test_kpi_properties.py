"""Properties of the KPIs over random, well-formed event logs."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnnounced,
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
    OverflowCause,
    Record,
    RingNoAnswer,
)
from appliance.kpi import CENTER_ENDS, AgentStats, CallStats, KpiSettings, compute_kpis

S = AgentState
QUEUES = ("sales", "support", "vip")
OUTCOMES = ("answer", "answer", "abandon", "overflow", "voicemail", "busy", "stop")
ROUTED_AWAY = (EndCause.NO_ROUTE, EndCause.BLACKLISTED, EndCause.CLOSED,
               EndCause.AGENT_UNREACHABLE)
RATES = (
    "blocked_rate",
    "answer_rate",
    "service_level",
    "abandon_rate",
    "transfer_rate",
    "queue_placement_rate",
)
# Steps on a half-second grid keep every sum exact.
steps = st.sampled_from([0.0, 0.5, 1.0, 3.0, 7.5, 20.0, 21.0, 45.0, 120.0])


@st.composite
def call_life(draw, call: int) -> list[Record]:
    """The records of one call, from its offer to its end or to a random stop.

    Every agent serves this call only ("a<call>.<n>"), so agent lives never clash.
    """
    records: list[Record] = []
    t = draw(st.integers(0, 7200)) / 2
    records.append(CallOffered(t, call, "pstn", "ani", "400", 1))
    start = draw(st.sampled_from(["blocked", "no_route", "ivr_hangup", "queue", "queue", "queue"]))
    if start == "blocked":
        return [*records, CallBlocked(t, call, "pstn"), CallEnded(t, call, EndCause.BLOCKED)]
    if start == "no_route":  # no route, or sent away by one
        cause = draw(st.sampled_from(ROUTED_AWAY))
        return [*records, CallEnded(t + draw(steps), call, cause)]
    if start == "ivr_hangup":
        return [*records, CallEnded(t + draw(steps), call, EndCause.CALLER_HANGUP)]
    first_queued = t
    queue = draw(st.sampled_from(QUEUES))
    agents = iter(f"a{call}.{n}" for n in range(100))
    for _ in range(4):
        records.append(CallQueued(t, call, queue, 0, 1))
        if draw(st.booleans()):
            t += draw(steps)
            records.append(CallAnnounced(t, call, queue, 1, draw(st.sampled_from([None, 30.0]))))
        for _ in range(draw(st.integers(0, 2))):
            agent = next(agents)
            t += draw(steps)
            records += [AgentRung(t, call, queue, agent), _agent(t, agent, S.RINGING, call)]
            t += draw(steps)
            records += [RingNoAnswer(t, call, queue, agent), _agent(t, agent, S.NOT_READY, 0)]
        outcome = draw(st.sampled_from(OUTCOMES))
        t += draw(steps)
        if outcome == "stop":
            return records
        if outcome == "abandon":
            return [
                *records,
                CallAbandoned(t, call, queue, 1, t - first_queued),
                CallEnded(t, call, EndCause.ABANDONED),
            ]
        if outcome in ("voicemail", "busy"):
            return [
                *records,
                CallOverflowed(t, call, queue, OverflowCause.MAX_WAIT, outcome),
                CallEnded(t, call, EndCause(outcome)),
            ]
        if outcome == "overflow":
            target = draw(st.sampled_from(QUEUES))
            records.append(CallOverflowed(t, call, queue, OverflowCause.MAX_WAIT, target))
            queue = target
            continue
        agent = next(agents)
        records += [AgentRung(t, call, queue, agent), _agent(t, agent, S.RINGING, call)]
        t += draw(steps)
        records += [
            CallAnswered(t, call, queue, agent, t - first_queued),
            _agent(t, agent, S.TALKING, call),
        ]
        for _ in range(draw(st.integers(0, 2))):
            t += draw(steps)
            records += [CallHeld(t, call, agent), _agent(t, agent, S.HELD, call)]
            t += draw(steps)
            records += [CallResumed(t, call, agent), _agent(t, agent, S.TALKING, call)]
        t += draw(steps)
        after = draw(st.sampled_from(["hang_up", "hang_up", "transfer", "stop"]))
        if after == "stop":
            return records
        if after == "hang_up":
            records.append(CallEnded(t, call, EndCause.AGENT_HANGUP))
        else:
            queue = draw(st.sampled_from(QUEUES))
            records.append(CallTransferred(t, call, agent, queue))
        records.append(_agent(t, agent, S.WRAP_UP, call))
        if draw(st.booleans()):
            records.append(_agent(t + draw(steps), agent, S.READY, 0))
        if after == "hang_up":
            return records
    return records


def _agent(t: float, agent: str, state: AgentState, call: int) -> AgentStateChanged:
    return AgentStateChanged(t, agent, state, "no_answer" if state is S.NOT_READY else "", call)


@st.composite
def event_logs(draw) -> list[Record]:
    count = draw(st.integers(0, 12))
    lives = [draw(call_life(call)) for call in range(1, count + 1)]
    return sorted((record for life in lives for record in life), key=lambda record: record.t)


@st.composite
def kpi_settings(draw) -> KpiSettings:
    start = draw(st.sampled_from([0.0, 300.0, 1000.0]))
    end = draw(st.sampled_from([None, 1800.0, 3600.0]))
    return KpiSettings(
        interval=draw(st.sampled_from([600.0, 1800.0])),
        window_start=start,
        window_end=end,
        clock_origin=draw(st.sampled_from([0.0, 8 * 3600.0, 8 * 3600.0 + 900])),
        default_sl_threshold=draw(st.sampled_from([0.0, 20.0, 30.0])),
        default_short_abandon=draw(st.sampled_from([0.0, 20.0])),
    )


def assert_well_formed(stats: CallStats) -> None:
    for name in RATES:
        value = getattr(stats, name)
        assert value is None or 0.0 <= value <= 1.0, (name, value)
    assert stats.short_abandoned <= stats.abandoned_in_queue <= stats.abandoned
    assert stats.answered_within_sl <= stats.answered <= stats.handled
    assert stats.waited <= stats.entered_queue <= stats.offered
    for name in ("asa", "att", "acw", "avg_hold_time", "avg_abandon_time"):
        value = getattr(stats, name)
        assert value is None or value >= 0.0, (name, value)


def assert_agent_well_formed(stats: AgentStats) -> None:
    states = (
        stats.ready_time
        + stats.ringing_time
        + stats.talk_time
        + stats.hold_time
        + stats.wrap_up_time
        + stats.not_ready_time
    )
    assert math.isclose(stats.logged_in_time, states, abs_tol=1e-9)
    assert math.isclose(sum(stats.not_ready_by_reason.values()), stats.not_ready_time)
    for value in (stats.occupancy, stats.occupancy_talk_only):
        assert value is None or 0.0 <= value <= 1.0
    if stats.occupancy is not None:
        assert stats.occupancy_talk_only <= stats.occupancy


@settings(max_examples=300, deadline=None)
@given(event_logs(), kpi_settings())
def test_every_call_is_counted_once_and_every_rate_is_a_share(records, kpi):
    report = compute_kpis(records, kpi)

    center = report.center
    assert center.offered == sum(getattr(center, end) for end in CENTER_ENDS)
    end = math.inf if kpi.window_end is None else kpi.window_end
    offered = {
        r.call for r in records if isinstance(r, CallOffered) and kpi.window_start <= r.t < end
    }
    answered = {r.call for r in records if isinstance(r, CallAnswered) and r.call in offered}
    ended = {r.call for r in records if isinstance(r, CallEnded) and r.call in offered}
    assert center.offered == len(offered)
    assert center.answered == len(answered)
    assert center.in_system == len(offered - ended - answered)
    assert_well_formed(center)
    for queue in report.queues.values():
        assert queue.offered == (
            queue.answered + queue.abandoned + queue.overflowed_out + queue.in_system
        )
        assert_well_formed(queue)
    assert sum(q.answered for q in report.queues.values()) == center.handled
    assert sum(q.offered for q in report.queues.values()) == sum(
        1 for r in records if isinstance(r, CallQueued) and r.call in offered
    )
    for interval in report.intervals:
        assert_well_formed(interval.calls)
        assert_agent_well_formed(interval.agents)
    for interval in report.intervals:
        calls = interval.calls
        assert calls.offered == sum(getattr(calls, end) for end in CENTER_ENDS)
    for name in ("offered", "handled", *CENTER_ENDS):
        assert sum(getattr(i.calls, name) for i in report.intervals) == getattr(center, name)
    assert_agent_well_formed(report.center_agents)
    for agent in report.agents.values():
        assert_agent_well_formed(agent)
    logged_in = sum(i.agents.logged_in_time for i in report.intervals)
    assert math.isclose(logged_in, report.center_agents.logged_in_time, abs_tol=1e-6)
