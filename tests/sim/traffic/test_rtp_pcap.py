"""RTP captures for SIPp: what the pcap holds, and what SIPp really sends from it.

The file is checked through scapy's reading of it (the frames, their lengths, checksums and
capture times), and then by SIPp itself: caller_media.xml and agent_media.xml play it to a SIPp
peer whose SDP points the RTP at a socket this test reads, and the tone and key presses are
found in what arrives.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from scapy.data import DLT_EN10MB
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Padding, Raw
from scapy.utils import PcapNgReader, PcapReader, wrpcap

from appliance.media import g711
from appliance.media.dtmf import GoertzelDetector, Rfc4733Receiver, TelephoneEvent
from appliance.media.rtp import RtpPacket, parse
from sim.traffic.rtp_pcap import (
    CAPTURE_EPOCH_US,
    FRAME_SAMPLES,
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    dominant_frequency,
    dtmf_tone,
    read_pcap,
    rtp_audio,
    rtp_stream,
    tone,
    write_rtp_pcap,
)
from sim.traffic.sipp import (
    SippConfig,
    SippResult,
    SippRun,
    build_command,
    free_udp_block,
    scenario_path,
)

# Every SIPp run in this module ends by this deadline, whatever happens.
BOUND = 30.0
# One second of 1 kHz with "5" pressed at 0.3 s and "#" at 0.6 s, 100 ms each: 50 slots of
# 20 ms. A 100 ms press is 4 updates (20, 40, 60, 80 ms) and the final packet (100 ms) sent 3
# times: 7 slots of telephone-events from slot 15 and from slot 30.
DIGITS = ((0.3, "5"), (0.6, "#"))
FIRST_EVENT_SLOTS = (15, 30)
EVENT_SLOTS = 7
SLOTS = 50


def _received_digits(packets: list[RtpPacket]) -> list[str]:
    receiver = Rfc4733Receiver()
    digits = []
    for packet in packets:
        if packet.payload_type == TELEPHONE_EVENT:
            digits += receiver.feed(packet.timestamp, packet.marker, packet.payload, now=0.0)
    return digits


def _capture(path: Path) -> list[Packet]:
    """The frames of a capture as scapy reads them, checked on the way to be what SIPp reads:
    a classic microsecond libpcap file of Ethernet frames, each captured whole."""
    with PcapReader(str(path)) as reader:
        assert not isinstance(reader, PcapNgReader)
        assert (reader.linktype, reader.nano) == (DLT_EN10MB, False)
        frames = list(reader)
    assert all(frame.wirelen == len(frame) for frame in frames)  # SIPp refuses truncated ones
    return frames


@pytest.fixture
def pcap(tmp_path: Path) -> Path:
    return write_rtp_pcap(tmp_path / "tone.pcap", tone(1000, 1.0), digits=DIGITS)


# Signals


def test_tone_is_8khz_int16_at_the_level_asked() -> None:
    samples = tone(1000, 0.5, level=0.3)
    assert samples.dtype == np.int16
    assert len(samples) == 4000
    assert np.abs(samples).max() == pytest.approx(0.3 * 32_767, rel=1e-3)
    assert dominant_frequency(samples) == pytest.approx(1000, abs=0.5)


@pytest.mark.parametrize("frequency", [300.0, 697.0, 1000.0, 1633.0, 3400.0])
def test_dominant_frequency_finds_a_tone_between_fft_bins(frequency: float) -> None:
    assert dominant_frequency(tone(frequency, 0.4)) == pytest.approx(frequency, abs=1.0)


def test_dominant_frequency_refuses_silence() -> None:
    with pytest.raises(ValueError, match="silent"):
        dominant_frequency(np.zeros(800, dtype=np.int16))


@pytest.mark.parametrize("digit", list("0123456789*#ABCD"))
def test_dtmf_tone_is_heard_by_the_appliance_detector(digit: str) -> None:
    silence = np.zeros(800, dtype=np.int16)
    audio = np.concatenate([silence, dtmf_tone(digit, 0.08), silence])
    assert GoertzelDetector().feed(audio) == [digit]


def test_dtmf_tone_refuses_what_is_not_a_digit() -> None:
    with pytest.raises(ValueError, match="DTMF"):
        dtmf_tone("E", 0.1)


# The stream


def test_stream_sends_one_packet_per_20_ms_slot_with_events_instead_of_audio() -> None:
    stream = rtp_stream(
        tone(1000, 1.0), digits=DIGITS, first_sequence=65_530, first_timestamp=1_000
    )
    assert [timed.offset for timed in stream] == pytest.approx([i * 0.02 for i in range(SLOTS)])
    packets = [timed.packet for timed in stream]
    assert [p.sequence for p in packets] == [(65_530 + i) % 65_536 for i in range(SLOTS)]
    assert {p.ssrc for p in packets} == {packets[0].ssrc}
    event_slots = {s + i for s in FIRST_EVENT_SLOTS for i in range(EVENT_SLOTS)}
    for slot, packet in enumerate(packets):
        if slot in event_slots:
            assert packet.payload_type == TELEPHONE_EVENT
            start = max(s for s in FIRST_EVENT_SLOTS if s <= slot)
            assert packet.timestamp == 1_000 + start * FRAME_SAMPLES
        else:
            assert packet.payload_type == PCMU
            assert packet.timestamp == 1_000 + slot * FRAME_SAMPLES
            assert len(packet.payload) == FRAME_SAMPLES
    assert [slot for slot, p in enumerate(packets) if p.marker] == [0, *FIRST_EVENT_SLOTS]


def test_each_key_press_is_updates_then_three_final_packets() -> None:
    packets = [timed.packet for timed in rtp_stream(tone(1000, 1.0), digits=DIGITS)]
    for start, digit_code in zip(FIRST_EVENT_SLOTS, (5, 11), strict=True):
        events = [TelephoneEvent.parse(p.payload) for p in packets[start : start + EVENT_SLOTS]]
        assert {e.event for e in events} == {digit_code}
        assert [e.duration for e in events] == [160, 320, 480, 640, 800, 800, 800]
        assert [e.end for e in events] == [False] * 4 + [True] * 3
    assert _received_digits(packets) == ["5", "#"]


def test_a_key_press_after_the_audio_extends_the_stream() -> None:
    packets = [timed.packet for timed in rtp_stream(tone(1000, 0.1), digits=[(0.2, "9")])]
    assert [p.payload_type for p in packets] == [PCMU] * 5 + [TELEPHONE_EVENT] * EVENT_SLOTS
    assert _received_digits(packets) == ["9"]


def test_a_press_longer_than_one_event_segment_is_one_digit() -> None:
    # 9 s is 72,000 timestamp units: past the 65,535 one event can count (RFC 4733 2.5.1.5).
    stream = rtp_stream(tone(1000, 0.1), digits=[(0.0, "1")], digit_seconds=9.0)
    assert _received_digits([timed.packet for timed in stream]) == ["1"]


def test_overlapping_key_presses_are_refused() -> None:
    with pytest.raises(ValueError, match="overlaps"):
        rtp_stream(tone(1000, 1.0), digits=[(0.3, "1"), (0.4, "2")])


@pytest.mark.parametrize("payload_type", [3, 101])
def test_only_g711_is_encoded(payload_type: int) -> None:
    with pytest.raises(ValueError, match=r"G\.711"):
        rtp_stream(tone(1000, 0.1), payload_type=payload_type)


def test_audio_must_be_int16() -> None:
    with pytest.raises(TypeError, match="int16"):
        rtp_stream(np.zeros(160, dtype=np.float64))


# The pcap file


def test_pcap_holds_one_udp_datagram_per_packet_at_its_send_time(pcap: Path) -> None:
    frames = _capture(pcap)
    assert len(frames) == SLOTS
    times = [round(frame.time * 1_000_000) for frame in frames]
    # Exact 20 ms steps, and a first timestamp that is not 0 (SIPp 3.6 reads 0 as "no last
    # packet" and sends the second one at once).
    assert times == [CAPTURE_EPOCH_US + i * 20_000 for i in range(SLOTS)]
    assert times[0] > 0


def test_pcap_frames_have_valid_ipv4_and_udp_lengths_and_checksums(pcap: Path) -> None:
    for frame in _capture(pcap):
        assert Raw in frame[UDP]  # the RTP is not taken for some other protocol
        assert frame[UDP].chksum != 0  # 0 would mean "no checksum"
        # scapy recomputes what is deleted: the frame must come out byte for byte the same.
        rebuilt = frame.copy()
        del rebuilt[IP].len, rebuilt[IP].chksum, rebuilt[UDP].len, rebuilt[UDP].chksum
        assert bytes(Ether(bytes(rebuilt))) == bytes(frame)


def test_pcap_reads_back_as_the_rtp_stream(pcap: Path) -> None:
    datagrams = read_pcap(pcap)
    # One destination port only: SIPp sends each packet to the peer's port plus its port's
    # distance from the lowest destination port in the file.
    assert {(d.source, d.destination) for d in datagrams} == {
        (("127.0.0.1", 6000), ("127.0.0.1", 6002))
    }
    packets = [parse(d.payload) for d in datagrams]
    expected = [timed.packet for timed in rtp_stream(tone(1000, 1.0), digits=DIGITS)]
    assert packets == expected


def test_read_pcap_leaves_out_ethernet_padding_and_what_is_not_udp(tmp_path: Path) -> None:
    # A real capture pads frames to Ethernet's 60-byte minimum: a 16-byte telephone-event
    # packet in a 58-byte frame gets 2 bytes that are no part of the datagram.
    rtp = bytes(rtp_stream(tone(1000, 0.02), digits=[(0.0, "1")])[0].packet)
    ether = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    addresses = {"src": "192.0.2.1", "dst": "192.0.2.2"}
    udp = ether / IP(**addresses) / UDP(sport=4000, dport=4002) / Raw(rtp) / Padding(b"\0\0")
    not_udp = ether / IP(**addresses, proto=6) / Raw(b"\0" * 20)
    path = tmp_path / "padded.pcap"
    wrpcap(str(path), [not_udp, udp])
    (datagram,) = read_pcap(path)
    assert datagram.payload == rtp
    assert (datagram.source, datagram.destination) == (("192.0.2.1", 4000), ("192.0.2.2", 4002))


def test_received_audio_is_decoded_in_sequence_order(tmp_path: Path) -> None:
    audio = tone(440, 0.5)
    stream = rtp_stream(audio, payload_type=PCMA, digits=[(0.2, "0")], first_sequence=65_520)
    datagrams = [bytes(timed.packet) for timed in stream]
    shuffled = [*datagrams, datagrams[3]]  # and one duplicate
    random.Random(7).shuffle(shuffled)
    expected = [timed.packet.payload for timed in stream if timed.packet.payload_type == PCMA]
    decoded = rtp_audio(shuffled)
    assert np.array_equal(decoded, g711.alaw_decode(b"".join(expected)))


def test_no_audio_decodes_to_no_samples() -> None:
    assert rtp_audio([]).size == 0


def test_ulaw_pcap_decodes_close_to_the_tone(tmp_path: Path) -> None:
    audio = tone(1000, 0.2)
    path = write_rtp_pcap(tmp_path / "ulaw.pcap", audio, payload_type=PCMU)
    decoded = rtp_audio([d.payload for d in read_pcap(path)])
    assert np.abs(decoded.astype(int) - audio.astype(int)).max() <= 4 << 7  # G.711 step bound


# Through SIPp


def test_keys_come_before_a_scenario_file_on_the_sipp_command_line(tmp_path: Path) -> None:
    # SIPp loads the pcap of play_pcap_audio="[pcap]" when it reads -sf: -key must be known.
    config = SippConfig(scenario_path("caller_media.xml"), keys={"pcap": "/x.pcap"})
    command = build_command(config, "sipp", 40000, 40001, tmp_path)
    assert command.index("-key") < command.index("-sf")
    assert command[command.index("-key") : command.index("-key") + 3] == ["-key", "pcap", "/x.pcap"]


def _raw_sockets_allowed() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP).close()
    except PermissionError:
        return False
    return True


needs_raw_sockets = pytest.mark.skipif(
    not _raw_sockets_allowed(), reason="SIPp plays pcaps through a raw socket: run as root"
)

# A phone that answers with an SDP pointing its RTP at the test's socket (-set rtp_port N).
RTP_SINK = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="test rtp sink">
  <Global variables="rtp_port"/>
  <recv request="INVITE" crlf="true"/>
  <send retrans="500">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:sink@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sink 1 1 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio [$rtp_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=sendrecv

    ]]>
  </send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
</scenario>
"""

# A caller whose SDP offer points the agent's RTP at the test's socket; BYE after -d.
RTP_SINK_CALLER = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="test rtp sink caller">
  <Global variables="rtp_port"/>
  <send retrans="500">
    <![CDATA[

      INVITE sip:agent@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:sink@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:agent@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sink@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sink 1 1 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio [$rtp_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=sendrecv

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:sink@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:agent@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause/>
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:sink@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:agent@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
"""


@pytest.fixture
def rtp_socket() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        # A second of 20 ms packets is ~9 kB: far below the default receive buffer, so the
        # test reads them all once the call is over.
        yield sock


def _drain(sock: socket.socket) -> list[tuple[bytes, tuple[str, int]]]:
    sock.setblocking(False)
    received = []
    while True:
        try:
            received.append(sock.recvfrom(2048))
        except BlockingIOError:
            return received


def _assert_succeeded(result: SippResult) -> None:
    assert (result.successful, result.failed) == (1, 0), result
    assert result.ok, result


def _assert_pcap_arrived(
    received: list[tuple[bytes, tuple[str, int]]],
    pcap: Path,
    media_port: int,
    frequency: float,
    digits: list[str],
) -> None:
    sent = [parse(d.payload) for d in read_pcap(pcap)]
    assert {source for _, source in received} == {("127.0.0.1", media_port)}
    packets = [parse(data) for data, _ in received]
    # SIPp rewrites addresses and ports only: the RTP goes out as it is in the file.
    assert sorted(packets, key=lambda p: p.sequence) == sorted(sent, key=lambda p: p.sequence)
    assert dominant_frequency(rtp_audio([data for data, _ in received])) == pytest.approx(
        frequency, abs=10
    )
    assert _received_digits(packets) == digits


@needs_raw_sockets
def test_caller_media_plays_its_pcap_to_the_answerers_sdp_address(
    tmp_path: Path, pcap: Path, rtp_socket: socket.socket
) -> None:
    sink_xml = tmp_path / "sink.xml"
    sink_xml.write_text(RTP_SINK)
    media_port = free_udp_block()
    sink = SippConfig(sink_xml, max_calls=1, variables={"rtp_port": rtp_socket.getsockname()[1]})
    with SippRun(sink, timeout=BOUND, workdir=tmp_path / "sink") as sink_run:
        sink_run.wait_started()
        caller = SippConfig(
            scenario_path("caller_media.xml"),
            remote=sink_run.address,
            max_calls=1,
            duration_ms=1500,
            service="100",
            keys={"pcap": str(pcap)},
            extra_args=("-mp", str(media_port)),
        )
        caller_result = SippRun(caller, timeout=BOUND, workdir=tmp_path / "caller").run()
        sink_result = sink_run.wait()
    _assert_succeeded(caller_result)
    _assert_succeeded(sink_result)
    # SIPp's own libpcap reading of the file saw every packet.
    assert f"npkts {SLOTS}" in (caller_result.workdir / "screen.log").read_text()
    _assert_pcap_arrived(_drain(rtp_socket), pcap, media_port, 1000, ["5", "#"])


@needs_raw_sockets
def test_agent_media_plays_its_pcap_to_the_callers_sdp_address_after_the_ack(
    tmp_path: Path, rtp_socket: socket.socket
) -> None:
    pcap = write_rtp_pcap(tmp_path / "agent.pcap", tone(1500, 0.6), digits=[(0.2, "1")])
    caller_xml = tmp_path / "caller.xml"
    caller_xml.write_text(RTP_SINK_CALLER)
    media_port = free_udp_block()
    agent = SippConfig(
        scenario_path("agent_media.xml"),
        max_calls=1,
        keys={"pcap": str(pcap)},
        extra_args=("-mp", str(media_port)),
    )
    with SippRun(agent, timeout=BOUND, workdir=tmp_path / "agent") as agent_run:
        agent_run.wait_started()
        caller = SippConfig(
            caller_xml,
            remote=agent_run.address,
            max_calls=1,
            duration_ms=1000,
            variables={"rtp_port": rtp_socket.getsockname()[1]},
        )
        caller_result = SippRun(caller, timeout=BOUND, workdir=tmp_path / "caller").run()
        # The agent keeps the call 4 s after the BYE (timewait for retransmissions): its
        # answer to the BYE is already proven by the caller's success, so it is not awaited.
    _assert_succeeded(caller_result)
    _assert_pcap_arrived(_drain(rtp_socket), pcap, media_port, 1500, ["1"])
