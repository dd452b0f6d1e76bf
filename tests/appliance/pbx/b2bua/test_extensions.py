"""Calls between phones through the B2BUA over a simulated network."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.events import (
    AgentStateChanged,
    CallOffered,
    ExtensionCallAnswered,
    ExtensionCallEnded,
    ExtensionCallStarted,
)
from sim.sipua import offer_sdp
from tests.appliance.pbx.b2bua.harness import Lab, live_site, media_plane


def kinds(events):
    return [event.kind for event in events]


def lab_of(agents=2, lines=None, **sip):
    """`lines`: the line appearances of each phone, by user (default 4)."""
    phone = {user: {"lines": count} for user, count in (lines or {}).items()}
    lab = Lab(live_site(agents=agents, sip={"extension_ring_timeout": 20, **sip},
                        phone=phone))
    lab.register_all()
    return lab


def rung(lab, user):
    phone = lab.phones[user]
    assert kinds(phone.take_events()) == ["incoming"]
    return phone, next(c for c in phone.calls.values() if c.state == "incoming")


def ended(lab):
    return [r.cause for r in lab.log if isinstance(r, ExtensionCallEnded)]


def state(lab, agent):
    return lab.box.cc.acd.agents[agent].state.value


def test_a_phone_calls_another_and_either_side_hangs_up():
    lab = lab_of()
    a1 = lab.phones["a1"]
    call = lab.do(a1, "call", "a2")
    lab.run(1)
    a2, incoming = rung(lab, "a2")
    assert incoming.invite.headers.get("From").startswith('"a1"')
    assert state(lab, "a1") == state(lab, "a2") == "not_ready"  # busy for the queues
    lab.do(a2, "answer", incoming.id)
    lab.run(1)
    assert kinds(a1.take_events()) == ["ringing", "answered"]
    lab.run(60)
    lab.do(a2, "hangup", incoming.id)
    lab.run(1)
    assert kinds(a1.take_events()) == ["ended_by_peer"]
    assert a1.calls[call].state == "ended"
    assert ended(lab) == ["callee_hangup"]
    assert state(lab, "a1") == state(lab, "a2") == "ready"
    assert not any(isinstance(r, CallOffered) for r in lab.log)  # no queue call counted
    assert lab.box.legs.empty


def test_the_caller_hangs_up_after_the_answer():
    lab = lab_of()
    call = lab.do(lab.phones["a1"], "call", "a2")
    lab.run(1)
    a2, incoming = rung(lab, "a2")
    lab.do(a2, "answer", incoming.id)
    lab.run(1)
    lab.do(lab.phones["a1"], "hangup", call)
    lab.run(1)
    assert kinds(a2.take_events()) == ["ended_by_peer"]
    assert ended(lab) == ["caller_hangup"]
    types = [type(r) for r in lab.log if type(r).__name__.startswith("Extension")]
    assert types == [ExtensionCallStarted, ExtensionCallAnswered, ExtensionCallEnded]


def test_a_cancel_stops_the_ring():
    lab = lab_of()
    call = lab.do(lab.phones["a1"], "call", "a2")
    lab.run(1)
    a2, incoming = rung(lab, "a2")
    lab.do(lab.phones["a1"], "hangup", call)
    lab.run(2)
    assert lab.phones["a1"].calls[call].status == 487
    assert a2.calls[incoming.id].state == "ended"
    assert ended(lab) == ["cancelled"]
    assert state(lab, "a1") == state(lab, "a2") == "ready"
    assert lab.box.legs.empty


def test_no_answer_ends_with_480_after_the_ring_timeout():
    lab = lab_of()
    call = lab.do(lab.phones["a1"], "call", "a2")
    lab.run(19)
    assert lab.phones["a1"].calls[call].status == 0
    lab.run(3)
    assert lab.phones["a1"].calls[call].status == 480
    assert ended(lab) == ["no_answer"]
    assert state(lab, "a2") == "ready"


def test_busy_callee_refusal_and_a_phone_with_every_line_in_use_are_486():
    lab = lab_of(agents=3, lines={"a2": 1})
    lab.do(lab.phones["a1"], "call", "a2")
    lab.run(1)
    a2, incoming = rung(lab, "a2")
    lab.do(a2, "answer", incoming.id)
    lab.run(1)
    third = lab.do(lab.phones["a3"], "call", "a2")
    lab.run(1)
    assert lab.phones["a3"].calls[third].status == 486  # a2's one line is in use
    lab.do(lab.phones["a2"], "hangup", incoming.id)
    lab.run(1)
    lab.phones["a1"].take_events()
    fourth = lab.do(lab.phones["a3"], "call", "a1")
    lab.run(1)
    a1, ring = rung(lab, "a1")
    lab.do(a1, "reject", ring.id)  # 486 Busy Here from the phone
    lab.run(1)
    assert lab.phones["a3"].calls[fourth].status == 486
    assert ended(lab) == ["callee_hangup", "busy"]


def test_a_phone_on_a_call_is_rung_for_another_up_to_its_lines():
    lab = lab_of(agents=4, lines={"a2": 2})
    lab.do(lab.phones["a1"], "call", "a2")
    lab.run(1)
    a2, first = rung(lab, "a2")
    lab.do(a2, "answer", first.id)
    lab.run(1)
    second = lab.do(lab.phones["a3"], "call", "a2")
    lab.run(1)
    a2, waiting = rung(lab, "a2")  # call waiting on the second line
    assert lab.box.legs.lines_in_use["a2"] == 2
    third = lab.do(lab.phones["a4"], "call", "a2")
    lab.run(1)
    assert lab.phones["a4"].calls[third].status == 486
    lab.do(a2, "answer", waiting.id)
    lab.run(1)
    assert kinds(lab.phones["a3"].take_events()) == ["ringing", "answered"]
    lab.do(a2, "hangup", first.id)
    lab.run(1)
    assert state(lab, "a2") == "not_ready"  # still on a call between phones
    lab.do(lab.phones["a3"], "hangup", second)
    lab.run(1)
    assert state(lab, "a2") == "ready" and not lab.box.legs.lines_in_use


def test_an_agent_on_a_queue_call_is_rung_and_then_paused_not_offered_a_call():
    lab = lab_of(agents=2)
    lab.box.cc.agent_not_ready(0.0, "a1", "break")
    lab.do(lab.gateway, "call", "100")
    lab.run(1)
    a2, queue_call = rung(lab, "a2")
    lab.do(a2, "answer", queue_call.id)
    lab.run(1)
    lab.do(lab.phones["a1"], "call", "a2")
    lab.run(1)
    a2, waiting = rung(lab, "a2")
    lab.do(a2, "answer", waiting.id)
    lab.run(1)
    lab.do(a2, "hangup", queue_call.id)  # the customer call ends; the colleague's goes on
    lab.run(1)
    lab.do(lab.gateway, "call", "100")
    lab.run(60)  # beyond wrap-up: paused, not offered the queued call
    assert "incoming" not in kinds(a2.take_events())
    assert state(lab, "a2") == "not_ready"
    lab.do(a2, "hangup", waiting.id)
    lab.run(2)
    assert "incoming" in kinds(a2.take_events())  # free again: the queued call rings


def test_an_unregistered_phone_is_480_and_an_outside_number_404():
    lab = Lab(live_site(agents=2))
    a1 = lab.phones["a1"]
    lab.do(a1, "register", 3600)
    lab.run(1)
    call = lab.do(a1, "call", "a2")
    lab.run(1)
    assert a1.calls[call].status == 480
    outside = lab.do(a1, "call", "0049301234567")
    lab.run(1)
    assert a1.calls[outside].status == 404
    assert not any(isinstance(r, ExtensionCallStarted) for r in lab.log)


def test_a_queue_call_waits_while_the_agent_is_on_an_internal_call():
    lab = lab_of(agents=2)
    lab.do(lab.phones["a1"], "call", "a2")
    lab.run(1)
    a2, incoming = rung(lab, "a2")
    lab.do(a2, "answer", incoming.id)
    lab.run(1)
    lab.phones["a1"].take_events()
    lab.do(lab.gateway, "call", "100")
    lab.run(5)
    assert lab.phones["a1"].take_events() == [] and a2.take_events() == []
    lab.do(a2, "hangup", incoming.id)
    lab.run(1)
    rung_now = kinds(lab.phones["a1"].take_events()) + kinds(a2.take_events())
    assert "incoming" in rung_now  # once free, the queued call rings


def test_a_paused_agent_stays_paused_after_an_internal_call():
    lab = lab_of()
    lab.do(lab.phones["a1"], "call", "*44")
    lab.run(1)
    call = lab.do(lab.phones["a1"], "call", "a2")
    lab.run(1)
    lab.do(lab.phones["a1"], "hangup", call)
    lab.run(2)
    reasons = [(r.agent, r.state.value, r.reason) for r in lab.log
               if isinstance(r, AgentStateChanged) and r.t > 1.5]
    assert ("a1", "not_ready", "internal_call") not in reasons
    assert state(lab, "a1") == "not_ready" and state(lab, "a2") == "ready"


def test_with_the_media_anchored_each_phone_sees_the_relay():
    lab = Lab(live_site(agents=2), media_for=media_plane())
    lab.register_all()
    call = lab.do(lab.phones["a1"], "call", "a2")
    lab.run(1)
    a2, incoming = rung(lab, "a2")
    assert b"10.0.0.1" in incoming.invite.body
    lab.do(a2, "answer", incoming.id)
    lab.run(1)
    assert b"10.0.0.1" in lab.phones["a1"].calls[call].remote_body
    lab.do(lab.phones["a1"], "hangup", call)
    lab.run(1)
    assert ended(lab) == ["caller_hangup"]
    assert not lab.box.media.calls


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["answer", "reject", "cancel", "caller_bye", "callee_bye",
                                 "wait"]), max_size=5))
def test_every_internal_call_ends_once_and_gives_the_agents_back(steps):
    lab = lab_of()
    call = lab.do(lab.phones["a1"], "call", "a2")
    lab.run(1)
    a2 = lab.phones["a2"]
    for step in steps:
        incoming = next(iter(a2.calls.values()), None)
        if step == "answer" and incoming is not None:
            lab.do(a2, "answer", incoming.id)
        elif step == "reject" and incoming is not None and incoming.state == "incoming":
            lab.do(a2, "reject", incoming.id)
        elif step in ("cancel", "caller_bye"):
            lab.do(lab.phones["a1"], "hangup", call)
        elif step == "callee_bye" and incoming is not None and incoming.dialog is not None:
            lab.do(a2, "hangup", incoming.id)
        lab.run(0.5 if step != "wait" else 25)
    lab.do(lab.phones["a1"], "hangup", call)
    lab.run(25)
    assert len(ended(lab)) == 1
    assert state(lab, "a1") == state(lab, "a2") == "ready"
    assert lab.box.legs.empty and not lab.box.extensions.calls


def test_a_hold_by_reinvite_reaches_the_other_phone():
    lab = lab_of()
    call = lab.do(lab.phones["a1"], "call", "a2")
    lab.run(1)
    a2, incoming = rung(lab, "a2")
    lab.do(a2, "answer", incoming.id)
    lab.run(1)
    lab.do(lab.phones["a1"], "reinvite", call, offer_sdp("10.0.1.1", 40000, "sendonly"))
    lab.run(1)
    assert kinds(a2.take_events()) == ["reinvited"]
    assert b"a=sendonly" in a2.calls[incoming.id].remote_body  # the offer relayed
