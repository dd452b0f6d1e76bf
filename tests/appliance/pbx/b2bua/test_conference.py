"""Conference rooms through the B2BUA over a simulated network: phones dial a room, each
hears the others; a PIN keeps a member out until keyed in. RTP is fed to and read from the
media plane directly, each member sending one constant level."""

from __future__ import annotations

import numpy as np

from appliance.events import CallOffered, ConferenceJoined, ConferenceLeft
from appliance.media.g711 import ulaw_decode, ulaw_encode
from appliance.media.rtp import RtpPacket
from appliance.media.rtp import parse as parse_rtp
from tests.appliance.pbx.b2bua.harness import Lab, live_site, media_plane

LEVELS = {"a1": 1000, "a2": 4000, "a3": 16000}


def conference_lab(pin: str | None = None) -> Lab:
    site = live_site(agents=3, sip={"conferences": [{"number": "800", "pin": pin}]})
    lab = Lab(site, media_for=media_plane())
    lab.register_all()
    return lab


def join(lab: Lab, user: str) -> int:
    call = lab.do(lab.phones[user], "call", "800")
    lab.run(1)
    return call


def members(lab: Lab) -> dict[str, tuple[int, tuple[str, int]]]:
    """Each member's relay port and RTP address, by user."""
    joined = {r.call: r.party for r in lab.log if isinstance(r, ConferenceJoined)}
    sessions = lab.box.media.relay.sessions
    return {user: (sessions[call].sides[0].local_port, (lab.phones[user].local[0], 40000))
            for call, user in joined.items() if call in sessions}


def heard(lab: Lab, seconds: float = 1.0) -> dict[str, int]:
    """Every member sends its level for `seconds`; the median level each one heard."""
    found = members(lab)
    by_address = {address: user for user, (_, address) in found.items()}
    lab.box.media.take_datagrams()
    levels: dict[str, list[int]] = {}
    for seq in range(int(seconds / 0.02)):
        for user, (port, address) in found.items():
            payload = ulaw_encode(np.full(160, LEVELS[user], dtype=np.int16))
            packet = bytes(RtpPacket(0, seq, seq * 160, port, payload))
            lab.box.receive_media(port, packet, address, lab.net.now)
        lab.run(0.02)
        for port, data, to in lab.box.media.take_datagrams():
            if port % 2 == 0 and to in by_address:
                level = int(ulaw_decode(parse_rtp(data).payload)[0])
                levels.setdefault(by_address[to], []).append(level)
    return {user: int(np.median(values)) for user, values in levels.items()}


def near(level: int, *users: str) -> bool:
    expected = sum(LEVELS[u] for u in users)
    return abs(level - expected) <= expected * 0.05 + 10


def test_three_members_each_hear_the_other_two_and_one_leaving_leaves_the_others_talking():
    lab = conference_lab()
    calls = {user: join(lab, user) for user in ("a1", "a2", "a3")}
    levels = heard(lab)
    assert near(levels["a1"], "a2", "a3")
    assert near(levels["a2"], "a1", "a3")
    assert near(levels["a3"], "a1", "a2")
    lab.do(lab.phones["a3"], "hangup", calls["a3"])
    lab.run(1)
    levels = heard(lab)
    assert near(levels["a1"], "a2") and near(levels["a2"], "a1")
    left = [r.party for r in lab.log if isinstance(r, ConferenceLeft)]
    assert left == ["a3"]
    assert not any(isinstance(r, CallOffered) for r in lab.log)
    for user in ("a1", "a2"):
        lab.do(lab.phones[user], "hangup", calls[user])
    lab.run(1)
    assert lab.box.media.mixes == {} and lab.box.media.relay.sessions == {}


def test_a_pin_keeps_a_member_out_until_keyed_in():
    lab = conference_lab(pin="1234")
    first = join(lab, "a1")
    second = join(lab, "a2")
    assert not [r for r in lab.log if isinstance(r, ConferenceJoined)]
    for digit in "1234":
        lab.do(lab.phones["a1"], "press", first, digit)
    lab.run(0.5)
    for digit in "99#":  # wrong, then right
        lab.do(lab.phones["a2"], "press", second, digit)
    for digit in "1234":
        lab.do(lab.phones["a2"], "press", second, digit)
    lab.run(0.5)
    assert [r.party for r in lab.log if isinstance(r, ConferenceJoined)] == ["a1", "a2"]
    levels = heard(lab)
    assert near(levels["a1"], "a2") and near(levels["a2"], "a1")


def test_three_wrong_pins_hang_up():
    lab = conference_lab(pin="42")
    call = join(lab, "a1")
    for digit in "111111":
        lab.do(lab.phones["a1"], "press", call, digit)
    lab.run(1)
    assert lab.phones["a1"].calls[call].state == "ended"
    assert lab.box.conferences.members == {}


def test_agents_in_a_room_are_paused_for_the_queues_and_given_back_after():
    lab = conference_lab(pin="42")
    first, second = join(lab, "a1"), join(lab, "a2")  # a2 still at the door (no PIN yet)
    states = {a: lab.box.cc.agent_status(a) for a in ("a1", "a2", "a3")}
    assert {a: (s.state.value, s.reason) for a, s in states.items()} == {
        "a1": ("not_ready", "internal_call"), "a2": ("not_ready", "internal_call"),
        "a3": ("ready", "")}
    lab.do(lab.gateway, "call", "100")
    lab.run(1)
    assert "incoming" in kinds_of(lab.phones["a3"])  # the one agent not in the room
    assert "incoming" not in kinds_of(lab.phones["a1"]) + kinds_of(lab.phones["a2"])
    for user, call in (("a1", first), ("a2", second)):
        lab.do(lab.phones[user], "hangup", call)
    lab.run(1)
    assert [lab.box.cc.agent_status(a).state.value for a in ("a1", "a2")] == ["ready"] * 2


def kinds_of(phone) -> list[str]:
    return [event.kind for event in phone.take_events()]
