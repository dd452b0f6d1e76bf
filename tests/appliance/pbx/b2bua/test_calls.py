"""Calls through the B2BUA over a simulated network: the situations of a call center."""

from __future__ import annotations

import pytest

from appliance.events import AgentRung, CallAnswered, CallEnded, EndCause
from tests.appliance.pbx.b2bua.harness import Lab, live_site


def kinds(events):
    return [event.kind for event in events]


def test_registered_phone_logs_agent_in_and_takes_a_queued_call():
    lab = Lab(live_site(agents=1))
    lab.register_all()
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones["a1"]
    assert kinds(phone.take_events()) == ["incoming"]
    incoming = next(iter(phone.calls.values()))
    lab.do(phone, "answer", incoming.id)
    lab.run(0.5)
    assert kinds(lab.gateway.take_events()) == ["ringing", "answered"]
    lab.run(30)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert kinds(phone.take_events()) == ["ended_by_peer"]
    answered = [r for r in lab.log if isinstance(r, CallAnswered)]
    ended = [r for r in lab.log if isinstance(r, CallEnded)]
    assert [a.agent for a in answered] == ["a1"]
    assert [e.cause for e in ended] == [EndCause.CALLER_HANGUP]
    assert lab.box.is_idle() or not lab.box.legs.dialogs


def answered_call(lab, agent="a1"):
    """A gateway call answered by `agent`; returns (gateway call id, phone call id)."""
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    phone = lab.phones[agent]
    incoming = [c for c in phone.calls.values() if c.state == "incoming"][-1]
    lab.do(phone, "answer", incoming.id)
    lab.run(0.5)
    return call, incoming.id


def causes(lab):
    return [r.cause for r in lab.log if isinstance(r, CallEnded)]


def test_caller_abandons_while_queued_with_cancel():
    lab = Lab(live_site(agents=1))
    lab.register_all()
    lab.do(lab.phones["a1"], "register", 0)  # the only agent logs out: the call waits
    lab.run(1)
    call = lab.do(lab.gateway, "call", "100")
    lab.run(20)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert kinds(lab.gateway.take_events()) == ["ringing", "failed"]
    assert lab.gateway.calls[call].status == 487
    assert causes(lab) == [EndCause.ABANDONED]
    assert lab.box.is_idle()


def test_agent_hangs_up():
    lab = Lab(live_site(agents=1))
    lab.register_all()
    _, incoming = answered_call(lab)
    lab.run(10)
    lab.do(lab.phones["a1"], "hangup", incoming)
    lab.run(1)
    assert "ended_by_peer" in kinds(lab.gateway.take_events())
    assert causes(lab) == [EndCause.AGENT_HANGUP]


def test_ring_no_answer_moves_the_call_to_the_next_agent():
    lab = Lab(live_site(agents=2, ring_timeout=5, strategy="linear"))
    lab.register_all()
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    first = next(a for a, p in lab.phones.items() if p.calls)
    other = "a2" if first == "a1" else "a1"
    lab.run(6)  # the first agent does not answer; the appliance CANCELs and rings the next
    assert kinds(lab.phones[first].take_events()) == ["incoming", "cancelled"]
    incoming = [c for c in lab.phones[other].calls.values() if c.state == "incoming"]
    assert len(incoming) == 1
    lab.do(lab.phones[other], "answer", incoming[0].id)
    lab.run(1)
    assert [r.agent for r in lab.log if isinstance(r, CallAnswered)] == [other]
    assert [r.agent for r in lab.log if isinstance(r, AgentRung)] == [first, other]


@pytest.mark.parametrize(("status", "reason"),
                         [(486, "Busy Here"), (600, "Busy Everywhere"), (603, "Decline")])
def test_busy_agent_phone_sends_the_call_to_another_agent_and_stays_ready(status, reason):
    lab = Lab(live_site(agents=2, strategy="linear"))
    lab.register_all()
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    first = next(a for a, p in lab.phones.items() if p.calls)
    incoming = next(iter(lab.phones[first].calls.values()))
    lab.do(lab.phones[first], "reject", incoming.id, status, reason)
    lab.run(0.5)
    other = "a2" if first == "a1" else "a1"
    assert kinds(lab.phones[other].take_events()) == ["incoming"]
    # Busy on another line is not away from the desk: no pause by default.
    assert lab.box.cc.acd.agents[first].state.value == "ready"
    answer = next(iter(lab.phones[other].calls.values()))
    lab.do(lab.phones[other], "answer", answer.id)
    lab.run(0.5)
    assert [r.agent for r in lab.log if isinstance(r, CallAnswered)] == [other]


@pytest.mark.parametrize(("status", "reason", "paused_for"),
                         [(480, "Temporarily Unavailable", "unavailable"),
                          (408, "Request Timeout", "unavailable"),
                          (404, "Not Found", "unreachable"),
                          (500, "Server Internal Error", "unreachable")])
def test_a_phone_that_is_away_or_broken_pauses_its_agent_by_default(status, reason, paused_for):
    lab = Lab(live_site(agents=2, strategy="linear"))
    lab.register_all()
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    first = next(a for a, p in lab.phones.items() if p.calls)
    incoming = next(iter(lab.phones[first].calls.values()))
    lab.do(lab.phones[first], "reject", incoming.id, status, reason)
    lab.run(0.5)
    agent = lab.box.cc.acd.agents[first]
    assert (agent.state.value, agent.reason) == ("not_ready", paused_for)
    other = "a2" if first == "a1" else "a1"
    assert kinds(lab.phones[other].take_events()) == ["incoming"]


def test_a_queue_that_pauses_on_any_failure_pauses_a_busy_agent():
    lab = Lab(live_site(agents=2, strategy="linear", queue={"autopause": "on_any_failure"}))
    lab.register_all()
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    first = next(a for a, p in lab.phones.items() if p.calls)
    incoming = next(iter(lab.phones[first].calls.values()))
    lab.do(lab.phones[first], "reject", incoming.id, 486, "Busy Here")
    lab.run(0.5)
    agent = lab.box.cc.acd.agents[first]
    assert (agent.state.value, agent.reason) == ("not_ready", "busy")


def test_unregistered_agent_is_not_rung_and_caller_waits():
    lab = Lab(live_site(agents=1, sip={"agent_login": "manual"}))
    lab.box.cc.agent_login(0.0, "a1")  # logged in, but no phone registered
    lab.do(lab.gateway, "call", "100")
    lab.run(5)
    assert kinds(lab.gateway.take_events()) == ["ringing"]
    assert lab.box.active_calls == 1


def test_blocked_call_gets_busy():
    lab = Lab(live_site(agents=1, trunks=1))
    lab.register_all()
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    second = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    assert lab.gateway.calls[second].status == 486
    assert EndCause.BLOCKED in causes(lab)


def test_over_capacity_gets_503_with_retry_after_and_calls_up_stay_up():
    lab = Lab(live_site(agents=1, sip={"max_calls": 1, "retry_after": 7}))
    lab.register_all()
    first, _ = answered_call(lab)
    trace = lab.net.trace = []
    second = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    assert lab.gateway.calls[second].status == 503
    assert any(b"Retry-After: 7" in data for *_, data in trace)
    assert lab.gateway.calls[first].state == "answered"


def test_hold_and_resume_from_the_agent_phone_are_relayed_and_logged():
    from sim.sipua import offer_sdp

    lab = Lab(live_site(agents=1))
    lab.register_all()
    _, incoming = answered_call(lab)
    phone = lab.phones["a1"]
    lab.do(phone, "reinvite", incoming, offer_sdp("10.0.1.1", 42000, "sendonly"))
    lab.run(1)
    lab.do(phone, "reinvite", incoming, offer_sdp("10.0.1.1", 42000, "sendrecv"))
    lab.run(1)
    assert kinds(lab.gateway.take_events()).count("reinvited") == 2
    assert "CallHeld" in lab.record_types() and "CallResumed" in lab.record_types()


def test_lost_bye_is_ended_by_the_session_timer():
    lab = Lab(live_site(agents=1, sip={"session_expires": 90, "min_se": 90}))
    lab.register_all()
    answered_call(lab)
    lab.gateway.ignore_all = True  # the caller's gateway vanished, its BYE never came
    lab.run(45 + 33)
    assert causes(lab) == [EndCause.CALLER_HANGUP]
    assert "ended_by_peer" in kinds(lab.phones["a1"].take_events())
    lab.run(40)
    assert lab.box.is_idle()


def test_feature_codes_log_the_agent_out_and_in():
    lab = Lab(live_site(agents=1))
    lab.register_all()
    phone = lab.phones["a1"]
    trace = lab.net.trace = []
    call = lab.do(phone, "call", "*42")
    lab.run(1)
    assert any(data.startswith(b"SIP/2.0 401") for *_, data in trace)  # stations are challenged
    # The phone answered the challenge; the appliance answered, then hung up.
    assert kinds(phone.take_events()) == ["answered", "ended_by_peer"]
    assert lab.box.cc.acd.agents["a1"].state.value == "logged_out"
    lab.do(phone, "call", "*41")
    lab.run(1)
    assert lab.box.cc.acd.agents["a1"].state.value == "ready"
    lab.do(phone, "call", "*44")
    lab.run(1)
    assert lab.box.cc.acd.agents["a1"].state.value == "not_ready"
    lab.do(phone, "call", "*43")
    lab.run(1)
    assert lab.box.cc.acd.agents["a1"].state.value == "ready"
    assert lab.box.is_idle() or not lab.box.legs.dialogs
    del call


def test_wrong_password_and_unknown_numbers_are_refused():
    lab = Lab(live_site(agents=1))
    lab.register_all()
    phone = lab.phones["a1"]
    phone.password = "wrong"
    call = lab.do(phone, "call", "*42")
    lab.run(1)
    assert phone.calls[call].status == 403
    phone.password = "secret-a1"
    call = lab.do(phone, "call", "555")
    lab.run(1)
    assert phone.calls[call].status == 404
    assert lab.box.cc.acd.agents["a1"].state.value == "ready"


def test_options_are_answered_even_when_shutting_down():
    lab = Lab(live_site(agents=1))
    lab.box.shutdown(0.0)
    trace = lab.net.trace = []
    from appliance.pbx.sip.headers import Headers
    from appliance.pbx.sip.message import Request

    options = Request("OPTIONS", "sip:10.0.0.1", Headers([
        ("Via", "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKopt1"), ("Max-Forwards", "70"),
        ("From", "<sip:gw@10.0.0.2>;tag=1"), ("To", "<sip:10.0.0.1>"), ("Call-ID", "o1"),
        ("CSeq", "1 OPTIONS")]))
    lab.box.receive_datagram(bytes(options), ("10.0.0.2", 5060), 0.0)
    replies = lab.box.take_datagrams()
    assert replies and replies[0][0].startswith(b"SIP/2.0 200 OK")
    assert b"Allow: " in replies[0][0]
    del trace


def test_shutdown_ends_calls_with_bye_and_becomes_idle_once_they_are_answered():
    lab = Lab(live_site(agents=1))
    lab.register_all()
    answered_call(lab)
    lab.box.shutdown(lab.net.now)
    lab.net.poke(lab.box.local)
    lab.run(1)
    assert "ended_by_peer" in kinds(lab.gateway.take_events())
    assert "ended_by_peer" in kinds(lab.phones["a1"].take_events())
    assert lab.box.is_idle()  # not waiting for the BYE transactions' Timer K


def test_trunk_peers_are_probed_with_options_and_reported_down_when_silent():
    lab = Lab(live_site(agents=1, sip={"probe_interval": 10}))
    lab.run(12)
    assert lab.box.probes.status.up == {("10.0.0.2", 5060): True}
    lab.gateway.ignore_all = True
    lab.run(10 + 33)
    assert lab.box.probes.status.up == {("10.0.0.2", 5060): False}
    lab.box.shutdown(lab.net.now)
    assert lab.box.is_idle()  # an unanswered probe does not hold up a shutdown


def test_session_refreshes_keep_a_long_call_up():
    lab = Lab(live_site(agents=1, sip={"session_expires": 90, "min_se": 90}))
    lab.register_all()
    call, _ = answered_call(lab)
    trace = lab.net.trace = []
    lab.run(200)  # a refresh every 45 s, every one answered
    assert causes(lab) == []
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    ended = [r for r in lab.log if isinstance(r, CallEnded)]
    assert [e.cause for e in ended] == [EndCause.CALLER_HANGUP] and ended[0].t > 200
    refreshes = [data for *_, data in trace if data.startswith(b"UPDATE ")]
    # The gateway allows UPDATE: refreshes use it. The phone's 200 had no Session-Expires,
    # so its leg has no session timer (RFC 4028 7.2: the UAS does not do them).
    assert len(refreshes) == 4


def test_while_overloaded_new_calls_get_503_and_calls_up_stay_up():
    lab = Lab(live_site(agents=2))
    lab.register_all()
    first, _ = answered_call(lab)
    lab.box.set_overloaded(True)
    trace = lab.net.trace = []
    refused = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    assert lab.gateway.calls[refused].status == 503
    assert any(b"Retry-After: 30" in data for *_, data in trace)
    assert lab.gateway.calls[first].state == "answered"
    lab.box.set_overloaded(False)
    answered_call(lab, agent="a2")
    assert lab.gateway.calls[first].state == "answered"


def test_static_agents_are_logged_in_from_the_configuration():
    lab = Lab(live_site(agents=2, strategy="linear", sip={"agent_login": "static"}))
    states = {a: s.state.value for a, s in lab.box.cc.acd.agents.items()}
    assert states == {"a1": "ready", "a2": "ready"}
    lab.do(lab.phones["a2"], "register")  # only a2 has a phone up
    lab.run(1)
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)  # a1 is rung first, cannot be reached, and is made not ready
    assert kinds(lab.phones["a2"].take_events())[-1] == "incoming"
    assert lab.box.cc.acd.agents["a1"].state.value == "not_ready"


def test_an_invite_without_contact_is_refused_before_it_becomes_a_call():
    lab = Lab(live_site(agents=1))
    invite = (b"INVITE sip:100@10.0.0.1 SIP/2.0\r\n"
              b"Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKnocontact\r\n"
              b"Max-Forwards: 70\r\nFrom: <sip:555@10.0.0.2>;tag=x\r\n"
              b"To: <sip:100@10.0.0.1>\r\nCall-ID: nc1\r\nCSeq: 1 INVITE\r\n"
              b"Content-Length: 0\r\n\r\n")
    lab.box.receive_datagram(invite, ("10.0.0.2", 5060), 0.0)
    replies = [data for data, _ in lab.box.take_datagrams()]
    assert replies[-1].startswith(b"SIP/2.0 400 Bad Request: missing or malformed Contact")
    assert lab.record_types() == []


def test_a_phone_200_without_contact_counts_as_a_decline_and_the_call_goes_on():
    from appliance.pbx.sip.message import Response
    from appliance.pbx.sip.transaction import make_response

    lab = Lab(live_site(agents=2, strategy="linear"))
    lab.register_all()
    lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    first = next(a for a, p in lab.phones.items() if p.calls)
    phone = lab.phones[first]
    incoming = next(iter(phone.calls.values()))
    ok = make_response(incoming.invite, 200, "OK")
    broken = Response(200, "OK", ok.headers.replace("To", ok.headers.get("To") + ";tag=z"))
    phone.layer.send_response(broken, lab.net.now)  # no Contact: no dialog possible
    phone._pump(lab.net.now)
    lab.net.poke(phone.local)
    lab.run(0.5)
    other = "a2" if first == "a1" else "a1"
    assert kinds(lab.phones[other].take_events())[-1] == "incoming"
