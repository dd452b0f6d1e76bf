"""A customer's call transferred into a conference room by its agent's REFER, over a
simulated network: the caller joins the room (no PIN: the agent brought them), the call ends
for call control with cause `conference`, and its trunk channel is held until the caller
leaves the room."""

from __future__ import annotations

import numpy as np

from appliance.events import CallEnded, CallTransferred, ConferenceJoined, ConferenceLeft
from appliance.media.g711 import ulaw_decode, ulaw_encode
from appliance.media.relay import CALLER
from appliance.media.rtp import RtpPacket
from appliance.media.rtp import parse as parse_rtp
from appliance.records.cdr import call_details
from tests.appliance.pbx.b2bua.test_transfer import kinds, records, talking, transfer_lab

ROOM = {"conferences": [{"number": "800", "pin": "4321"}]}


def room_lab():
    return transfer_lab(media=True, sip=ROOM)


def heard(lab, levels: dict[int, int], seconds: float = 1.0) -> dict[int, int]:
    """Each member's call sends its level; the median level each one heard, by call."""
    sessions = lab.box.media.relay.sessions
    sides = {call: sessions[call].sides[CALLER] for call in levels}
    by_address = {side.peer: call for call, side in sides.items()}
    lab.box.media.take_datagrams()
    found: dict[int, list[int]] = {}
    for seq in range(int(seconds / 0.02)):
        for call, side in sides.items():
            payload = ulaw_encode(np.full(160, levels[call], dtype=np.int16))
            packet = bytes(RtpPacket(0, seq, seq * 160, 7 + call % 97, payload))
            lab.box.receive_media(side.local_port, packet, side.peer, lab.net.now)
        lab.run(0.02)
        for _, data, to in lab.box.media.take_datagrams():
            if to in by_address and data[1] & 0x7F == 0:
                found.setdefault(by_address[to], []).append(
                    int(ulaw_decode(parse_rtp(data).payload)[0]))
    return {call: int(np.median(values)) for call, values in found.items()}


def join_by_phone(lab, user: str) -> None:
    """`user`'s phone dials the room and keys in its PIN."""
    member = lab.do(lab.phones[user], "call", "800")
    lab.run(0.5)
    for digit in "4321":
        lab.do(lab.phones[user], "press", member, digit)
    lab.run(0.5)


def each_hears_the_other_two(lab, members) -> None:
    """Three members each send a level; each hears the sum of the other two."""
    levels = {c: level for c, level in zip(members, (1000, 4000, 16000), strict=True)}
    got = heard(lab, levels)
    for member, level in got.items():
        expected = sum(levels.values()) - levels[member]
        assert abs(level - expected) <= expected * 0.05 + 10, (member, got)
    assert len(got) == 3


def test_an_agent_transfers_its_caller_into_a_room_and_the_three_hear_each_other() -> None:
    lab = room_lab()
    call, incoming = talking(lab)
    customer = next(iter(lab.box.cc.calls))
    lab.do(lab.phones["a1"], "refer", incoming, "800")
    lab.run(0.5)
    assert kinds(lab.phones["a1"]) == [("refer_accepted", 202), ("transfer_notified", 200),
                                       ("ended_by_peer", 0)]
    assert [r.target for r in records(lab, CallTransferred)] == ["conference:800"]
    assert [r.cause for r in records(lab, CallEnded)] == ["conference"]
    assert lab.box.cc.trunks.busy["pstn"] == 1  # held by the caller in the room
    assert lab.box.cc.acd.agents["a1"].state.value == "wrap_up"
    for user in ("a1", "a2"):  # the agent and a colleague join by dialling it, with the PIN
        join_by_phone(lab, user)
    joined = {r.call: r.party for r in records(lab, ConferenceJoined)}
    assert next(iter(joined.items())) == (customer, "gw")  # the caller, with no PIN asked
    each_hears_the_other_two(lab, joined)
    lab.do(lab.gateway, "hangup", call)
    lab.run(1)
    assert [r.call for r in records(lab, ConferenceLeft)] == [customer]
    assert lab.box.cc.trunks.busy["pstn"] == 0
    [detail] = call_details(lab.log)
    assert (detail.cause, detail.agent, detail.transfers) == ("conference", "a1", 1)
    assert detail.answered_at is not None and detail.talk < 1.0  # talk ends at the transfer


def test_a_room_transfer_without_a_media_plane_is_refused_and_the_call_stays() -> None:
    lab = transfer_lab(sip=ROOM)
    _, incoming = talking(lab)
    lab.do(lab.phones["a1"], "refer", incoming, "800")
    lab.run(0.5)
    assert kinds(lab.phones["a1"]) == [("refer_failed", 488)]
    assert not records(lab, CallEnded)
