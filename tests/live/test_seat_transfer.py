"""An agent on an FXS gateway's port transfers a call the analog way, live through `ccbox
serve`. The testbed's user agents play an fxs-8 gateway whose port 2 is agent 1001's seat (no
registration), the trunk's caller and colleague 1002's SIP phone, each sending a tone of its
own on RTP (the caller 600 Hz, the seat 1400 Hz, the colleague 1000 Hz). The queue's call
rings the seat at `sip:2@gateway`; the seat answers and the two hear each other. The seat
then hook-flashes as an analog phone does through its gateway - RFC 4733 event 16 in its RTP
- keys 1002 and `#` the same way, talks to the colleague with the caller held, and hangs up:
the call is transferred to the colleague on record, and the caller and the colleague hear
each other (the relay, latched to the seat's RTP, lets the seat's side go for the
colleague's)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from random import Random

import numpy as np
import pytest
import yaml

from appliance.events import CallHeld, CallTransferred, ExtensionCallEnded
from appliance.live.udp import UdpDriver
from appliance.media.rtp import RtpPacket
from appliance.records.store import RecordReader
from sim.live import ApplianceProcess, media_port_range, write_site
from sim.sipua import UserAgent
from sim.traffic.rtp_pcap import rtp_audio
from sim.traffic.sipp import free_udp_port
from tests.live.parties import GatewayAndPhones, RtpParty, incoming, relay_address, until
from tests.live.test_hold_music import share_at

pytestmark = pytest.mark.slow

PASSWORDS = {"1001": "pw-1001", "1002": "pw-1002"}  # 1001 is the seat: its phone never used
CALLER_HZ, SEAT_HZ, COLLEAGUE_HZ = 600.0, 1400.0, 1000.0
EVENT_PT = 101
KEY_EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "flash": 16}


def offer_with_events(port: int) -> bytes:
    """A PCMU offer with RFC 4733 telephone-events (flash included), as an analog gateway
    makes."""
    return (f"v=0\r\no=gw 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0 {EVENT_PT}\r\na=rtpmap:{EVENT_PT} telephone-event/8000\r\n"
            f"a=fmtp:{EVENT_PT} 0-16\r\na=sendrecv\r\n").encode()


def site_with_seat(path: Path, caller_port: int, fxs_port: int, high: int) -> Path:
    config = write_site(path, caller_port, PASSWORDS,
                        media={"queued_callers": "answer", "rtp_port_max": high - 6},
                        sip={"probe_interval": 5.0})
    site = yaml.safe_load(config.read_text())
    site["gateways"] = [{"name": "fxs1", "profile": "fxs-8", "address": f"127.0.0.1:{fxs_port}",
                         "ports": [{"ports": "2", "seats": "1001"}]}]
    config.write_text(yaml.safe_dump(site, sort_keys=False))
    return config


class SeatParties(GatewayAndPhones):
    """The trunk's caller, colleague 1002's phone and the FXS gateway ("fxs")."""

    def __init__(self, box: tuple[str, int], caller_port: int, fxs_port: int,
                 high: int) -> None:
        super().__init__(box, caller_port, {"1002": PASSWORDS["1002"]}, {
            "gw": RtpParty(high - 1, CALLER_HZ), "fxs": RtpParty(high - 3, SEAT_HZ),
            "1002": RtpParty(high - 5, COLLEAGUE_HZ)})
        self.fxs = UserAgent("fxs", "", ("127.0.0.1", fxs_port), box, Random("fxs"))
        self.drivers["fxs"] = UdpDriver(self.fxs, "127.0.0.1", fxs_port)  # type: ignore[arg-type]

    async def key(self, key: str) -> None:
        """The seat's key as RFC 4733 packets in its RTP: start, update, three ends."""
        rtp = self.rtp["fxs"]
        assert rtp.peer is not None
        stamp = rtp.seq * 160
        for k, (duration, end) in enumerate([(160, False), (640, False), *[(800, True)] * 3]):
            payload = bytes([KEY_EVENTS[key], (0x80 if end else 0) | 10]) + duration.to_bytes(2)
            packet = RtpPacket(EVENT_PT, rtp.seq & 0xFFFF, stamp, rtp.ssrc, payload,
                               marker=k == 0)
            rtp.sock.sendto(bytes(packet), rtp.peer)
            rtp.seq += 1
            await asyncio.sleep(0.02)
        await self.talk("keys", 0.2)


async def seat_transfer(parties: SeatParties) -> tuple[str, int]:
    await parties.start(register=False)
    gw, fxs, colleague = parties.gateway, parties.fxs, parties.phones["1002"]
    call = parties.do(gw, "call", "100", offer_with_events(parties.rtp["gw"].port), "13800000000")
    await until(lambda: incoming(fxs) is not None, "the seat rung")
    rung = incoming(fxs)
    assert rung is not None
    uri = fxs.calls[rung].invite.uri
    parties.rtp["fxs"].peer = relay_address(fxs.calls[rung].invite.body)
    parties.do(fxs, "answer", rung, offer_with_events(parties.rtp["fxs"].port))
    await until(lambda: gw.calls[call].state == "answered", "the caller answered")  # type: ignore[index]
    parties.rtp["gw"].peer = relay_address(gw.calls[call].remote_body)  # type: ignore[index]
    await parties.talk("seat")
    parties.do(colleague, "register", 3600)
    await until(lambda: any(e.kind == "registered" for e in colleague.events), "registered")
    for key in ["flash", *"1002#"]:
        await parties.key(key)
    await until(lambda: incoming(colleague) is not None, "the colleague rung")
    consulted = incoming(colleague)
    assert consulted is not None
    parties.rtp["1002"].peer = relay_address(colleague.calls[consulted].invite.body)
    parties.do(colleague, "answer", consulted, parties.offer("1002"))
    await parties.talk("consulting")
    parties.rtp["fxs"].peer = None
    parties.do(fxs, "hangup", rung)
    await until(lambda: any(e.kind == "reinvited" for e in colleague.events), "moved")
    parties.rtp["1002"].peer = relay_address(colleague.calls[consulted].remote_body)
    await parties.talk("colleague")
    parties.do(gw, "hangup", call)
    await until(lambda: colleague.calls[consulted].state == "ended", "the colleague released")
    return uri, consulted


def hears(parties: SeatParties, who: str, phase: str, hz: float, *not_hz: float) -> None:
    audio = rtp_audio(parties.rtp[who].received[phase]).astype(np.float64)
    assert len(audio) >= 8000, (who, phase)
    assert share_at(audio, hz) > 0.1, (who, phase, hz)
    for other in not_hz:
        assert share_at(audio, other) < 0.01, (who, phase, other)


def test_a_seat_answers_talks_flashes_consults_and_hangs_up_to_transfer(tmp_path: Path) -> None:
    _, high = media_port_range()
    caller_port, fxs_port = free_udp_port(), free_udp_port()
    box = ApplianceProcess(site_with_seat(tmp_path / "site.yaml", caller_port, fxs_port, high),
                           tmp_path)
    parties = SeatParties(box.address, caller_port, fxs_port, high)
    try:
        uri, _ = asyncio.run(seat_transfer(parties))
    finally:
        parties.close()
        assert box.stop() == 0, box.log()
    assert uri == f"sip:2@127.0.0.1:{fxs_port}"
    hears(parties, "gw", "seat", SEAT_HZ)
    hears(parties, "fxs", "seat", CALLER_HZ)
    hears(parties, "fxs", "consulting", COLLEAGUE_HZ, CALLER_HZ)
    hears(parties, "1002", "consulting", SEAT_HZ, CALLER_HZ)
    records = RecordReader(box.records).events()
    assert [r.agent for r in records if isinstance(r, CallHeld)] == ["1001"]
    [moved] = [r for r in records if isinstance(r, CallTransferred)]
    assert (moved.agent, moved.target) == ("1001", "agent:1002")
    assert [r.cause for r in records if isinstance(r, ExtensionCallEnded)] == ["transferred"]
    hears(parties, "gw", "colleague", COLLEAGUE_HZ, SEAT_HZ)
    hears(parties, "1002", "colleague", CALLER_HZ)
