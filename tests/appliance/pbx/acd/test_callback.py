"""Callback keeping the caller's place: the request, the order served, the attempts."""

from __future__ import annotations

from appliance.events import (
    AgentState,
    CallAbandoned,
    CallAnswered,
    CallbackFailed,
    CallbackGivenUp,
    CallbackOffered,
    CallbackPlaced,
    CallbackRequested,
    CallEnded,
    EndCause,
)
from appliance.kpi import KpiSettings, compute_kpis
from appliance.pbx.actions import (
    CancelCallback,
    Connect,
    OfferCallback,
    PlaceCallback,
    PlayPrompts,
    ReleaseAgent,
    ReleaseCaller,
    RingAgent,
)
from tests.appliance.pbx.test_callcontrol import Harness

READY = AgentState.READY


def harness(**callback) -> Harness:
    """One agent, logged in but not ready (so that callers wait), callback on key 1."""
    h = Harness(agents=1, login=False, queue={"callback": {"key": "1", **callback}})
    h.cc.agent_login(0.0, "a1", ready=False, reason="break")
    h.actions()
    return h


def request(h: Harness, now: float, ani: str = "5551234") -> int:
    call = h.cc.offer_call(now, "pstn", ani)
    h.cc.caller_digit(now + 1, call, "1")
    h.cc.caller_digit(now + 2, call, "1")
    return call


def test_the_caller_confirms_their_number_and_the_trunk_is_freed() -> None:
    h = harness()
    call = h.cc.offer_call(0.0, "pstn", "5551234")
    h.cc.caller_digit(5.0, call, "1")
    played = [a for a in h.actions() if isinstance(a, PlayPrompts)]
    assert played[0].names == ("callback-number", "digit-5", "digit-5", "digit-5", "digit-1",
                               "digit-2", "digit-3", "digit-4", "callback-confirm")
    h.cc.caller_digit(6.0, call, "1")
    assert ReleaseCaller(call, "5551234") in h.actions()
    assert h.records(CallbackRequested) == [CallbackRequested(6.0, call, "service", "5551234")]
    assert h.cc.trunks.busy["pstn"] == 0
    assert h.records(CallAbandoned) == []


def test_two_then_another_number_and_hash() -> None:
    h = harness()
    call = h.cc.offer_call(0.0, "pstn", "5551234")
    for t, key in enumerate("12987#1", start=1):
        h.cc.caller_digit(float(t), call, key)
    assert h.records(CallbackRequested)[0].number == "987"


def test_the_offer_comes_after_offer_after() -> None:
    h = harness(offer_after=60)
    call = h.cc.offer_call(0.0, "pstn")
    h.at(59.0)
    assert h.actions() == []
    h.at(60.0)
    assert h.actions() == [OfferCallback(call, "service", "1")]
    assert h.records(CallbackOffered) == [CallbackOffered(60.0, call, "service")]


def test_agent_first_rings_the_agent_then_calls_the_customer_then_connects() -> None:
    h = harness()
    call = request(h, 0.0)
    h.actions()
    h.cc.agent_ready(100.0, "a1")
    assert h.actions() == [RingAgent(call, "a1", "service")]
    h.cc.agent_answer(102.0, "a1", call)
    assert h.actions() == [PlaceCallback(call, "5551234", "pstn", "a1")]
    assert h.cc.trunks.busy["pstn"] == 1
    assert h.cc.callback_answered(110.0, call)
    assert h.actions() == [Connect(call, "a1")]
    assert h.records(CallAnswered) == [CallAnswered(110.0, call, "service", "a1", 110.0)]
    h.cc.agent_hangup(200.0, "a1")
    assert h.records(CallEnded) == [CallEnded(200.0, call, EndCause.AGENT_HANGUP)]
    assert h.cc.trunks.busy["pstn"] == 0


def test_a_callback_is_served_before_a_caller_who_joined_later() -> None:
    h = harness()
    first = request(h, 0.0)
    later = h.cc.offer_call(10.0, "pstn")
    h.actions()
    h.cc.agent_ready(100.0, "a1")
    assert h.actions() == [RingAgent(first, "a1", "service")]
    assert later in h.cc.calls


def test_no_answer_frees_the_agent_unpaused_and_retries_in_place_then_gives_up() -> None:
    h = harness(attempts=2, retry_after=60, ring_timeout=30)
    call = request(h, 0.0)
    h.cc.agent_ready(100.0, "a1")
    h.cc.agent_answer(101.0, "a1", call)
    h.actions()
    h.at(131.0)
    assert h.actions() == [CancelCallback(call), ReleaseAgent(call, "a1")]  # off the line
    assert h.state("a1") is READY
    assert h.records(CallbackFailed) == [CallbackFailed(131.0, call, 1, "no_answer")]
    later = h.cc.offer_call(140.0, "pstn")  # joins later, rung while the entry waits out retry
    assert h.actions() == [RingAgent(later, "a1", "service")]
    h.cc.agent_decline(141.0, "a1", later, "busy")
    h.actions()
    h.cc.agent_not_ready(141.0, "a1", "break")
    h.at(191.0)
    h.cc.agent_ready(200.0, "a1")
    assert h.actions() == [RingAgent(call, "a1", "service")]  # ahead of `later` again
    h.cc.agent_answer(201.0, "a1", call)
    assert h.cc.callback_failed(205.0, call, busy=True)
    assert h.records(CallbackGivenUp) == [CallbackGivenUp(205.0, call, 2)]
    assert CallEnded(205.0, call, EndCause.CALLBACK_GIVEN_UP) in h.records(CallEnded)
    assert h.cc.trunks.busy["pstn"] == 1  # `later` alone


def test_caller_first_calls_the_customer_then_rings_the_agent() -> None:
    h = harness(mode="caller_first")
    call = request(h, 0.0)
    h.actions()
    h.cc.agent_ready(100.0, "a1")
    assert h.actions() == [PlaceCallback(call, "5551234", "pstn", "")]
    assert h.records(CallbackPlaced) == [CallbackPlaced(100.0, call, "5551234", 1, "")]
    h.cc.callback_answered(105.0, call)
    assert h.actions() == [RingAgent(call, "a1", "service")]
    h.cc.agent_answer(106.0, "a1", call)
    assert h.actions() == [Connect(call, "a1")]
    assert h.records(CallAnswered)[0].wait == 106.0


def test_caller_first_holds_the_free_agent_from_a_later_caller_while_the_customer_is_called(
) -> None:
    h = harness(mode="caller_first", retry_after=60)
    call = request(h, 0.0)
    h.cc.agent_ready(100.0, "a1")
    h.actions()
    later = h.cc.offer_call(101.0, "pstn")
    assert h.actions() == []  # a1 waits for the customer called back
    h.cc.callback_answered(105.0, call)
    assert h.actions() == [RingAgent(call, "a1", "service")]
    h.cc.agent_answer(106.0, "a1", call)
    assert [r.call for r in h.records(CallAnswered)] == [call]
    assert later in h.cc.calls


def test_a_failed_caller_first_attempt_frees_the_held_agent_for_the_next_caller() -> None:
    h = harness(mode="caller_first", retry_after=60)
    call = request(h, 0.0)
    h.cc.agent_ready(100.0, "a1")
    h.actions()
    later = h.cc.offer_call(101.0, "pstn")
    h.actions()
    h.cc.callback_failed(103.0, call, busy=True)
    assert h.actions() == [RingAgent(later, "a1", "service")]


def test_the_agent_hanging_up_while_it_rings_is_a_failed_attempt() -> None:
    h = harness()
    call = request(h, 0.0)
    h.cc.agent_ready(100.0, "a1")
    h.cc.agent_answer(101.0, "a1", call)
    h.actions()
    assert h.cc.agent_hangup(105.0, "a1")
    assert h.actions()[0] == CancelCallback(call)
    assert h.records(CallbackFailed)[0].reason == "agent_hangup"
    assert h.cc.trunks.busy["pstn"] == 0


def test_kpis_count_a_callback_by_when_it_connected_and_never_as_an_abandon() -> None:
    h = harness(attempts=1)
    connected = request(h, 0.0)
    given_up = request(h, 1.0, ani="5550000")
    h.cc.agent_ready(10.0, "a1")
    h.cc.agent_answer(11.0, "a1", connected)
    h.cc.callback_answered(15.0, connected)
    h.cc.agent_hangup(100.0, "a1")
    h.cc.agent_ready(100.0, "a1")
    h.cc.agent_answer(101.0, "a1", given_up)
    h.cc.callback_failed(102.0, given_up)
    center = compute_kpis(h.log.records, KpiSettings(interval=3600.0)).center
    assert (center.offered, center.answered, center.abandoned) == (2, 1, 0)
    assert (center.callbacks_requested, center.callbacks_connected,
            center.callback_given_up) == (2, 1, 1)
    assert center.asa == 15.0
