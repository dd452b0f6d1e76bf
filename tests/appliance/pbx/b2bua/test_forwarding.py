"""Call forwarding of calls between phones, over a simulated network: to another phone or
out through the trunk's gateway (`GATEWAY`), set in the site file or by feature code."""

from __future__ import annotations

from appliance.events import (
    CallForwarded,
    ExtensionCallEnded,
    ForwardingChanged,
    OutsideCallEnded,
    OutsideCallStarted,
)
from appliance.records.outside import outside_call_details
from tests.appliance.pbx.b2bua.harness import GATEWAY, Lab, live_site

ROUTE = {"gateway": f"{GATEWAY[0]}:{GATEWAY[1]}", "prefix": "9", "ring_timeout": 30}


def kinds(events):
    return [event.kind for event in events]


def lab_of(agents=3, lines=4, **forward):
    """Phone a2 forwards as `forward` says; each phone has `lines` line appearances."""
    phones = {f"a{i}": {"lines": lines} for i in range(1, agents + 1)}
    phones["a2"]["forward"] = forward
    site = live_site(agents=agents, sip={"extension_ring_timeout": 30},
                     trunk={"outbound": ROUTE}, phone=phones)
    lab = Lab(site)
    lab.register_all()
    return lab


def dial(lab, number, user="a1"):
    call = lab.do(lab.phones[user], "call", number)
    lab.run(1)
    return call


def incoming(ua):
    assert "incoming" in kinds(ua.take_events())
    return next(c for c in ua.calls.values() if c.state == "incoming")


def forwarded(lab):
    return [(r.phone, r.target, r.condition) for r in lab.log if isinstance(r, CallForwarded)]


def ended(lab):
    return [r.cause for r in lab.log if isinstance(r, ExtensionCallEnded)]


def state(lab, agent):
    return lab.box.cc.acd.agents[agent].state.value


def test_always_rings_the_target_phone_and_never_the_forwarding_one():
    lab = lab_of(always="a3")
    call = dial(lab, "a2")
    assert not lab.phones["a2"].take_events()
    far = incoming(lab.phones["a3"])
    lab.do(lab.phones["a3"], "answer", far.id)
    lab.run(1)
    assert kinds(lab.phones["a1"].take_events()) == ["ringing", "answered"]
    assert forwarded(lab) == [("a2", "a3", "always")]
    lab.do(lab.phones["a1"], "hangup", call)
    lab.run(1)
    assert ended(lab) == ["caller_hangup"]
    assert state(lab, "a2") == state(lab, "a3") == "ready"
    assert lab.box.legs.empty


def test_no_answer_forwards_after_its_seconds_and_the_first_phone_stops_ringing():
    lab = lab_of(no_answer="a3", no_answer_after=8)
    dial(lab, "a2")
    first = incoming(lab.phones["a2"])
    lab.run(6)
    assert not lab.phones["a3"].take_events()
    lab.run(3)
    assert lab.phones["a2"].calls[first.id].state == "ended"  # CANCELled
    far = incoming(lab.phones["a3"])
    lab.do(lab.phones["a3"], "answer", far.id)
    lab.run(1)
    assert "answered" in kinds(lab.phones["a1"].take_events())
    assert forwarded(lab) == [("a2", "a3", "no_answer")]
    assert state(lab, "a2") == "ready"


def test_busy_forwards_a_phone_on_a_call_and_one_that_refuses():
    lab = lab_of(busy="a3", lines=1)
    dial(lab, "a2", user="a3")  # a2 rings for a3: busy (its one line), and so is a3
    rung = incoming(lab.phones["a2"])
    call = dial(lab, "a2")
    assert lab.phones["a1"].calls[call].status == 486
    lab.do(lab.phones["a2"], "reject", rung.id, 486, "Busy Here")
    lab.run(1)
    assert forwarded(lab) == []  # a3's own call is not forwarded back to a3
    lab2 = lab_of(busy="a3")
    dial(lab2, "a2")
    lab2.do(lab2.phones["a2"], "reject", incoming(lab2.phones["a2"]).id, 486, "Busy Here")
    lab2.run(1)
    assert forwarded(lab2) == [("a2", "a3", "busy")]
    incoming(lab2.phones["a3"])


def test_a_call_is_forwarded_once_only():
    site = live_site(agents=3, sip={"extension_ring_timeout": 30},
                     phone={"a2": {"forward": {"always": "a3"}},
                            "a3": {"forward": {"always": "a1"}}})
    lab = Lab(site)
    lab.register_all()
    dial(lab, "a2")
    incoming(lab.phones["a3"])
    assert forwarded(lab) == [("a2", "a3", "always")]


def test_forwarding_to_an_outside_number_places_an_outside_call_for_the_phone():
    lab = lab_of(no_answer="90301234567", no_answer_after=5)
    call = dial(lab, "a2")
    incoming(lab.phones["a2"])
    lab.run(5)
    far = next(c for c in lab.gateway.calls.values() if c.state == "incoming")
    assert far.invite.uri.startswith("sip:0301234567@")
    assert far.invite.headers.get("From").startswith("<sip:a2@")  # placed by the phone
    lab.do(lab.gateway, "answer", far.id)
    lab.run(1)
    assert kinds(lab.phones["a1"].take_events()) == ["ringing", "answered"]
    assert state(lab, "a1") == "not_ready"  # still busy for the queues
    lab.run(20)
    lab.do(lab.phones["a1"], "hangup", call)
    lab.run(1)
    assert ended(lab) == ["forwarded"]
    started = next(r for r in lab.log if isinstance(r, OutsideCallStarted))
    assert (started.placed_by, started.purpose) == ("a2", "forwarded")
    (row,) = outside_call_details(lab.log)
    assert (row.outcome, row.cause, row.purpose) == ("answered", "caller_hangup", "forwarded")
    assert [r.cause for r in lab.log if isinstance(r, OutsideCallEnded)] == ["caller_hangup"]
    assert state(lab, "a1") == "ready"
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty


def test_an_outside_target_that_is_busy_is_passed_back():
    lab = lab_of(always="90301234567")
    call = dial(lab, "a2")
    far = next(c for c in lab.gateway.calls.values() if c.state == "incoming")
    lab.do(lab.gateway, "reject", far.id, 486, "Busy Here")
    lab.run(1)
    assert lab.phones["a1"].calls[call].status == 486
    assert lab.box.legs.empty


def test_feature_codes_set_and_clear_forwarding_and_log_the_change():
    lab = lab_of()
    a2 = lab.phones["a2"]
    dial(lab, "*72a3", user="a2")
    dial(lab, "a2")
    incoming(lab.phones["a3"])
    assert [(r.phone, r.condition, r.target) for r in lab.log
            if isinstance(r, ForwardingChanged)] == [("a2", "always", "a3")]
    dial(lab, "*73", user="a2")
    assert lab.box.forwarding.target("a2", "always") is None
    assert a2.take_events()  # the feature calls were answered


def test_feature_codes_refuse_targets_there_are_none_of_or_the_phone_may_not_dial():
    lab = lab_of()
    assert lab.phones["a2"].calls[dial(lab, "*72nobody", user="a2")].status == 404
    assert lab.phones["a2"].calls[dial(lab, "*7290044123", user="a2")].status == 403
    assert lab.phones["a2"].calls[dial(lab, "*72a2", user="a2")].status == 404  # itself
    assert not any(isinstance(r, ForwardingChanged) for r in lab.log)


def test_restored_settings_win_over_the_site_file():
    lab = lab_of(always="a3")
    lab.box.forwarding.restore([ForwardingChanged(0.0, "a2", "always", "")])
    dial(lab, "a2")
    incoming(lab.phones["a2"])
