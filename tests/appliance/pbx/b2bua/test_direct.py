"""A call routed to one named agent, over SIP: their phone alone rings, the caller is bridged
when they answer, and a caller whose agent cannot take the call hears 480."""

from __future__ import annotations

from appliance.events import CallAnswered, CallEnded, EndCause
from appliance.pbx.acd.core import direct_target
from tests.appliance.pbx.b2bua.harness import Lab, live_site

DUTY = [{"trunk_group": "pstn", "dnis": "900", "agent": "a2"}]


def kinds(events):
    return [event.kind for event in events]


def test_the_named_agents_phone_gets_the_invite_and_the_caller_is_bridged():
    lab = Lab(live_site(agents=2, routes=DUTY))
    lab.register_all()
    call = lab.do(lab.gateway, "call", "900")
    lab.run(0.5)
    assert kinds(lab.phones["a1"].take_events()) == []  # a1 is free too, but not named
    phone = lab.phones["a2"]
    assert kinds(phone.take_events()) == ["incoming"]
    incoming = next(iter(phone.calls.values()))
    lab.do(phone, "answer", incoming.id)
    lab.run(0.5)
    assert kinds(lab.gateway.take_events()) == ["ringing", "answered"]
    [answered] = [r for r in lab.log if isinstance(r, CallAnswered)]
    assert (answered.queue, answered.agent) == (direct_target("a2"), "a2")
    lab.run(20)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert kinds(phone.take_events()) == ["ended_by_peer"]
    assert [r.cause for r in lab.log if isinstance(r, CallEnded)] == [EndCause.CALLER_HANGUP]


def test_a_named_agent_who_is_logged_out_or_does_not_answer_gets_the_caller_a_480():
    lab = Lab(live_site(agents=2, routes=DUTY, ring_timeout=5))
    lab.register_all()
    first = lab.do(lab.gateway, "call", "900")
    lab.run(6)  # a2's phone rings and nobody picks up
    assert kinds(lab.phones["a2"].take_events()) == ["incoming", "cancelled"]
    lab.do(lab.phones["a2"], "register", 0)  # a2 logs out
    lab.run(1)
    assert kinds(lab.phones["a2"].take_events()) == ["registered"]  # its expiry 0 accepted
    second = lab.do(lab.gateway, "call", "900")
    lab.run(1)
    assert kinds(lab.phones["a2"].take_events()) == []
    assert [lab.gateway.calls[c].status for c in (first, second)] == [480, 480]
    assert [r.cause for r in lab.log if isinstance(r, CallEnded)] == [
        EndCause.AGENT_UNREACHABLE, EndCause.AGENT_UNREACHABLE]
    assert lab.box.is_idle()
