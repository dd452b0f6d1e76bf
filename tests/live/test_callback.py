"""Callback keeping the caller's place through `ccbox serve`, with the testbed's user agents
over real UDP: one is the trunk's gateway (callers come in from it, and the callback goes out
through it), one the agent's phone, each party sending a tone on RTP from its own socket
(caller A 600 Hz, the agent 1400 Hz).

No agent is free at first (the phone has not registered). Caller A waits, presses the
queue's callback key and 1 over the read-back of their number (RFC 4733 events), hears the
goodbye and is hung up. Caller B joins later. The phone registers, so its agent is free: the
appliance calls A back through the gateway - after the agent answers (agent first) or before
it rings them (caller first) - and A and the agent hear each other's tone, while B still
waits. The records link the call to its outside call, and the call is answered (and
recorded) before B's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from appliance.events import (
    CallAnswered,
    CallbackDialled,
    CallbackRequested,
    CallEnded,
    OutsideCallEnded,
    OutsideCallStarted,
    RecordingStarted,
)
from appliance.media.dtmf import telephone_event_packets
from appliance.media.rtp import RtpPacket
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range
from sim.sipua import offer_sdp
from sim.traffic.rtp_pcap import dominant_frequency, rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import (
    GatewayAndPhones,
    RtpParty,
    incoming,
    relay_address,
    until,
    write_site_calling_out,
)

pytestmark = pytest.mark.slow

AGENT, PASSWORD = "1001", "pw-1001"
A_NUMBER, B_NUMBER = "13800000001", "13800000002"
A_HZ, AGENT_HZ = 600.0, 1400.0
WITHIN = 20.0


def keyed_offer(port: int) -> bytes:
    """A G.711 offer with RFC 4733 telephone events, as a gateway that relays keys makes."""
    return (f"v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
            "a=fmtp:101 0-15\r\na=sendrecv\r\n").encode()


async def press(party: RtpParty, digit: str) -> None:
    """One key press as RFC 4733 events to the party's peer, a packet every 20 ms."""
    assert party.peer is not None
    timestamp = party.seq * 160
    for packet in telephone_event_packets(digit, 800):
        rtp = RtpPacket(101, party.seq & 0xFFFF, timestamp, party.ssrc,
                        bytes(packet.payload), packet.marker)
        party.sock.sendto(bytes(rtp), party.peer)
        party.seq += 1
        await asyncio.sleep(0.02)


class Parties(GatewayAndPhones):
    """The gateway (caller A's and B's calls, and the callback) and the agent's phone."""

    def __init__(self, box: tuple[str, int], gateway_port: int, high: int) -> None:
        self.a, self.agent = RtpParty(high - 1, A_HZ), RtpParty(high - 3, AGENT_HZ)
        super().__init__(box, gateway_port, {AGENT: PASSWORD},
                         {"gw": self.a, AGENT: self.agent})
        self.phone = self.phones[AGENT]

    async def book_callback(self) -> None:
        """Caller A waits, asks for a callback (key 1), confirms (1) and is hung up."""
        call = self.do(self.gateway, "call", "100", keyed_offer(self.a.port), None,
                       A_NUMBER)
        assert isinstance(call, int)
        await until(lambda: self.gateway.calls[call].state == "answered", "A queued", WITHIN)
        self.a.peer = relay_address(self.gateway.calls[call].remote_body)
        await asyncio.sleep(0.5)
        await press(self.a, "1")
        await asyncio.sleep(1.0)  # the read-back has begun; a key cuts it short
        await press(self.a, "1")
        await until(lambda: self.gateway.calls[call].state == "ended", "A released", WITHIN)
        self.a.peer = None

    async def answer_phone(self) -> None:
        await until(lambda: incoming(self.phone) is not None, "the agent rung", WITHIN)
        ringing = incoming(self.phone)
        assert ringing is not None
        self.agent.peer = relay_address(self.phone.calls[ringing].invite.body)
        self.do(self.phone, "answer", ringing, offer_sdp("127.0.0.1", self.agent.port))

    async def answer_callback(self) -> int:
        await until(lambda: incoming(self.gateway) is not None, "A called back", WITHIN)
        back = incoming(self.gateway)
        assert back is not None
        self.called = self.gateway.calls[back].invite.uri
        self.a.peer = relay_address(self.gateway.calls[back].invite.body)
        self.do(self.gateway, "answer", back, offer_sdp("127.0.0.1", self.a.port))
        return back


async def scenario(parties: Parties, mode: str) -> None:
    await parties.start(register=False)
    gateway = parties.gateway
    await parties.book_callback()
    b = parties.do(gateway, "call", "100", offer_sdp("127.0.0.1", 9), None, B_NUMBER)
    assert isinstance(b, int)
    await until(lambda: gateway.calls[b].state == "answered", "B queued", WITHIN)
    parties.do(parties.phone, "register", 3600)
    if mode == "agent_first":
        await parties.answer_phone()
        back = await parties.answer_callback()
    else:
        back = await parties.answer_callback()
        await parties.answer_phone()
    await parties.talk()
    assert gateway.calls[b].state == "answered"  # B still waits in the queue
    parties.do(gateway, "hangup", back)
    await asyncio.sleep(0.3)
    parties.do(gateway, "hangup", b)
    await asyncio.sleep(0.5)


@pytest.mark.parametrize("mode", ["agent_first", "caller_first"])
def test_a_caller_who_hung_up_is_called_back_in_their_place_and_talks_to_the_agent(
        tmp_path: Path, mode: str) -> None:
    _, high = media_port_range()
    gateway_port = free_udp_port()
    config = write_site_calling_out(
        tmp_path / "site.yaml", gateway_port, {AGENT: PASSWORD},
        media={"queued_callers": "answer", "rtp_port_max": high - 4},
        callback={"key": "1", "mode": mode, "ring_timeout": 15})
    box = ApplianceProcess(config, tmp_path)
    parties = Parties(box.address, gateway_port, high)
    try:
        asyncio.run(scenario(parties, mode))
    finally:
        parties.close()
        assert box.stop() == 0, box.log()
    assert parties.called == f"sip:{A_NUMBER}@127.0.0.1:{gateway_port}"
    assert abs(dominant_frequency(rtp_audio(parties.a.received["talking"])) - AGENT_HZ) < 5
    assert abs(dominant_frequency(rtp_audio(parties.agent.received["talking"])) - A_HZ) < 5
    records = RecordReader(box.records).events()
    [requested] = [r for r in records if isinstance(r, CallbackRequested)]
    call = requested.call
    assert requested.number == A_NUMBER
    [dialled] = [r for r in records if isinstance(r, CallbackDialled)]
    [started] = [r for r in records if isinstance(r, OutsideCallStarted)]
    assert (dialled.call, dialled.outside_call) == (call, started.call)
    assert (started.purpose, started.number) == ("callback", A_NUMBER)
    assert [r.cause for r in records if isinstance(r, OutsideCallEnded)] == ["far_hangup"]
    assert next((r.call, r.agent) for r in records if isinstance(r, CallAnswered)) == (
        call, AGENT)
    assert any(isinstance(r, RecordingStarted) and r.call == call for r in records)
    assert [r.cause for r in records if isinstance(r, CallEnded) and r.call == call] == [
        "caller_hangup"]
