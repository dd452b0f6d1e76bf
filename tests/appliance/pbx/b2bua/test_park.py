"""Call park over the simulated network: an agent's phone parks its caller by a blind REFER to
the park number (its Park key), another phone dials the slot and talks with the caller; a
call nobody picks up rings its parker back. The B2BUA's invariants are checked after every
input."""

from __future__ import annotations

from appliance.events import CallAnswered, CallEnded, CallParked, ParkPickedUp, ParkTimedOut
from appliance.records.cdr import call_details
from tests.appliance.pbx.b2bua.test_races import ringing
from tests.appliance.pbx.b2bua.test_transfer import kinds, records, talking, transfer_lab


def test_park_by_refer_then_pickup_from_another_phone() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    lab.do(lab.phones["a1"], "refer", incoming, "700")
    lab.run(0.5)
    # 202, the NOTIFY whose sipfrag says "200 Parked 701", then our BYE.
    assert kinds(lab.phones["a1"]) == [("refer_accepted", 202), ("transfer_notified", 200),
                                       ("ended_by_peer", 0)]
    [parked] = records(lab, CallParked)
    assert (parked.agent, parked.slot, parked.origin) == ("a1", 701, "service")
    picker = lab.phones["a2"]
    pickup = lab.do(picker, "call", "701")
    lab.run(0.5)
    assert [k for k, _ in kinds(picker)] == ["answered"]
    assert records(lab, ParkPickedUp)[0].agent == "a2"
    assert records(lab, CallAnswered)[-1].agent == "a2"
    # The caller, answered by a1 before, gets the picking-up phone's SDP in a re-INVITE.
    assert lab.gateway.calls[call].remote_body == picker.calls[pickup].invite.body
    lab.run(30)
    lab.do(picker, "hangup", pickup)
    lab.run(1)
    assert [r.cause.value for r in records(lab, CallEnded)] == ["agent_hangup"]
    [detail] = call_details(lab.log)
    assert (detail.parks, detail.agent, detail.transfers) == (1, "a2", 0)
    assert lab.box.legs.empty


def test_an_empty_slot_is_refused() -> None:
    lab = transfer_lab()
    lab.do(lab.phones["a2"], "call", "702")
    lab.run(0.5)
    assert kinds(lab.phones["a2"]) == [("failed", 404)]


def test_nobody_picks_up_the_parker_is_rung_back() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    lab.box.cc.agent_not_ready(lab.net.now, "a2", "lunch")
    lab.do(lab.phones["a1"], "refer", incoming, "700")
    lab.run(50)  # past the park timeout (45 s) and a1's wrap-up (30 s)
    [timed_out] = records(lab, ParkTimedOut)
    assert (timed_out.slot, timed_out.to) == (701, "parker")
    phone = lab.phones["a1"]
    phone.take_events()
    lab.do(phone, "answer", ringing(phone))
    lab.run(1)
    assert records(lab, CallAnswered)[-1].agent == "a1"
    assert lab.gateway.calls[call].state != "ended"


def test_the_parked_caller_hanging_up_frees_the_slot() -> None:
    lab = transfer_lab()
    call, incoming = talking(lab)
    lab.do(lab.phones["a1"], "refer", incoming, "700")
    lab.run(1)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.cause.value for r in records(lab, CallEnded)] == ["caller_hangup"]
    assert lab.box.cc.parking.lot.parked(701) is None
    assert lab.box.legs.empty


def test_with_the_media_anchored_the_pickup_joins_the_callers_relay() -> None:
    lab = transfer_lab(media=True)
    call, incoming = talking(lab)
    lab.do(lab.phones["a1"], "refer", incoming, "700")
    lab.run(0.5)
    picker = lab.phones["a2"]
    pickup = lab.do(picker, "call", "701")
    lab.run(0.5)
    assert [k for k, _ in kinds(picker)] == ["answered"]
    media = lab.box.media.calls[call]
    assert media.bridged
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert picker.calls[pickup].state == "ended"
    assert [r.cause.value for r in records(lab, CallEnded)] == ["caller_hangup"]
    assert lab.box.legs.empty


def test_the_parker_in_wrap_up_picks_up_their_own_parked_call() -> None:
    lab = transfer_lab()  # wrap-up 30 s
    _, incoming = talking(lab)
    phone = lab.phones["a1"]
    lab.do(phone, "refer", incoming, "700")
    lab.run(0.5)
    phone.take_events()
    lab.do(phone, "call", "701")
    lab.run(0.5)
    assert [k for k, _ in kinds(phone)] == ["answered"]
    assert [r.agent for r in records(lab, CallAnswered)] == ["a1", "a1"]
