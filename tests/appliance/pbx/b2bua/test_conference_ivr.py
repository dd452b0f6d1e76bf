"""A trunk caller an IVR exit sends into a conference room, over a simulated network: they
join with no agent (the PIN keyed in first when the exit asks), hear the phones in the room
and are heard, and their trunk channel is held until they leave it."""

from __future__ import annotations

from datetime import datetime

from appliance.events import CallEnded, ConferenceJoined, ConferenceLeft
from appliance.records.cdr import call_details
from appliance.wallclock import from_origin
from tests.appliance.pbx.b2bua.harness import live_site, media_plane
from tests.appliance.pbx.b2bua.test_conference_transfer import (
    each_hears_the_other_two,
    join_by_phone,
)
from tests.appliance.pbx.b2bua.test_races import CheckedLab
from tests.appliance.pbx.b2bua.test_transfer import records

ROOM = {"conferences": [{"number": "800", "pin": "4321"}]}


def ivr_room_lab(ask_pin: bool) -> CheckedLab:
    flow = {"name": "main", "start": "room", "nodes": [
        {"name": "room", "kind": "to_conference", "room": "800", "ask_pin": ask_pin}]}
    site = live_site(agents=2, sip=ROOM, more={
        "routes": [{"trunk_group": "pstn", "flow": "main"}], "ivr": {"flows": [flow]}})
    lab = CheckedLab(site, media_for=media_plane(),
                     wallclock=from_origin(datetime(2026, 12, 7, 10, 0)))
    lab.register_all()
    return lab


def test_an_ivr_caller_joins_two_phones_in_a_room_and_the_three_hear_each_other() -> None:
    lab = ivr_room_lab(ask_pin=False)
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    assert [r.cause for r in records(lab, CallEnded)] == ["conference"]
    assert lab.box.cc.trunks.busy["pstn"] == 1  # held by the caller in the room
    join_by_phone(lab, "a1")
    join_by_phone(lab, "a2")
    joined = {r.call: r.party for r in records(lab, ConferenceJoined)}
    customer = next(iter(joined))
    assert customer > 0
    each_hears_the_other_two(lab, joined)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.call for r in records(lab, ConferenceLeft)] == [customer]
    assert lab.box.cc.trunks.busy["pstn"] == 0
    [detail] = call_details(lab.log)
    assert (detail.cause, detail.agent, detail.abandoned) == ("conference", None, False)


def test_an_ivr_caller_keys_in_the_rooms_pin_before_joining() -> None:
    lab = ivr_room_lab(ask_pin=True)
    call = lab.do(lab.gateway, "call", "100")
    lab.run(0.5)
    assert not records(lab, ConferenceJoined)
    for digit in "4321":
        lab.do(lab.gateway, "press", call, digit)
    lab.run(0.5)
    assert [r.party for r in records(lab, ConferenceJoined)] == ["gw"]
    assert [r.cause for r in records(lab, CallEnded)] == ["conference"]
