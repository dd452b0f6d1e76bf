"""Detail records and KPIs, both read off the one reduction, agree on every call."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.events import (
    AgentState,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallQueued,
    CallResumed,
    EndCause,
    Record,
)
from appliance.kpi import CallStats, KpiSettings, compute_kpis
from appliance.records import CallDetail, CdrBuilder, call_details
from appliance.reduce import CallState, EventReducer, Outcome, ReductionListener, outcome_of
from tests.appliance.kpi.test_kpi_properties import call_life, event_logs

SETTINGS = KpiSettings(default_sl_threshold=20.0, default_short_abandon=20.0)


def ended_calls_only(records: list[Record]) -> list[Record]:
    """The records of the calls that end (agent records kept): those have detail records."""
    ended = {r.call for r in records if type(r) is CallEnded}
    return [r for r in records if type(r) is AgentStateChanged or r.call in ended]


def total(value: float | None, count: int) -> float:
    """The sum behind a mean the report gives (0 when the mean is not defined)."""
    return 0.0 if value is None else value * count


def assert_agree(center: CallStats, details: list[CallDetail]) -> None:
    answered = [d for d in details if d.answered_at is not None]
    assert center.offered == len(details)
    assert center.answered == len(answered)
    assert center.abandoned == sum(d.abandoned for d in details)
    assert center.blocked == sum(d.cause is EndCause.BLOCKED for d in details)
    assert center.answered_within_sl == sum(d.wait <= 20.0 for d in answered)
    assert center.transferred == sum(d.transfers > 0 for d in details)
    assert total(center.asa, center.answered) == pytest.approx(sum(d.wait for d in answered))
    # Every answer of an ended call has ended its talk: ATT is per answer (handled).
    assert total(center.att, center.handled) == pytest.approx(sum(d.talk for d in details))
    assert total(center.avg_hold_time, center.held) == pytest.approx(sum(d.hold for d in details))
    long_abandons = [d for d in details if d.abandoned and d.queued_at is not None
                     and d.wait > 20.0]
    assert total(center.avg_abandon_time, len(long_abandons)) == pytest.approx(
        sum(d.wait for d in long_abandons))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_detail_record_and_kpis_agree_on_every_call(data) -> None:
    records = ended_calls_only(data.draw(call_life(1)))
    assert_agree(compute_kpis(records, SETTINGS).center, call_details(records))


@settings(max_examples=200, deadline=None)
@given(event_logs())
def test_detail_records_and_kpis_agree_over_a_whole_log(records) -> None:
    records = ended_calls_only(records)
    assert_agree(compute_kpis(records, SETTINGS).center, call_details(records))


@settings(max_examples=100, deadline=None)
@given(event_logs())
def test_calls_left_up_are_in_the_builder_and_in_system_in_the_kpis(records) -> None:
    builder = CdrBuilder()
    details = list(builder.feed_all(records))
    center = compute_kpis(records, SETTINGS).center
    assert center.offered == len(details) + builder.open_calls
    assert center.in_system <= builder.open_calls


class _Outcomes(ReductionListener):
    def __init__(self) -> None:
        self.outcomes: dict[int, Outcome] = {}

    def call_closed(self, call: CallState) -> None:
        self.outcomes[call.offered.call] = call.outcome


def offered(t: float, call: int = 1) -> CallOffered:
    return CallOffered(t, call, "pstn", "100", "400", 1)


def test_a_call_cut_off_by_a_stop_while_waiting_is_in_system_not_abandoned() -> None:
    records = [offered(0.0), CallQueued(0.0, 1, "sales", 0, 1),
               CallEnded(30.0, 1, EndCause.INTERRUPTED)]
    (detail,) = call_details(records)
    assert (detail.abandoned, detail.wait) == (False, 30.0)
    center = compute_kpis(records, SETTINGS).center
    assert (center.abandoned, center.in_system) == (0, 1)
    assert compute_kpis(records, SETTINGS).queues["sales"].in_system == 1


def test_an_unanswered_hang_up_is_abandoned_in_both() -> None:
    records = [offered(0.0), CallEnded(4.0, 1, EndCause.CALLER_HANGUP)]
    (detail,) = call_details(records)
    assert detail.abandoned
    assert compute_kpis(records, SETTINGS).center.abandoned == 1


def test_talk_ends_when_the_agent_leaves_talk_before_the_call_ends() -> None:
    records = [
        offered(0.0), CallQueued(0.0, 1, "sales", 0, 1),
        CallAnswered(5.0, 1, "sales", "a1", 5.0),
        AgentStateChanged(5.0, "a1", AgentState.TALKING, "", 1),
        CallHeld(10.0, 1, "a1"),
        AgentStateChanged(12.0, "a1", AgentState.WRAP_UP, "", 1),
        CallResumed(13.0, 1, "a1"),
        CallEnded(14.0, 1, EndCause.CALLER_HANGUP),
    ]
    (detail,) = call_details(records)
    assert (detail.talk, detail.hold) == (7.0, 2.0)
    center = compute_kpis(records, SETTINGS).center
    assert (center.att, center.avg_hold_time) == (7.0, 2.0)


def test_the_outcome_of_a_call_still_up_is_what_is_already_decided() -> None:
    listener = _Outcomes()
    reducer = EventReducer(listener)
    reducer.feed_all([offered(0.0, 1), offered(1.0, 2), CallQueued(1.0, 2, "sales", 0, 1)])
    reducer.finish(5.0)
    assert listener.outcomes == {1: Outcome.IN_SYSTEM, 2: Outcome.IN_SYSTEM}


@pytest.mark.parametrize(("cause", "outcome"), [
    (EndCause.BLOCKED, Outcome.BLOCKED), (EndCause.NO_ROUTE, Outcome.NO_ROUTE),
    (EndCause.VOICEMAIL, Outcome.VOICEMAIL), (EndCause.BUSY, Outcome.BUSY),
    (EndCause.INTERRUPTED, Outcome.IN_SYSTEM), (EndCause.ABANDONED, Outcome.ABANDONED),
    (EndCause.CALLER_HANGUP, Outcome.ABANDONED), (None, Outcome.IN_SYSTEM),
    (EndCause.BLACKLISTED, Outcome.BLACKLISTED), (EndCause.CLOSED, Outcome.CLOSED),
    (EndCause.AGENT_UNREACHABLE, Outcome.AGENT_UNREACHABLE),
])
def test_an_unanswered_calls_outcome_follows_its_end_cause(cause, outcome) -> None:
    assert outcome_of(CallState(offered(0.0)), cause) is outcome


def test_an_answered_call_is_answered_whatever_its_end() -> None:
    call = CallState(offered(0.0))
    call.answered_at = 3.0
    assert outcome_of(call, EndCause.INTERRUPTED) is Outcome.ANSWERED


class _WrapUps(ReductionListener):
    def __init__(self) -> None:
        self.closed: list[CallState] = []

    def call_closed(self, call: CallState) -> None:
        self.closed.append(call)


def test_a_calls_wrap_up_is_the_agents_after_call_work_that_follows_it() -> None:
    listener = _WrapUps()
    EventReducer(listener).feed_all([
        offered(0.0), CallQueued(0.0, 1, "sales", 0, 1),
        CallAnswered(2.0, 1, "sales", "a1", 2.0),
        AgentStateChanged(2.0, "a1", AgentState.TALKING, "", 1),
        CallEnded(9.0, 1, EndCause.CALLER_HANGUP),
        AgentStateChanged(9.0, "a1", AgentState.WRAP_UP, "", 1),
        AgentStateChanged(24.0, "a1", AgentState.READY, "", 0),
    ])
    (call,) = listener.closed
    assert (call.talk, call.wrap_up, call.outcome) == (7.0, 15.0, Outcome.ANSWERED)


class _Spans(ReductionListener):
    """Overrides one hook only (the reduction skips the others, which do nothing)."""

    def __init__(self) -> None:
        self.spans: list[tuple[AgentState, float, float]] = []

    def agent_span(self, agent, t: float) -> None:
        self.spans.append((agent.state, agent.since, t))


def test_a_listener_overriding_one_hook_hears_it() -> None:
    listener = _Spans()
    reducer = EventReducer(listener)
    reducer.feed_all([
        AgentStateChanged(0.0, "a1", AgentState.READY, "", 0),
        offered(1.0), CallQueued(1.0, 1, "sales", 0, 1),
        CallAnswered(2.0, 1, "sales", "a1", 1.0),
        AgentStateChanged(2.0, "a1", AgentState.TALKING, "", 1),
        CallEnded(9.0, 1, EndCause.CALLER_HANGUP),
        AgentStateChanged(9.0, "a1", AgentState.READY, "", 0),
    ])
    reducer.close_agents(10.0)
    assert listener.spans == [
        (AgentState.READY, 0.0, 2.0), (AgentState.TALKING, 2.0, 9.0), (AgentState.READY, 9.0, 10.0)
    ]
