"""Blind transfer to another agent by REFER (Refer-To: the agent's id), over the simulated
network: the target rung alone, the refusals that leave the call with its agent, and the
way a target who does not take the call gives it back - to the transferring agent, then to
the queue it came from, its wait kept."""

from __future__ import annotations

from appliance.events import (
    AgentRung,
    CallAnswered,
    CallEnded,
    CallQueued,
    CallTransferred,
    EndCause,
)
from appliance.records.cdr import call_details
from tests.appliance.pbx.b2bua.test_races import ringing
from tests.appliance.pbx.b2bua.test_transfer import (
    kinds,
    records,
    refused,
    still_talking,
    talking,
    transfer_lab,
)


def test_blind_transfer_to_an_agent_rings_them_alone_and_puts_the_caller_through() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    lab.do(lab.phones["a1"], "refer", incoming, "a2")
    lab.run(0.5)
    assert kinds(lab.phones["a1"]) == [("refer_accepted", 202), ("transfer_notified", 200),
                                       ("ended_by_peer", 0)]
    assert [r.target for r in records(lab, CallTransferred)] == ["agent:a2"]
    second = lab.phones["a2"]
    lab.do(second, "answer", ringing(second))
    lab.run(0.5)
    assert [r.agent for r in records(lab, CallAnswered)] == ["a1", "a2"]
    assert kinds(lab.gateway) == [("reinvited", 0)]
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    [detail] = call_details(lab.log)
    assert (detail.agent, detail.transfers) == ("a2", 1)
    lab.settle()


def test_an_agent_on_a_call_is_busy_and_the_call_stays_with_the_transferring_agent() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    lab.box.cc.agent_not_ready(lab.net.now, "a2", "lunch")
    assert refused(lab, lab.phones["a1"], incoming, "a2") == 486
    still_talking(lab, call)


def test_an_agent_whose_phone_is_not_registered_gets_480() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    lab.do(lab.phones["a2"], "register", 0)
    lab.run(1)
    lab.phones["a2"].take_events()
    assert refused(lab, lab.phones["a1"], incoming, "a2") == 480
    still_talking(lab, call)


def test_a_transfer_to_oneself_is_no_target() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    assert refused(lab, lab.phones["a1"], incoming, "a1") == 404
    still_talking(lab, call)


def test_a_target_who_does_not_answer_gives_the_call_back_to_the_transferring_agent() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    first = lab.phones["a1"]
    lab.do(first, "refer", incoming, "a2")
    lab.run(16)  # past a2's ring timeout (15 s); a1 is in wrap-up (30 s)
    assert [r.agent for r in records(lab, AgentRung)] == ["a1", "a2", "a1"]
    first.take_events()
    lab.do(first, "answer", ringing(first))
    lab.run(0.5)
    assert [r.agent for r in records(lab, CallAnswered)] == ["a1", "a1"]
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.cause for r in records(lab, CallEnded)] == [EndCause.CALLER_HANGUP]
    lab.settle()


def test_a_call_nobody_takes_back_returns_to_its_queue_keeping_its_wait() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    lab.do(lab.phones["a1"], "refer", incoming, "a2")
    lab.run(31)  # a2 and then a1 let it ring (15 s each)
    # Back in line, it rings the queue's first free agent as any call there would.
    assert [r.agent for r in records(lab, AgentRung)] == ["a1", "a2", "a1", "a1"]
    assert [r.queue for r in records(lab, CallQueued)] == [
        "service", "agent:a2", "agent:a1", "service"]
    box = lab.box
    assert box.cc.calls[1].carried_wait > 0  # its first wait counts for its place in line
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.cause for r in records(lab, CallEnded)] == [EndCause.ABANDONED]
    lab.settle()

