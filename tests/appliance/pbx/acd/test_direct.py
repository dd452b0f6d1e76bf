"""A call rung on one named agent outside any queue (a route's or an IVR exit's `agent:`)."""

from __future__ import annotations

import pytest
import yaml

from appliance.config import parse_site
from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallQueued,
    EndCause,
    RingNoAnswer,
)
from appliance.kpi import KpiSettings, compute_kpis
from appliance.pbx.acd.core import REASON_BUSY, REASON_NO_ANSWER, direct_target
from appliance.pbx.actions import Connect, HangUpCaller, RingAgent, StopRinging, WrapUp
from appliance.reduce import EventReducer, Outcome, ReductionListener
from tests.appliance.pbx.test_callcontrol import Harness
from tests.factories import site_dict

READY, NOT_READY = AgentState.READY, AgentState.NOT_READY
DUTY = "900"  # the number that rings a1, the agent on duty
TARGET = direct_target("a1")


def duty(**site) -> Harness:
    """Two agents of queue `service` (ring timeout 15 s, wrap-up 10 s); calls to 900 ring a1."""
    site = {"agents": 2, "wrap_up": 10, "ring_timeout": 15, **site}
    routes = [{"trunk_group": "pstn", "dnis": DUTY, "agent": "a1"}]
    return Harness(routes=routes, **site)


def call_duty(h: Harness, t: float = 0.0) -> int:
    return h.cc.offer_call(t, "pstn", "5551234", DUTY)


class _Outcomes(ReductionListener):
    def __init__(self) -> None:
        self.outcomes: dict[int, Outcome] = {}

    def call_closed(self, call) -> None:
        self.outcomes[call.offered.call] = call.outcome


def outcome(h: Harness, call: int) -> Outcome:
    """The call's outcome as the one reducer reads the log."""
    listener = _Outcomes()
    EventReducer(listener).feed_all(h.log.records)
    return listener.outcomes[call]


def test_a_ready_agent_is_rung_and_the_answered_call_goes_as_a_queue_call_does() -> None:
    h = duty()
    call = call_duty(h)
    assert h.actions() == [RingAgent(call, "a1", TARGET)]
    assert h.records(CallQueued) == [CallQueued(0.0, call, TARGET, 0, 1)]
    assert h.records(AgentRung) == [AgentRung(0.0, call, TARGET, "a1")]
    h.at(4.0)
    assert h.cc.agent_answer(4.0, "a1", call)
    assert h.actions() == [Connect(call, "a1")]
    assert h.records(CallAnswered) == [CallAnswered(4.0, call, TARGET, "a1", 4.0)]
    assert h.cc.agent_hold(5.0, "a1") and h.cc.agent_resume(6.0, "a1")
    assert h.cc.agent_hangup(60.0, "a1")
    assert h.actions() == [HangUpCaller(call, EndCause.AGENT_HANGUP), WrapUp("a1", call, 70.0)]
    h.at(70.0)
    assert h.state("a1") is READY
    assert outcome(h, call) is Outcome.ANSWERED


@pytest.mark.parametrize("unavailable", ["busy", "not_ready", "logged_out", "ringing"])
def test_an_agent_not_ready_is_not_rung_and_the_call_ends_unreachable(unavailable) -> None:
    h = duty()
    if unavailable == "busy":
        queue_call = h.cc.offer_call(0.0, "pstn")  # rings a1 first (longest idle, a1 first)
        assert h.cc.agent_answer(0.0, "a1", queue_call)
    elif unavailable == "ringing":
        h.cc.offer_call(0.0, "pstn")
    elif unavailable == "not_ready":
        h.cc.agent_not_ready(0.0, "a1", "lunch")
    else:
        h.cc.agent_logout(0.0, "a1")
    h.actions()
    before = h.state("a1")
    call = call_duty(h, 1.0)
    assert h.actions() == [HangUpCaller(call, EndCause.AGENT_UNREACHABLE)]
    assert h.records(CallEnded)[-1] == CallEnded(1.0, call, EndCause.AGENT_UNREACHABLE)
    assert not [r for r in h.records(CallQueued) if r.call == call]
    assert h.state("a1") is before and call not in h.cc.calls
    assert outcome(h, call) is Outcome.AGENT_UNREACHABLE


def test_no_answer_in_the_ring_timeout_ends_the_call_and_frees_the_agent_unpaused() -> None:
    h = duty()
    call = call_duty(h)
    h.actions()
    h.at(14.9)
    assert h.actions() == []
    h.at(15.0)  # the ring timeout of a1's queue
    assert h.actions() == [StopRinging(call, "a1"),
                           HangUpCaller(call, EndCause.AGENT_UNREACHABLE)]
    assert h.records(RingNoAnswer) == [RingNoAnswer(15.0, call, TARGET, "a1")]
    assert h.records(CallEnded) == [CallEnded(15.0, call, EndCause.AGENT_UNREACHABLE)]
    # The queue's autopause is for its own calls: a1 is ready at once, the reason logged.
    assert h.state("a1") is READY
    assert h.records(AgentStateChanged)[-1] == AgentStateChanged(15.0, "a1", READY,
                                                                 REASON_NO_ANSWER, 0)
    assert outcome(h, call) is Outcome.AGENT_UNREACHABLE
    assert h.cc.next_deadline() is None and h.cc.trunks.busy["pstn"] == 0


def test_a_refused_ring_ends_the_call_at_once() -> None:
    h = duty()
    call = call_duty(h)
    h.actions()
    assert h.cc.agent_decline(2.0, "a1", call, REASON_BUSY)
    assert h.actions() == [StopRinging(call, "a1"),
                           HangUpCaller(call, EndCause.AGENT_UNREACHABLE)]
    assert h.state("a1") is READY and call not in h.cc.calls


def test_an_agent_who_logs_out_while_rung_is_logged_out_and_the_call_ends() -> None:
    h = duty()
    call = call_duty(h)
    h.actions()
    assert h.cc.agent_logout(2.0, "a1")
    assert h.state("a1") is AgentState.LOGGED_OUT
    assert h.records(CallEnded) == [CallEnded(2.0, call, EndCause.AGENT_UNREACHABLE)]


def test_the_caller_hanging_up_while_it_rings_is_an_abandon() -> None:
    h = duty()
    call = call_duty(h)
    h.actions()
    assert h.cc.caller_hangup(3.0, call)
    assert h.actions() == [StopRinging(call, "a1")]
    assert h.records(CallAbandoned) == [CallAbandoned(3.0, call, TARGET, 1, 3.0)]
    assert h.state("a1") is READY
    assert outcome(h, call) is Outcome.ABANDONED


def test_the_agent_gets_no_queue_call_while_rung_or_talking_and_gets_one_after() -> None:
    h = duty(wrap_up=0)
    direct = call_duty(h)
    h.actions()
    queue_call = h.cc.offer_call(1.0, "pstn")
    assert h.actions() == [RingAgent(queue_call, "a2", "service")]
    assert h.cc.agent_answer(2.0, "a1", direct)
    h.actions()
    waiting = h.cc.offer_call(3.0, "pstn")
    assert h.actions() == []  # a2 rings for queue_call, a1 talks: nobody is free
    assert h.cc.agent_hangup(9.0, "a1")
    assert h.actions() == [HangUpCaller(direct, EndCause.AGENT_HANGUP),
                           RingAgent(waiting, "a1", "service")]


def test_the_agent_may_transfer_the_call_to_a_queue() -> None:
    h = duty(wrap_up=0)
    call = call_duty(h)
    h.cc.agent_answer(1.0, "a1", call)
    h.actions()
    assert h.cc.agent_transfer(5.0, "a1", "service")
    assert RingAgent(call, "a2", "service") in h.actions()
    assert [r.queue for r in h.records(CallQueued)] == [TARGET, "service"]


def test_a_site_that_never_rings_one_agent_has_no_direct_row_and_one_that_does_has_it() -> None:
    settings = KpiSettings(interval=3600.0)
    plain = Harness(agents=2)
    plain.cc.offer_call(0.0, "pstn")
    assert set(compute_kpis(plain.log.records, settings).queues) == {"service"}
    h = duty()
    call = call_duty(h)
    h.cc.offer_call(1.0, "pstn")
    h.at(16.0)
    report = compute_kpis(h.log.records, settings)
    assert set(report.queues) == {"service", TARGET}
    row = report.queues[TARGET]
    # Rung and not taken: it left the agent's target by rule, not abandoned by the caller.
    assert (row.offered, row.overflowed_out, row.abandoned) == (1, 1, 0)
    assert report.center.agent_unreachable == 1 and call not in h.cc.calls


def test_the_ring_and_wrap_up_are_those_of_the_agents_first_queue() -> None:
    h = duty()
    # From now a1 serves only `sales`, whose phones ring 30 s and wrap up 5 s.
    data = site_dict(agents=2, wrap_up=10, ring_timeout=15,
                     extra_queues=[{"name": "sales", "ring_timeout": 30, "wrap_up": 5}],
                     routes=[{"trunk_group": "pstn", "dnis": DUTY, "agent": "a1"}])
    data["agents"] = [{"id": "a1", "skills": {"sales": 5}},
                      {"id": "a2", "skills": {"service": 5}}]
    h.cc.reload(parse_site(yaml.safe_dump(data)), 0.0)
    call = call_duty(h)
    h.at(29.0)
    assert call in h.cc.calls
    assert h.cc.agent_answer(29.0, "a1", call)
    assert h.cc.agent_hangup(40.0, "a1")
    assert WrapUp("a1", call, 45.0) in h.actions()
    late = call_duty(h.at(50.0), 50.0)
    h.at(79.9)
    assert late in h.cc.calls
    h.at(80.0)
    assert h.records(CallEnded)[-1] == CallEnded(80.0, late, EndCause.AGENT_UNREACHABLE)
