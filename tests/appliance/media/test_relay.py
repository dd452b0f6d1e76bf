"""The media relay: both directions, latching, strangers dropped, ports, silence."""

from __future__ import annotations

import pytest

from appliance.media.relay import AGENT, CALLER, MediaError, MediaRelay, MediaTimeout
from appliance.media.rtp import RtpPacket, parse

GATEWAY = ("192.0.2.10", 40000)
PHONE = ("10.1.1.5", 16384)
PHONE_BEHIND_NAT = ("203.0.113.9", 61000)


def rtp(sequence: int, ssrc: int = 0x1234) -> bytes:
    return bytes(RtpPacket(0, sequence, sequence * 160, ssrc, b"\xff" * 160))


def relay_with_call() -> tuple[MediaRelay, int, int]:
    relay = MediaRelay(range(20000, 20010), media_timeout=30)
    session = relay.open(1, now=0.0)
    relay.set_peer(1, CALLER, GATEWAY)
    relay.set_peer(1, AGENT, PHONE)
    return relay, session.sides[CALLER].local_port, session.sides[AGENT].local_port


def test_packets_cross_from_each_side_to_the_other_unchanged():
    relay, caller_port, agent_port = relay_with_call()
    relay.receive(caller_port, rtp(1), GATEWAY, 0.02)
    relay.receive(agent_port, rtp(7, ssrc=9), PHONE, 0.03)
    assert relay.take_datagrams() == [(agent_port, rtp(1), PHONE),
                                      (caller_port, rtp(7, ssrc=9), GATEWAY)]


def test_the_first_packet_latches_the_peer_and_strangers_are_dropped():
    relay, caller_port, agent_port = relay_with_call()
    relay.receive(agent_port, rtp(1), PHONE_BEHIND_NAT, 0.02)  # NAT: not the SDP address
    relay.receive(caller_port, rtp(1), GATEWAY, 0.02)
    relay.receive(agent_port, rtp(2), ("198.51.100.66", 5004), 0.04)  # a stranger
    out = relay.take_datagrams()
    assert out == [(caller_port, rtp(1), GATEWAY), (agent_port, rtp(1), PHONE_BEHIND_NAT)]
    assert relay.sessions[1].sides[AGENT].dropped == 1
    relay.set_peer(1, AGENT, PHONE)  # a late SDP does not undo what the packets showed
    assert relay.sessions[1].sides[AGENT].peer == PHONE_BEHIND_NAT


def test_taps_hear_both_sides_with_their_side():
    relay, caller_port, agent_port = relay_with_call()
    heard: list[tuple[int, int]] = []
    relay.tap(1, lambda side, data, now: heard.append((side, parse(data).sequence)))
    relay.receive(caller_port, rtp(5), GATEWAY, 0.0)
    relay.receive(agent_port, rtp(6), PHONE, 0.0)
    assert heard == [(CALLER, 5), (AGENT, 6)]


def test_ports_are_pairs_given_back_when_a_call_closes():
    # Even ports carry RTP; the odd one above each stays free for its RTCP.
    relay = MediaRelay(range(20000, 20008))
    first = relay.open(1, 0.0)
    second = relay.open(2, 0.0)
    with pytest.raises(MediaError, match="no free media ports"):
        relay.open(3, 0.0)
    ports = [side.local_port for s in (first, second) for side in s.sides]
    assert sorted(ports) == [20000, 20002, 20004, 20006]
    relay.close(1)
    relay.receive(first.sides[CALLER].local_port, rtp(1), GATEWAY, 1.0)  # late: dropped
    assert relay.take_datagrams() == []
    reopened = relay.open(3, 2.0)
    assert {s.local_port for s in reopened.sides} == {s.local_port for s in first.sides}


def test_rtcp_crosses_through_the_port_above_each_rtp_port():
    relay, caller_port, agent_port = relay_with_call()
    report = b"\x81\xc9\x00\x07" + bytes(28)  # a receiver report
    relay.receive(caller_port + 1, report, (GATEWAY[0], GATEWAY[1] + 1), 1.0)
    # Nothing heard from the phone's RTCP yet: to the port above its RTP.
    assert relay.take_datagrams() == [(agent_port + 1, report, (PHONE[0], PHONE[1] + 1))]
    relay.receive(agent_port + 1, report, PHONE_BEHIND_NAT, 1.0)  # NAT: its own port
    relay.receive(caller_port + 1, report, (GATEWAY[0], GATEWAY[1] + 1), 2.0)
    assert relay.take_datagrams() == [
        (caller_port + 1, report, (GATEWAY[0], GATEWAY[1] + 1)),
        (agent_port + 1, report, PHONE_BEHIND_NAT)]
    relay.receive(agent_port + 1, report, ("198.51.100.66", 5005), 2.0)  # a stranger
    assert relay.take_datagrams() == []
    assert relay.sessions[1].sides[CALLER].last_heard == 0.0  # RTCP is not RTP


def test_the_relay_listens_on_both_ports_of_each_side_and_lets_them_go():
    relay = MediaRelay(range(20000, 20004))
    relay.open(1, 0.0)
    assert relay.take_port_changes() == ([20000, 20001, 20002, 20003], [])
    relay.close(1)
    assert relay.take_port_changes() == ([], [20000, 20001, 20002, 20003])


def test_an_even_port_without_its_odd_neighbour_is_not_used():
    assert MediaRelay(range(20000, 20003)).calls_free == 0  # 20002 has no 20003
    assert MediaRelay(range(20000, 20004)).calls_free == 1


def test_a_silent_side_is_reported_once_after_the_media_timeout():
    relay, caller_port, agent_port = relay_with_call()
    now = 0.0
    while now < 40:
        now += 0.02
        relay.receive(caller_port, rtp(int(now * 50) % 65536), GATEWAY, now)
        if now < 10:  # the phone stops sending after 10 s
            relay.receive(agent_port, rtp(int(now * 50) % 65536), PHONE, now)
        deadline = relay.next_deadline()
        if deadline is not None and deadline <= now:
            relay.on_deadline(now)
    events = relay.take_events()
    assert len(events) == 1
    assert events[0].call == 1 and events[0].side == AGENT
    assert events[0].silent_for == pytest.approx(30, abs=0.1)
    assert isinstance(events[0], MediaTimeout)
