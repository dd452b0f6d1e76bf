"""The queue's pause policy: who is paused for not taking a call, and when they come back."""

from __future__ import annotations

import pytest

from appliance.events import AgentState, AgentStateChanged, RingNoAnswer
from appliance.pbx.acd.core import (
    REASON_AUTOPAUSE_OVER,
    REASON_BUSY,
    REASON_DECLINED,
    REASON_NO_ANSWER,
    REASON_UNAVAILABLE,
    REASON_UNREACHABLE,
    pauses,
)
from appliance.pbx.actions import RingAgent, StopRinging
from tests.appliance.pbx.test_callcontrol import Harness

READY, NOT_READY = AgentState.READY, AgentState.NOT_READY


def linear(agents: int = 2, **queue) -> Harness:
    return Harness(agents=agents, strategy="linear", queue=queue)


def states_of(h: Harness, agent: str) -> list[tuple[float, AgentState, str]]:
    return [(r.t, r.state, r.reason) for r in h.records(AgentStateChanged) if r.agent == agent]


@pytest.mark.parametrize(
    ("policy", "paused_for"),
    [
        ("no", set()),
        ("on_no_answer", {REASON_NO_ANSWER, REASON_UNAVAILABLE, REASON_UNREACHABLE}),
        ("on_any_failure", {REASON_NO_ANSWER, REASON_UNAVAILABLE, REASON_UNREACHABLE,
                            REASON_BUSY, REASON_DECLINED}),
    ],
)
def test_each_policy_pauses_for_the_failures_it_names(policy: str, paused_for: set) -> None:
    every = (REASON_NO_ANSWER, REASON_UNAVAILABLE, REASON_UNREACHABLE, REASON_BUSY,
             REASON_DECLINED)
    assert {reason for reason in every if pauses(policy, reason)} == paused_for


def test_by_default_a_busy_phone_sends_the_call_to_the_next_agent_and_stays_ready() -> None:
    h = linear()
    call = h.cc.offer_call(0.0, "pstn")
    assert h.actions() == [RingAgent(call, "a1", "service")]
    assert h.cc.agent_decline(0.2, "a1", call, REASON_BUSY)
    assert h.actions() == [StopRinging(call, "a1"), RingAgent(call, "a2", "service")]
    assert h.state("a1") is READY
    # The log says why a1's ring ended without a pause.
    assert states_of(h, "a1")[-1] == (0.2, READY, REASON_BUSY)
    assert h.records(RingNoAnswer) == [RingNoAnswer(0.2, call, "service", "a1")]


def test_by_default_ring_no_answer_pauses_with_the_reason() -> None:
    h = linear(ring_timeout=10)
    call = h.cc.offer_call(0.0, "pstn")
    h.actions()
    h.at(10.0)
    assert h.state("a1") is NOT_READY
    assert states_of(h, "a1")[-1] == (10.0, NOT_READY, REASON_NO_ANSWER)
    assert RingAgent(call, "a2", "service") in h.actions()


def test_an_agent_who_refused_is_not_rung_for_that_call_until_retry_is_over() -> None:
    h = linear(agents=1, retry=5)
    call = h.cc.offer_call(0.0, "pstn")
    h.actions()
    h.cc.agent_decline(1.0, "a1", call, REASON_BUSY)
    assert h.actions() == [StopRinging(call, "a1")]
    assert h.cc.acd.refused_by(call) == {"a1"}
    h.at(5.9)
    assert h.actions() == []
    h.at(6.0)
    assert h.actions() == [RingAgent(call, "a1", "service")]
    assert h.cc.acd.refused_by(call) == frozenset()


def test_an_agent_who_refused_one_call_takes_the_next_one_waiting() -> None:
    h = linear(agents=1, retry=30)
    first = h.cc.offer_call(0.0, "pstn")
    h.cc.agent_decline(0.5, "a1", first, REASON_BUSY)
    second = h.cc.offer_call(1.0, "pstn")
    assert h.actions()[-1] == RingAgent(second, "a1", "service")
    assert h.cc.agent_answer(2.0, "a1", second)
    h.cc.agent_hangup(10.0, "a1")
    h.actions()
    # Ready again at 10 s, still inside the first call's refusal: not rung for it.
    assert h.state("a1") is READY
    h.at(30.5)
    assert h.actions() == [RingAgent(first, "a1", "service")]


def test_a_refused_ring_all_call_keeps_ringing_the_others() -> None:
    h = Harness(agents=3, strategy="ring_all", queue={"retry": 5})
    call = h.cc.offer_call(0.0, "pstn")
    assert len(h.actions()) == 3
    h.cc.agent_decline(0.5, "a2", call, REASON_BUSY)
    assert h.actions() == [StopRinging(call, "a2")]
    assert h.state("a2") is READY
    assert h.cc.agent_answer(1.0, "a1", call)
    assert h.cc.acd.refused_by(call) == frozenset()


def test_policy_no_keeps_an_agent_who_does_not_answer_ready() -> None:
    h = linear(autopause="no", ring_timeout=10)
    call = h.cc.offer_call(0.0, "pstn")
    h.actions()
    h.at(10.0)
    assert h.state("a1") is READY
    assert h.actions() == [StopRinging(call, "a1"), RingAgent(call, "a2", "service")]


def test_on_any_failure_pauses_a_busy_agent() -> None:
    h = linear(autopause="on_any_failure")
    call = h.cc.offer_call(0.0, "pstn")
    h.actions()
    h.cc.agent_decline(0.5, "a1", call, REASON_BUSY)
    assert h.state("a1") is NOT_READY
    assert states_of(h, "a1")[-1] == (0.5, NOT_READY, REASON_BUSY)


def test_an_automatic_pause_ends_by_itself_after_autopause_ready_after() -> None:
    h = linear(agents=1, ring_timeout=10, autopause_ready_after=30)
    call = h.cc.offer_call(0.0, "pstn")
    h.actions()
    h.at(10.0)
    assert h.state("a1") is NOT_READY
    h.at(39.9)
    assert h.state("a1") is NOT_READY
    h.at(40.0)
    # Back, said so in the log, and rung for the call still waiting.
    assert (40.0, READY, REASON_AUTOPAUSE_OVER) in states_of(h, "a1")
    assert h.actions()[-1] == RingAgent(call, "a1", "service")


@pytest.mark.parametrize("change", ["pause", "ready", "logout"])
def test_an_agent_who_acts_during_an_automatic_pause_is_not_made_ready_later(
    change: str,
) -> None:
    h = linear(agents=1, ring_timeout=10, autopause_ready_after=30)
    h.cc.offer_call(0.0, "pstn")
    h.at(10.0)
    if change == "pause":
        h.cc.agent_not_ready(20.0, "a1", "lunch")
    elif change == "ready":
        h.cc.agent_ready(20.0, "a1")
        h.cc.agent_not_ready(21.0, "a1", "lunch")
    else:
        h.cc.agent_logout(20.0, "a1")
    h.at(100.0)
    assert not any(r[2] == REASON_AUTOPAUSE_OVER for r in states_of(h, "a1"))
    assert h.state("a1") is (AgentState.LOGGED_OUT if change == "logout" else NOT_READY)


def test_a_pause_asked_for_while_ringing_wins_over_the_policy() -> None:
    h = linear(autopause="no")
    call = h.cc.offer_call(0.0, "pstn")
    h.cc.agent_not_ready(0.2, "a1", "break")
    h.cc.agent_decline(0.5, "a1", call, REASON_BUSY)
    assert h.state("a1") is NOT_READY
    assert h.cc.acd.agents["a1"].reason == "break"


def test_the_queue_of_the_call_decides() -> None:
    h = Harness(
        agents=1,
        strategy="linear",
        queue={"autopause": "no"},
        extra_queues=[{"name": "sales", "autopause": "on_any_failure"}],
        routes=[{"trunk_group": "pstn", "dnis": "200", "queue": "sales"}],
    )
    service = h.cc.offer_call(0.0, "pstn", dnis="100")
    h.cc.agent_decline(0.5, "a1", service, REASON_BUSY)
    assert h.state("a1") is READY
    h.cc.caller_hangup(1.0, service)
    sales = h.cc.offer_call(2.0, "pstn", dnis="200")
    h.cc.agent_decline(2.5, "a1", sales, REASON_BUSY)
    assert h.state("a1") is NOT_READY
