"""An attended transfer's ACD step (`Acd.take_over`): the consulted agent takes the call at
once from where the consultation left them, and a pause of their own comes back after it."""

from __future__ import annotations

import pytest

from appliance.events import AgentState, CallAnswered, CallTransferred
from appliance.pbx.actions import Connect, HangUpAgent
from tests.appliance.pbx.test_callcontrol import Harness


def answered_by_a1() -> tuple[Harness, int]:
    h = Harness(agents=2, strategy="linear", wrap_up=10)
    call = h.cc.offer_call(0.0, "pstn")
    assert h.cc.agent_answer(1.0, "a1", call)
    h.actions()
    return h, call


@pytest.mark.parametrize("reason", ["internal_call", "lunch"])
def test_a_paused_agent_takes_the_call_and_their_pause_comes_back_after_it(reason: str) -> None:
    h, call = answered_by_a1()
    h.cc.agent_not_ready(2.0, "a2", reason)
    assert h.cc.agent_transfer_attended(5.0, "a1", "a2")
    acts = h.actions()
    assert HangUpAgent(call, "a1") in acts and Connect(call, "a2") in acts
    assert (h.state("a1"), h.state("a2")) == (AgentState.WRAP_UP, AgentState.TALKING)
    [transferred] = h.records(CallTransferred)
    assert (transferred.agent, transferred.target) == ("a1", "agent:a2")
    assert [(r.agent, r.wait) for r in h.records(CallAnswered)] == [("a1", 1.0), ("a2", 0.0)]
    assert h.cc.agent_hangup(60.0, "a2")
    h.at(71.0)
    assert h.state("a2") is AgentState.NOT_READY
    assert h.cc.acd.agents["a2"].reason == reason


def test_an_agent_wrapping_up_takes_it_their_wrap_up_cut_short() -> None:
    h, _ = answered_by_a1()
    other = h.cc.offer_call(2.0, "pstn")
    assert h.cc.agent_answer(3.0, "a2", other)
    assert h.cc.agent_hangup(4.0, "a2")
    assert h.cc.agent_transfer_attended(5.0, "a1", "a2")
    h.at(20.0)  # past the wrap-up a2 had (10 s from t=4): still on the call
    assert h.state("a2") is AgentState.TALKING


def test_an_agent_on_a_call_or_oneself_cannot_take_it() -> None:
    h, _ = answered_by_a1()
    other = h.cc.offer_call(2.0, "pstn")
    assert h.cc.agent_answer(3.0, "a2", other)
    assert not h.cc.agent_transfer_attended(5.0, "a1", "a2")
    assert not h.cc.agent_transfer_attended(5.0, "a1", "a1")
    assert h.records(CallTransferred) == []
