"""Phones' calls to outside numbers through a trunk's gateway, over a simulated network: the
gateway of the harness (`GATEWAY`) is the trunk's route out."""

from __future__ import annotations

import pytest

from appliance.events import (
    OutsideCallAnswered,
    OutsideCallEnded,
    OutsideCallStarted,
)
from appliance.records.outside import outside_call_details
from tests.appliance.pbx.b2bua.harness import GATEWAY, Lab, live_site, media_plane

ROUTE = {"gateway": f"{GATEWAY[0]}:{GATEWAY[1]}", "prefix": "9", "ring_timeout": 20}


def kinds(events):
    return [event.kind for event in events]


def lab_of(trunks=10, media=False, **route):
    site = live_site(agents=2, trunks=trunks, trunk={"outbound": {**ROUTE, **route}})
    lab = Lab(site, media_for=media_plane() if media else None)
    lab.register_all()
    return lab


def dial(lab, number, user="a1"):
    call = lab.do(lab.phones[user], "call", number)
    lab.run(1)
    return call


def at_gateway(lab):
    """The gateway's one new incoming call."""
    assert kinds(lab.gateway.take_events()) == ["incoming"]
    return next(c for c in lab.gateway.calls.values() if c.state == "incoming")


def ended(lab):
    return [(r.cause, r.status) for r in lab.log if isinstance(r, OutsideCallEnded)]


def state(lab, agent):
    return lab.box.cc.acd.agents[agent].state.value


def test_an_answered_call_out_is_bridged_and_either_side_hangs_up():
    lab = lab_of()
    a1 = lab.phones["a1"]
    call = dial(lab, "90301234567")
    far = at_gateway(lab)
    assert far.invite.uri == f"sip:0301234567@{GATEWAY[0]}:{GATEWAY[1]}"  # prefix stripped
    assert far.invite.headers.get("From").startswith("<sip:a1@")
    assert state(lab, "a1") == "not_ready"  # busy for the queues meanwhile
    assert lab.box.cc.trunks.busy["pstn"] == 1
    lab.do(lab.gateway, "ring", far.id)
    lab.do(lab.gateway, "answer", far.id)
    lab.run(1)
    assert kinds(a1.take_events()) == ["ringing", "answered"]
    lab.run(30)
    lab.do(lab.gateway, "hangup", far.id)
    lab.run(1)
    assert kinds(a1.take_events()) == ["ended_by_peer"]
    assert ended(lab) == [("far_hangup", 200)]
    started = next(r for r in lab.log if isinstance(r, OutsideCallStarted))
    assert (started.trunk_group, started.number, started.placed_by, started.purpose) == (
        "pstn", "0301234567", "a1", "dialled")
    assert any(isinstance(r, OutsideCallAnswered) for r in lab.log)
    (row,) = outside_call_details(lab.log)
    assert (row.direction, row.number, row.placed_by, row.outcome, row.cause) == (
        "outbound", "0301234567", "a1", "answered", "far_hangup")
    assert row.talk == pytest.approx(31, abs=0.5)
    assert state(lab, "a1") == "ready"
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty
    assert a1.calls[call].state == "ended"


def test_the_phone_hangs_up_after_the_answer():
    lab = lab_of()
    call = dial(lab, "90301234567")
    far = at_gateway(lab)
    lab.do(lab.gateway, "answer", far.id)
    lab.run(1)
    lab.do(lab.phones["a1"], "hangup", call)
    lab.run(1)
    assert kinds(lab.gateway.take_events()) == ["ended_by_peer"]
    assert ended(lab) == [("caller_hangup", 200)]
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty


def test_busy_far_end_is_passed_back():
    lab = lab_of()
    call = dial(lab, "90301234567")
    lab.do(lab.gateway, "reject", at_gateway(lab).id, 486, "Busy Here")
    lab.run(1)
    assert lab.phones["a1"].calls[call].status == 486
    assert ended(lab) == [("busy", 486)]
    (row,) = outside_call_details(lab.log)
    assert (row.outcome, row.status, row.answered_at, row.talk) == ("busy", 486, None, 0.0)
    assert state(lab, "a1") == "ready"
    assert lab.box.cc.trunks.busy["pstn"] == 0


def test_no_answer_is_cancelled_after_the_route_ring_timeout():
    lab = lab_of()
    call = dial(lab, "90301234567")
    far = at_gateway(lab)
    lab.do(lab.gateway, "ring", far.id)
    lab.run(17)
    assert lab.phones["a1"].calls[call].status == 0
    lab.run(4)
    assert lab.phones["a1"].calls[call].status == 480
    assert lab.gateway.calls[far.id].state == "ended"  # our CANCEL reached it
    assert ended(lab) == [("no_answer", 0)]
    lab.run(40)
    assert lab.box.legs.empty


def test_a_cancel_from_the_phone_cancels_the_far_end():
    lab = lab_of()
    call = dial(lab, "90301234567")
    far = at_gateway(lab)
    lab.do(lab.gateway, "ring", far.id)
    lab.run(1)
    lab.do(lab.phones["a1"], "hangup", call)
    lab.run(2)
    assert lab.phones["a1"].calls[call].status == 487
    assert lab.gateway.calls[far.id].state == "ended"
    assert ended(lab) == [("cancelled", 0)]
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty


def test_a_number_the_phone_may_not_dial_is_403_and_emergency_always_goes():
    lab = lab_of()
    call = dial(lab, "900441234567")  # international: phones may dial national by default
    assert lab.phones["a1"].calls[call].status == 403
    assert not lab.gateway.take_events()
    assert lab.box.cc.trunks.busy["pstn"] == 0
    (barred,) = outside_call_details(lab.log)  # the attempt leaves a row
    assert (barred.number, barred.placed_by, barred.outcome, barred.status) == (
        "00441234567", "a1", "barred", 403)
    dial(lab, "9112")
    assert at_gateway(lab).invite.uri.startswith("sip:112@")


def test_no_route_out_is_404():
    lab = lab_of()
    call = dial(lab, "0301234567")  # without the prefix
    assert lab.phones["a1"].calls[call].status == 404


def test_every_channel_busy_refuses_with_503():
    lab = lab_of(trunks=1)
    dial(lab, "90301234567", "a1")
    at_gateway(lab)
    second = dial(lab, "90301234568", "a2")
    assert lab.phones["a2"].calls[second].status == 503
    assert not lab.gateway.take_events()
    assert ended(lab) == [("no_channel", 0)]
    assert state(lab, "a2") == "ready"


def test_a_channel_used_outbound_is_not_free_for_an_inbound_call():
    lab = lab_of(trunks=1)
    dial(lab, "90301234567")
    at_gateway(lab)
    inbound = lab.do(lab.gateway, "call", "100")
    lab.run(1)
    assert lab.gateway.calls[inbound].status == 486  # blocked: the one channel is taken


def test_a_gateway_that_never_answers_is_504():
    lab = lab_of(gateway="10.0.0.9:5060", ring_timeout=60)  # nothing there
    call = dial(lab, "90301234567")
    lab.run(40)
    assert lab.phones["a1"].calls[call].status == 504
    assert ended(lab) == [("failed", 0)]


def test_media_is_anchored_and_the_prefix_kept_when_not_stripped():
    lab = lab_of(media=True, strip=False, caller_id="4930555000")
    dial(lab, "90301234567")
    far = at_gateway(lab)
    assert far.invite.uri.startswith("sip:90301234567@")
    assert far.invite.headers.get("From").startswith("<sip:4930555000@")
    assert b"c=IN IP4 10.0.0.1" in far.invite.body  # the relay, not the phone
    lab.do(lab.gateway, "answer", far.id)
    lab.run(1)
    call = min(lab.box.media.calls)
    assert lab.box.media.calls[call].bridged


def test_a_shutdown_ends_both_legs_and_gives_the_channel_back():
    lab = lab_of()
    dial(lab, "90301234567")
    far = at_gateway(lab)
    lab.do(lab.gateway, "answer", far.id)
    lab.run(1)
    lab.box.shutdown(lab.net.now)
    lab.net.poke(lab.box.local)
    lab.run(2)
    assert kinds(lab.gateway.take_events()) == ["ended_by_peer"]
    assert kinds(lab.phones["a1"].take_events())[-1] == "ended_by_peer"
    assert ended(lab) == [("caller_hangup", 200)]
    assert lab.box.cc.trunks.busy["pstn"] == 0
    assert lab.box.legs.empty
