"""The media relay: both directions, one stream towards each party, latching, strangers
dropped, ports, RTCP read and sent, silence."""

from __future__ import annotations

import pytest

from appliance.media import rtcp
from appliance.media.relay import AGENT, CALLER, MediaError, MediaRelay, MediaTimeout
from appliance.media.rtp import RtpPacket, parse

GATEWAY = ("192.0.2.10", 40000)
PHONE = ("10.1.1.5", 16384)
PHONE_BEHIND_NAT = ("203.0.113.9", 61000)
NEXT_PHONE = ("10.1.1.6", 16384)


def rtp(sequence: int, ssrc: int = 0x1234) -> bytes:
    return bytes(RtpPacket(0, sequence, sequence * 160, ssrc, b"\xff" * 160))


def relay_with_call() -> tuple[MediaRelay, int, int]:
    relay = MediaRelay(range(20000, 20010), media_timeout=30)
    session = relay.open(1, now=0.0)
    relay.set_peer(1, CALLER, GATEWAY)
    relay.set_peer(1, AGENT, PHONE)
    return relay, session.sides[CALLER].local_port, session.sides[AGENT].local_port


def rtp_out(relay: MediaRelay) -> list[tuple[int, RtpPacket, tuple[str, int]]]:
    """The RTP the relay sent (RTCP, from the odd ports, left out), parsed."""
    return [(port, parse(data), to) for port, data, to in relay.take_datagrams()
            if port % 2 == 0]


def test_packets_cross_from_each_side_to_the_other_under_that_sides_stream():
    relay, caller_port, agent_port = relay_with_call()
    relay.receive(caller_port, rtp(1), GATEWAY, 0.02)
    relay.receive(agent_port, rtp(7, ssrc=9), PHONE, 0.03)
    out = rtp_out(relay)
    assert [(port, to) for port, _, to in out] == [(agent_port, PHONE), (caller_port, GATEWAY)]
    sides = relay.sessions[1].sides
    to_phone, to_gateway = out[0][1], out[1][1]
    assert to_phone.ssrc == sides[AGENT].stream.ssrc
    assert to_gateway.ssrc == sides[CALLER].stream.ssrc
    assert to_phone.payload == to_gateway.payload == b"\xff" * 160
    assert to_phone.marker and to_gateway.marker  # a new source for each party


def test_datagrams_that_cannot_be_rtp_are_dropped_and_counted():
    relay, caller_port, _ = relay_with_call()
    for junk in (b"", b"\x80\x00", bytes(20), b"\x40" + bytes(20)):  # short, version 0 and 1
        relay.receive(caller_port, junk, GATEWAY, 0.02)
    assert relay.take_datagrams() == []
    caller = relay.sessions[1].sides[CALLER]
    assert caller.malformed == 4 and caller.packets_in == 0 and not caller.latched


def test_the_first_packet_latches_the_peer_and_strangers_are_dropped():
    relay, caller_port, agent_port = relay_with_call()
    relay.receive(agent_port, rtp(1), PHONE_BEHIND_NAT, 0.02)  # NAT: not the SDP address
    relay.receive(caller_port, rtp(1), GATEWAY, 0.02)
    relay.receive(agent_port, rtp(2), ("198.51.100.66", 5004), 0.04)  # a stranger
    out = rtp_out(relay)
    assert [(port, to) for port, _, to in out] == [(caller_port, GATEWAY),
                                                  (agent_port, PHONE_BEHIND_NAT)]
    assert relay.sessions[1].sides[AGENT].dropped == 1
    relay.set_peer(1, AGENT, PHONE)  # a late SDP does not undo what the packets showed
    assert relay.sessions[1].sides[AGENT].peer == PHONE_BEHIND_NAT


def test_after_a_transfer_the_departed_partys_late_packets_do_not_latch_the_next_party():
    """A phone that transferred its call sends RTP until it has hung up; the next agent's
    phone, not those packets, must get the side (else neither it nor the caller hears)."""
    relay, caller_port, agent_port = relay_with_call()
    relay.receive(agent_port, rtp(1, ssrc=7), PHONE, 0.02)
    relay.release(1, AGENT, 1.0)
    relay.receive(agent_port, rtp(2, ssrc=7), PHONE, 1.01)
    relay.set_peer(1, AGENT, NEXT_PHONE)
    relay.receive(agent_port, rtp(1, ssrc=8), NEXT_PHONE, 1.2)
    relay.take_datagrams()
    relay.receive(caller_port, rtp(1), GATEWAY, 1.22)
    assert [to for _, _, to in rtp_out(relay)] == [NEXT_PHONE]
    agent = relay.sessions[1].sides[AGENT]
    assert (agent.peer, agent.dropped, agent.packets_in) == (NEXT_PHONE, 1, 1)


def receiver_report(ssrc: int) -> bytes:
    """An RTCP RR with no report blocks from `ssrc` (RFC 3550 6.4.2)."""
    return b"\x80\xc9\x00\x01" + ssrc.to_bytes(4, "big")


def test_after_a_transfer_the_departed_partys_late_reports_do_not_latch_the_next_party():
    relay, _, agent_port = relay_with_call()
    phone_rtcp, next_rtcp = (PHONE[0], PHONE[1] + 1), (NEXT_PHONE[0], NEXT_PHONE[1] + 1)
    relay.receive(agent_port, rtp(1, ssrc=7), PHONE, 0.02)
    relay.receive(agent_port + 1, receiver_report(7), phone_rtcp, 0.5)
    relay.release(1, AGENT, 1.0)
    relay.receive(agent_port + 1, receiver_report(7), phone_rtcp, 1.1)
    agent = relay.sessions[1].sides[AGENT]
    assert (agent.rtcp_peer, agent.dropped) == (None, 1)
    relay.receive(agent_port + 1, receiver_report(8), next_rtcp, 1.5)
    assert relay.sessions[1].sides[AGENT].rtcp_peer == next_rtcp


def test_the_same_phone_taking_the_call_again_is_latched_by_its_new_stream():
    relay, _, agent_port = relay_with_call()
    relay.receive(agent_port, rtp(1, ssrc=7), PHONE, 0.02)
    relay.release(1, AGENT, 1.0)
    relay.set_peer(1, AGENT, PHONE)
    relay.receive(agent_port, rtp(1, ssrc=9), PHONE, 1.5)  # a new call for it: a new SSRC
    agent = relay.sessions[1].sides[AGENT]
    assert (agent.latched, agent.peer, agent.dropped) == (True, PHONE, 0)


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


def rtcp_out(relay: MediaRelay) -> list[tuple[int, tuple, tuple[str, int]]]:
    return [(port, rtcp.parse(data), to) for port, data, to in relay.take_datagrams()
            if port % 2 == 1]


def run_until(relay: MediaRelay, until: float) -> None:
    deadline = relay.next_deadline()
    while deadline is not None and deadline <= until:
        relay.on_deadline(deadline)
        deadline = relay.next_deadline()


def test_rtcp_is_read_not_relayed_and_ours_goes_to_the_port_above_each_rtp_port():
    relay, caller_port, agent_port = relay_with_call()
    report = bytes(rtcp.ReceiverReport(0x1234))
    relay.receive(caller_port + 1, report, (GATEWAY[0], GATEWAY[1] + 1), 1.0)
    assert relay.take_datagrams() == []  # the gateway's report is about our stream: kept
    relay.receive(agent_port + 1, report, PHONE_BEHIND_NAT, 1.0)  # NAT: its own port
    relay.receive(agent_port + 1, report, ("198.51.100.66", 5005), 2.0)  # a stranger
    assert relay.sessions[1].sides[AGENT].dropped == 1
    assert relay.sessions[1].sides[CALLER].last_heard == 0.0  # RTCP is not RTP
    run_until(relay, 10.0)
    sent = rtcp_out(relay)
    # Reports to the gateway at the port above its RTP, to the phone where its RTCP came from.
    assert {(port, to) for port, _, to in sent} == {
        (caller_port + 1, (GATEWAY[0], GATEWAY[1] + 1)), (agent_port + 1, PHONE_BEHIND_NAT)}


def test_rtcp_on_the_rtp_port_is_read_and_never_relayed_as_audio():
    relay, caller_port, _ = relay_with_call()
    caller = relay.sessions[1].sides[CALLER]
    relay.receive(caller_port, rtp(1), GATEWAY, 0.02)
    about_us = rtcp.ReportBlock(caller.stream.ssrc, 0, 7)
    relay.receive(caller_port, bytes(rtcp.ReceiverReport(0x1234, (about_us,))), GATEWAY, 0.03)
    relay.receive(caller_port, rtp(2), GATEWAY, 0.04)
    out = rtp_out(relay)
    assert len(out) == 2 and not out[1][1].marker  # one source: no change of source
    assert caller.packets_in == 2 and caller.rtcp.reception.received == 2
    assert relay.quality(1)[CALLER].reported_lost == 7


def test_reports_come_every_five_seconds_or_so_with_a_cname_and_a_bye_at_the_end():
    relay, caller_port, agent_port = relay_with_call()
    for n in range(1, 3001):  # a minute of the gateway talking
        relay.receive(caller_port, rtp(n), GATEWAY, n * 0.02)
        run_until(relay, n * 0.02)
    sent = [(port, packets) for port, packets, _ in rtcp_out(relay) if port == agent_port + 1]
    # RFC 3550 6.2: 5 s on average, each 2.5-7.5 s, the first after half that.
    assert 8 <= len(sent) <= 24
    for _, packets in sent:
        first, sdes = packets
        assert isinstance(first, rtcp.SenderReport)  # we send the phone RTP
        assert sdes.chunks[0].cname == "ccbox" and sdes.chunks[0].ssrc == first.ssrc
    stream = relay.sessions[1].sides[AGENT].stream
    relay.close(1, 61.0)
    goodbyes = rtcp_out(relay)
    assert len(goodbyes) == 2
    for _, packets, _ in goodbyes:
        assert isinstance(packets[-1], rtcp.Bye)
    last = next(packets[0] for port, packets, _ in goodbyes if port == agent_port + 1)
    assert (last.ssrc, last.packet_count, last.octet_count) == (stream.ssrc, 3000, 3000 * 160)
    # The gateway sent, so our report to it carries a block about its stream: nothing lost.
    to_gateway = next(packets for port, packets, _ in goodbyes if port == caller_port + 1)
    assert isinstance(to_gateway[0], rtcp.ReceiverReport)  # we sent the gateway nothing
    block = to_gateway[0].reports[0]
    assert (block.ssrc, block.cumulative_lost, block.highest_sequence) == (0x1234, 0, 3000)


def test_quality_figures_count_loss_and_take_the_round_trip_from_the_partys_report():
    relay, caller_port, agent_port = relay_with_call()
    for n in range(1, 501):
        if n % 50 != 25:  # one packet in fifty lost on the way
            relay.receive(caller_port, rtp(n), GATEWAY, n * 0.02)
        relay.receive(agent_port, rtp(n, ssrc=9), PHONE, n * 0.02)
        run_until(relay, n * 0.02)
    ours = [packets[0] for port, packets, _ in rtcp_out(relay) if port == caller_port + 1]
    sr = ours[-1]
    assert isinstance(sr, rtcp.SenderReport)  # the phone's audio went to the gateway
    # The gateway answers 40 ms later with a block about our stream, held 10 ms.
    lsr = (sr.ntp_timestamp >> 16) & 0xFFFFFFFF
    block = rtcp.ReportBlock(sr.ssrc, 0, 2, 500, 0, lsr, int(0.010 * 65536))
    reply = bytes(rtcp.ReceiverReport(0x1234, (block,)))
    sr_time = _sr_time(relay.sessions[1].sides[CALLER].rtcp, sr)
    relay.receive(caller_port + 1, reply, (GATEWAY[0], GATEWAY[1] + 1), sr_time + 0.040)
    caller, agent = relay.quality(1)
    assert (caller.packets_received, caller.packets_lost) == (490, 10)
    assert (agent.packets_received, agent.packets_lost) == (500, 0)
    assert caller.rtt_ms == pytest.approx(30, abs=0.1) and caller.reported_lost == 2
    assert agent.rtt_ms is None and agent.reported_lost is None
    assert caller.jitter_max_ms >= caller.jitter_mean_ms >= 0


def _sr_time(party, sr) -> float:
    """When the relay sent `sr`, from its NTP timestamp."""
    from appliance.media.quality import NTP_UNIX_OFFSET
    return sr.ntp_timestamp / 2**32 - NTP_UNIX_OFFSET - party.ntp_epoch


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


def test_a_withheld_payload_type_is_tapped_not_relayed_and_a_released_side_withholds_none():
    relay, caller_port, agent_port = relay_with_call()
    tapped: list[int] = []
    relay.tap(1, lambda side, packet, now: tapped.append(packet[1] & 0x7F))
    relay.withhold(1, AGENT, 101)
    event = bytes(RtpPacket(101, 2, 320, 9, b"\x0b\x8a\x03\x20"))
    relay.receive(agent_port, rtp(1, ssrc=9), PHONE, 0.02)
    relay.receive(agent_port, event, PHONE, 0.04)
    relay.receive(caller_port, event, GATEWAY, 0.05)  # the caller's keys cross as ever
    assert [(port, packet.payload_type) for port, packet, _ in rtp_out(relay)] == [
        (caller_port, 0), (agent_port, 101)]
    assert tapped == [0, 101, 101]
    relay.release(1, AGENT, 0.1)
    relay.receive(agent_port, event, NEXT_PHONE, 0.12)
    assert [packet.payload_type for _, packet, _ in rtp_out(relay)] == [101]


def test_a_covered_side_hears_nothing_of_the_other_until_uncovered():
    relay, caller_port, agent_port = relay_with_call()
    relay.cover(1, AGENT, True)
    relay.receive(caller_port, rtp(1), GATEWAY, 0.02)
    relay.receive(agent_port, rtp(7, ssrc=9), PHONE, 0.03)
    assert [port for port, _, _ in rtp_out(relay)] == [caller_port]  # the other way crosses
    relay.cover(1, AGENT, False)
    relay.receive(caller_port, rtp(2), GATEWAY, 0.04)
    assert [port for port, _, _ in rtp_out(relay)] == [agent_port]
