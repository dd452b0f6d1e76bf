"""Call pickup over the simulated network: a call rings agent a1's phone and a2 takes it from
their own phone, by the directed code and a1's id (``**a1``) or by the group code (``*8``):
a1's phone stops ringing (our CANCEL), a2's INVITE is answered as the call's agent leg. The
B2BUA's invariants are checked after every input."""

from __future__ import annotations

from appliance.events import (
    AgentState,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallPickedUp,
    RingNoAnswer,
)
from tests.appliance.pbx.b2bua.test_races import ringing
from tests.appliance.pbx.b2bua.test_transfer import kinds, records, transfer_lab


def pick_up(number: str, media: bool = False) -> None:
    lab = transfer_lab(media=media)
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    rung = lab.phones["a1"]
    incoming = ringing(rung)
    picker = lab.phones["a2"]
    pickup = lab.do(picker, "call", number)
    lab.run(0.5)
    assert [k for k, _ in kinds(picker)] == ["answered"]
    assert rung.calls[incoming].state == "ended"  # its ring stopped
    [picked] = records(lab, CallPickedUp)
    assert (picked.agent, picked.ringing, picked.directed) == ("a2", "a1", number != "*8")
    assert [r.agent for r in records(lab, CallAnswered)] == ["a2"]
    assert not records(lab, RingNoAnswer)  # no ring-no-answer, no pause for a1
    assert lab.box.cc.agent_status("a1").state is AgentState.READY
    assert lab.gateway.calls[call].state == "answered"
    if media:
        assert lab.box.media.calls[call].bridged
    lab.do(picker, "hangup", pickup)
    lab.run(1)
    assert [r.cause.value for r in records(lab, CallEnded)] == ["agent_hangup"]
    assert lab.box.legs.empty


def test_directed_pickup_takes_the_call_ringing_the_named_agent() -> None:
    pick_up("**a1")


def test_group_pickup_takes_the_call_ringing_a_colleague_of_the_same_queue() -> None:
    pick_up("*8")


def test_a_pickup_with_the_media_anchored_joins_the_callers_relay() -> None:
    pick_up("*8", media=True)


def test_nothing_ringing_is_refused() -> None:
    lab = transfer_lab()
    for number in ("*8", "**a1"):
        lab.do(lab.phones["a2"], "call", number)
        lab.run(0.5)
        assert kinds(lab.phones["a2"]) == [("failed", 404)]


def test_an_agent_paused_cannot_pick_up() -> None:
    lab = transfer_lab()
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    lab.box.cc.agent_not_ready(lab.net.now, "a2", "lunch")
    lab.do(lab.phones["a2"], "call", "*8")
    lab.run(0.5)
    assert kinds(lab.phones["a2"]) == [("failed", 480)]
    assert ringing(lab.phones["a1"])  # still ringing a1


def test_an_agent_in_wrap_up_may_pick_up_which_ends_their_wrap_up() -> None:
    lab = transfer_lab()
    first = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    lab.do(lab.phones["a1"], "answer", ringing(lab.phones["a1"]))
    lab.run(1)
    lab.do(lab.gateway, "hangup", first)
    lab.run(0.5)  # a1 wraps up (30 s); the next call rings a2
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    lab.phones["a1"].take_events()
    lab.do(lab.phones["a1"], "call", "**a2")
    lab.run(0.5)
    assert [k for k, _ in kinds(lab.phones["a1"])] == ["answered"]
    states = [r.state for r in records(lab, AgentStateChanged) if r.agent == "a1"]
    assert states[-4:] == [AgentState.WRAP_UP, AgentState.READY, AgentState.RINGING,
                           AgentState.TALKING]
