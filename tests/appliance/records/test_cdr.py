"""Call detail records from hand-built event sequences and from simulated runs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.eventlog import read_jsonl
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
    MediaQuality,
    OverflowCause,
    Record,
    RingNoAnswer,
)
from appliance.kpi import compute_kpis
from appliance.records import CallDetail, CdrBuilder, call_details
from sim.experiment import Experiment, kpi_settings, run_once
from sim.world import RunSpec, World
from tests.factories import build_site

# Holds, transfers, missed rings, abandons, overflow to another queue, to
# voicemail and to busy, retrials and blocking: every field of a detail record moves.
EVENTFUL_SITE = build_site(
    agents=4,
    trunks=6,
    wrap_up=5,
    ring_timeout=8,
    queue={
        "max_wait": 60,
        "capacity": 3,
        "on_max_wait": {"action": "queue", "target": "backup"},
        "on_full": {"action": "busy"},
        "announcements": {"first_after": 10, "every": 20, "duration": 4},
    },
    extra_queues=[{"name": "backup", "max_wait": 60, "on_max_wait": {"action": "voicemail"}}],
    traffic={
        "calls_per_hour": 240,
        "call_types": [
            {
                "name": "general",
                "trunk_group": "pstn",
                "talk_time": {"dist": "lognormal", "mean": 120, "sd": 60},
                "patience": {"dist": "exponential", "mean": 50},
                "hold": {"probability": 0.3, "duration": {"dist": "fixed", "value": 15}},
                "transfer": {"probability": 0.2, "target": "backup"},
                "retrial": {"after_abandon": 0.3, "after_busy": 0.5},
            }
        ],
    },
    behaviour={"answer_delay": {"dist": "exponential", "mean": 4}, "no_answer_probability": 0.15},
)


def offered(t: float = 0.0, call: int = 1, attempt: int = 1) -> CallOffered:
    return CallOffered(t, call, "pstn", "5551234", "800", attempt)


def only(records: Iterable[Record]) -> CallDetail:
    (detail,) = call_details(records)
    return detail


# --- hand-built calls -----------------------------------------------------------


def test_answered_call_after_a_missed_ring() -> None:
    detail = only(
        [
            offered(10.0),
            CallQueued(10.0, 1, "service", 0, 1),
            AgentRung(10.0, 1, "service", "a1"),
            RingNoAnswer(18.0, 1, "service", "a1"),
            AgentRung(18.0, 1, "service", "a2"),
            CallAnswered(21.0, 1, "service", "a2", 11.0),
            CallEnded(81.0, 1, EndCause.CALLER_HANGUP),
        ]
    )
    assert detail == CallDetail(
        call=1,
        trunk_group="pstn",
        ani="5551234",
        dnis="800",
        attempt=1,
        offered_at=10.0,
        first_queue="service",
        last_queue="service",
        queued_at=10.0,
        answered_at=21.0,
        agent="a2",
        ended_at=81.0,
        cause=EndCause.CALLER_HANGUP,
        wait=11.0,
        talk=60.0,
        hold=0.0,
        rings=2,
        ring_no_answers=1,
        transfers=0,
        overflows=0,
        abandoned=False,
    )


def test_abandoned_call_waits_until_the_caller_hangs_up() -> None:
    detail = only(
        [
            offered(0.0, attempt=2),
            CallQueued(1.0, 1, "service", 0, 3),
            CallAnnounced(11.0, 1, "service", 2, 30.0),
            CallAbandoned(25.0, 1, "service", 2, 24.0),
            CallEnded(25.0, 1, EndCause.ABANDONED),
        ]
    )
    assert detail.abandoned
    assert (detail.answered_at, detail.agent, detail.wait, detail.talk) == (None, None, 24.0, 0.0)
    assert (detail.attempt, detail.queued_at, detail.cause) == (2, 1.0, EndCause.ABANDONED)


def test_blocked_call_never_queued() -> None:
    detail = only([offered(5.0), CallBlocked(5.0, 1, "pstn"), CallEnded(5.0, 1, EndCause.BLOCKED)])
    assert (detail.first_queue, detail.last_queue, detail.queued_at) == (None, None, None)
    assert (detail.wait, detail.rings, detail.abandoned) == (0.0, 0, False)
    assert detail.cause == EndCause.BLOCKED


@pytest.mark.parametrize("cause", [EndCause.BLACKLISTED, EndCause.CLOSED,
                                   EndCause.AGENT_UNREACHABLE])
def test_a_call_routing_sent_away_is_recorded_with_its_own_cause(cause: EndCause) -> None:
    detail = only([offered(5.0), CallEnded(6.0, 1, cause)])
    assert (detail.cause, detail.abandoned, detail.queued_at) == (cause, False, None)


def test_overflow_to_voicemail_waits_until_the_end() -> None:
    detail = only(
        [
            offered(0.0),
            CallQueued(0.0, 1, "service", 0, 1),
            CallOverflowed(60.0, 1, "service", OverflowCause.MAX_WAIT, "backup"),
            CallQueued(60.0, 1, "backup", 0, 1),
            CallOverflowed(120.0, 1, "backup", OverflowCause.MAX_WAIT, "voicemail"),
            CallEnded(120.0, 1, EndCause.VOICEMAIL),
        ]
    )
    assert (detail.first_queue, detail.last_queue, detail.overflows) == ("service", "backup", 2)
    assert (detail.wait, detail.abandoned, detail.answered_at) == (120.0, False, None)


def test_held_and_transferred_call_counts_talk_per_agent_and_hold_until_transfer() -> None:
    detail = only(
        [
            offered(0.0),
            CallQueued(0.0, 1, "service", 0, 1),
            AgentRung(0.0, 1, "service", "a1"),
            CallAnswered(2.0, 1, "service", "a1", 2.0),
            CallHeld(10.0, 1, "a1"),
            CallResumed(25.0, 1, "a1"),
            CallHeld(30.0, 1, "a1"),
            CallTransferred(35.0, 1, "a1", "backup"),  # hold ends with the transfer
            CallQueued(35.0, 1, "backup", 0, 1),
            AgentRung(40.0, 1, "backup", "a3"),
            CallAnswered(42.0, 1, "backup", "a3", 42.0),
            CallEnded(62.0, 1, EndCause.AGENT_HANGUP),
        ]
    )
    assert (detail.answered_at, detail.agent, detail.wait) == (2.0, "a3", 2.0)
    assert (detail.talk, detail.hold) == (33.0 + 20.0, 15.0 + 5.0)
    assert (detail.transfers, detail.rings, detail.last_queue) == (1, 2, "backup")


def test_hold_still_open_ends_with_the_call() -> None:
    detail = only(
        [
            offered(0.0),
            CallQueued(0.0, 1, "service", 0, 1),
            CallAnswered(1.0, 1, "service", "a1", 1.0),
            CallHeld(5.0, 1, "a1"),
            CallEnded(9.0, 1, EndCause.CALLER_HANGUP),
        ]
    )
    assert (detail.talk, detail.hold) == (8.0, 4.0)


def test_interleaved_calls_each_get_their_own_record_when_they_end() -> None:
    builder = CdrBuilder()
    records: list[Record] = [
        AgentStateChanged(0.0, "a1", AgentState.READY, "", 0),
        offered(0.0, call=1),
        offered(1.0, call=2),
        CallQueued(1.0, 2, "service", 0, 1),
        CallEnded(2.0, 2, EndCause.ABANDONED),
        CallEnded(3.0, 1, EndCause.NO_ROUTE),
    ]
    ended = [builder.feed(r) for r in records]
    assert [d.call if d else None for d in ended] == [None, None, None, None, 2, 1]
    assert builder.open_calls == 0


def test_records_of_calls_offered_before_the_builder_started_are_ignored() -> None:
    builder = CdrBuilder()
    stray = [CallQueued(1.0, 7, "service", 0, 1), CallEnded(2.0, 7, EndCause.ABANDONED)]
    assert list(builder.feed_all(stray)) == []


def test_open_calls_are_those_offered_and_not_ended() -> None:
    builder = CdrBuilder()
    list(builder.feed_all([offered(0.0, call=1), offered(1.0, call=2), CallEnded(2.0, 1, "busy")]))
    assert builder.open_calls == 1


# --- simulated runs ---------------------------------------------------------------


def ended_calls_only(records: list[Record]) -> list[Record]:
    """The records without the calls still up when the run stopped (agent records kept)."""
    ended = {r.call for r in records if type(r) is CallEnded}
    return [r for r in records if type(r) is AgentStateChanged or r.call in ended]


def test_simulated_run_gives_one_record_per_call_agreeing_with_the_kpis(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    experiment = Experiment(EVENTFUL_SITE, hours=3, seed=2, events_path=events)
    report = run_once(experiment)
    records = read_jsonl(events.read_text(encoding="utf-8").splitlines())

    builder = CdrBuilder()
    details = list(builder.feed_all(records))
    offers = [r.call for r in records if type(r) is CallOffered]
    assert report.center.offered == len(offers) == len(details) + builder.open_calls
    assert sorted(d.call for d in details) == sorted(
        r.call for r in records if type(r) is CallEnded
    )

    settings = kpi_settings(EVENTFUL_SITE, 0.0, experiment.hours * 3600.0)
    center = compute_kpis(ended_calls_only(records), settings).center
    answered = [d for d in details if d.answered_at is not None]
    assert center.offered == len(details)
    assert center.answered == len(answered)
    assert center.abandoned == sum(d.abandoned for d in details)
    assert center.blocked == sum(d.cause == EndCause.BLOCKED for d in details)
    # The center counts an outcome for unanswered calls only (answered is the outcome).
    unanswered = [d for d in details if d.answered_at is None]
    assert center.voicemail == sum(d.cause == EndCause.VOICEMAIL for d in unanswered)
    assert center.busy == sum(d.cause == EndCause.BUSY for d in unanswered)
    assert center.transferred == sum(d.transfers > 0 for d in details)
    assert center.held == sum(d.hold > 0 for d in details)
    assert center.asa == pytest.approx(sum(d.wait for d in answered) / len(answered))
    assert center.att is not None and center.avg_hold_time is not None
    assert center.att * center.handled == pytest.approx(sum(d.talk for d in details))
    assert center.avg_hold_time * center.held == pytest.approx(sum(d.hold for d in details))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_every_detail_record_is_consistent(seed: int) -> None:
    world = World(EVENTFUL_SITE, RunSpec(hours=1, seed=seed))
    records = world.run().records
    builder = CdrBuilder()
    details = list(builder.feed_all(records))
    offers = sum(type(r) is CallOffered for r in records)
    assert len(details) + builder.open_calls == offers
    assert len({d.call for d in details}) == len(details)
    for d in details:
        check_detail(d)


def check_detail(d: CallDetail) -> None:
    assert d.offered_at <= d.ended_at
    assert d.wait >= 0 and d.talk >= 0 and d.hold >= 0
    assert d.hold <= d.talk + 1e-9  # a call is held only while an agent has it
    assert d.ring_no_answers <= d.rings
    assert (d.answered_at is None) == (d.agent is None)
    assert (d.queued_at is None) == (d.first_queue is None) == (d.last_queue is None)
    if d.answered_at is not None:
        assert d.queued_at is not None
        assert d.queued_at <= d.answered_at <= d.ended_at
        assert d.wait == pytest.approx(d.answered_at - d.queued_at)
    else:
        assert d.talk == 0 and d.transfers == 0
    if d.abandoned:
        assert d.cause == EndCause.ABANDONED


def test_each_partys_latest_media_figures_go_into_the_detail_record() -> None:
    detail = only(
        [
            offered(10.0),
            CallQueued(10.0, 1, "service", 0, 1),
            CallAnswered(12.0, 1, "service", "a1", 2.0),
            # A transfer ended the first conversation; the figures at the end are the call's.
            MediaQuality(40.0, 1, "caller", 1400, 0, 1.0, 2.0, 30.0, 0),
            MediaQuality(40.0, 1, "agent", 1390, 3, 1.5, 4.0, None, None),
            MediaQuality(70.0, 1, "caller", 2900, 2, 1.2, 2.5, 31.5, 1),
            CallEnded(70.0, 1, EndCause.CALLER_HANGUP),
        ]
    )
    assert (detail.caller_packets, detail.caller_lost, detail.caller_jitter_ms,
            detail.caller_jitter_max_ms, detail.caller_rtt_ms, detail.caller_reported_lost) == (
        2900, 2, 1.2, 2.5, 31.5, 1)
    assert (detail.agent_packets, detail.agent_lost, detail.agent_rtt_ms) == (1390, 3, None)


def test_a_call_without_media_figures_has_none() -> None:
    detail = only([offered(10.0), CallEnded(11.0, 1, EndCause.ABANDONED)])
    assert detail.caller_packets is None and detail.agent_rtt_ms is None
