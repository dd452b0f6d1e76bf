"""What a party receives from the live appliance is one RTP stream: SIPp callers hear the
welcome prompt and music, then a SIPp agent playing a capture, and a capture of loopback
shows, towards each party, one SSRC, sequence numbers one apart from the first packet to the
last, timestamps that never go back, and the marker bit where the source changed.

Capturing needs a raw socket (root or CAP_NET_RAW), as SIPp's pcap playback does.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

from appliance.media.rtp import RtpError, RtpPacket, parse, seq_diff, ts_diff
from sim.live import media_port_range
from sim.traffic.rtp_pcap import tone, write_rtp_pcap
from sim.traffic.sipp import SippConfig, SippRun, scenario_path
from tests.live.test_sipp_calls import Floor

pytestmark = pytest.mark.slow

CALLS = 3
RING_MS = 500
TALK_MS = 3000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4  # each loopback packet is seen leaving and arriving: keep one
SO_RCVBUFFORCE = 33  # Linux: a receive buffer beyond rmem_max (needs CAP_NET_ADMIN)


class LoopbackCapture:
    """UDP datagrams on the loopback interface, from a thread, while the `with` lasts."""

    def __init__(self) -> None:
        try:
            self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                       socket.htons(ETH_P_ALL))
        except (PermissionError, AttributeError) as error:
            pytest.skip(f"no raw socket to capture with: {error}")
        # Everything on loopback passes through this socket (other tests' load too): a big
        # buffer, so that the capture itself drops as little as it can.
        with contextlib.suppress(OSError):
            self._sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 * 1024 * 1024)
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.datagrams: list[tuple[int, int, bytes]] = []  # (source port, destination, payload)

    def __enter__(self) -> LoopbackCapture:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame, address = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            if address[2] != PACKET_OUTGOING:
                found = _udp(frame)
                if found is not None:
                    self.datagrams.append(found)


def _udp(frame: bytes) -> tuple[int, int, bytes] | None:
    """(source port, destination port, payload) of an IPv4 UDP frame behind the 14-byte
    header loopback frames carry; None for anything else."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    start = 14 + 4 * (frame[14] & 0x0F)
    source, destination, length = struct.unpack_from("!HHH", frame, start)
    return source, destination, frame[start + 8:start + length]


def streams_from_the_appliance(capture: LoopbackCapture, low: int, high: int,
                               ) -> dict[int, list[RtpPacket]]:
    """RTP from the appliance's RTP ports (the even ones of `low`..`high`), by port. Each
    call takes the next four ports of the range (one call at a time, none used twice): the
    first RTP port faces the caller, the second the agent."""
    flows: dict[int, list[RtpPacket]] = defaultdict(list)
    for source, destination, payload in capture.datagrams:
        if low <= source <= high and source % 2 == 0 and not low <= destination <= high:
            try:
                flows[source].append(parse(payload))
            except RtpError:
                continue
    return flows


def test_each_party_receives_one_continuous_stream_across_music_and_the_agent(tmp_path: Path):
    low, high = media_port_range()
    floor = Floor(tmp_path, media={"queued_callers": "answer"})
    floor.register_phones()
    caller_pcap = write_rtp_pcap(tmp_path / "caller.pcap", tone(1000.0, TALK_MS / 1000))
    agent_pcap = write_rtp_pcap(tmp_path / "agent.pcap", tone(1500.0, TALK_MS / 1000))
    try:
        with LoopbackCapture() as capture, floor.agents(
                "agent_media.xml", keys={"pcap": str(agent_pcap)}, ring_ms=RING_MS) as agents:
            config = SippConfig(scenario_path("caller_media.xml"), remote=floor.box.address,
                                local_port=floor.caller_port, rate=1, call_limit=1,
                                max_calls=CALLS, duration_ms=TALK_MS, service="100",
                                keys={"pcap": str(caller_pcap)})
            result = SippRun(config, timeout=60, workdir=tmp_path / "callers").run()
            agents.stop()
        assert (result.successful, result.failed) == (CALLS, 0), result
        details = floor.stop()
    finally:
        floor.box.stop()
    assert len(details) == CALLS
    flows = streams_from_the_appliance(capture, low, high)
    assert sorted(flows) == [low + 2 * n for n in range(2 * CALLS)], sorted(flows)
    to_callers = {port: packets for port, packets in flows.items() if (port - low) % 4 == 0}
    for port, packets in flows.items():
        assert len({packet.ssrc for packet in packets}) == 1, port
        # Never backwards, never a jump. A gap is a datagram lost on a loaded machine (on its
        # way in, which the relay keeps as a gap, or by the capture): within a source its
        # timestamp moves on by exactly the packets missing, 160 samples each.
        for a, b in pairwise(packets):
            step, advance = seq_diff(b.sequence, a.sequence), ts_diff(b.timestamp, a.timestamp)
            assert 1 <= step <= 25, (port, a, b)
            assert advance == 160 * step if not b.marker else advance >= 160 * step, (port, a, b)
        missing = sum(seq_diff(b.sequence, a.sequence) - 1 for a, b in pairwise(packets))
        assert missing <= len(packets) // 20, (port, missing, len(packets))
        assert packets[0].marker
    for port, packets in to_callers.items():
        # The prompt and music, then the agent: the marker where the agent's audio begins,
        # which is G.711 of a steady tone, where the music was not.
        switches = [n for n, packet in enumerate(packets) if packet.marker and n > 0]
        assert switches, port
        agent_audio = packets[switches[-1]:]
        assert len(agent_audio) > 50, (port, switches)
