"""Real media for SIPp: G.711 RTP with RFC 4733 key presses, as a pcap that SIPp plays.

SIPp (3.6, built with PCAP support) plays a capture with ``<exec play_pcap_audio="..."/>``.
What it needs from the file, read from its ``prepare_pcap.c`` and ``send_packets.c``:

- a classic libpcap file of Ethernet (or Linux cooked) frames carrying IPv4 or IPv6 UDP, each
  captured whole (``caplen == len``) and no longer than 1,500 bytes of UDP;
- only the UDP header and payload are kept. Addresses are replaced by SIPp's media address and
  the peer's SDP address; every destination port is taken relative to the lowest one in the file
  (so a stream must use one port only, or its packets go to the peer's RTP port + n), and the
  source port becomes SIPp's ``[media_port]``. SIPp recomputes the UDP checksum;
- the RTP headers (sequence numbers, timestamps, SSRC, marker bits) go out as they are;
- pacing follows the capture timestamps, relative to the first packet. A first timestamp of
  exactly 0 s is read as "no previous packet" and makes SIPp send the second packet at once, so
  captures here start at a non-zero time.

SIPp sends through a raw socket: it must run as root (or with CAP_NET_RAW).

The signals and the RTP stream are plain Python and numpy. The capture itself is scapy's work:
:func:`write_rtp_pcap` stacks ``Ether()/IP()/UDP()/Raw()`` per packet (scapy fills in the
lengths and both checksums, a UDP checksum of 0 sent as 0xFFFF as RFC 768 asks) and writes them
with ``wrpcap``, the packet's ``.time`` as its capture time; :func:`read_pcap` reads a capture
back with ``rdpcap``. scapy is imported on first use only (a test dependency: the ``test``
extra).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import numpy as np

from appliance.media import g711
from appliance.media.dtmf import (
    COLUMN_FREQUENCIES,
    KEYPAD,
    ROW_FREQUENCIES,
    telephone_event_packets,
)
from appliance.media.rtp import SEQ_MOD, TS_MOD, RtpPacket, parse, seq_diff
from appliance.net import Address

SAMPLE_RATE = 8000
"""G.711 and telephone-event both run an 8 kHz RTP clock."""

PACKET_SECONDS = 0.02
FRAME_SAMPLES = int(SAMPLE_RATE * PACKET_SECONDS)
"""160 samples: one 20 ms packet, the default ptime of every phone."""

PCMU = 0
PCMA = 8
TELEPHONE_EVENT = 101
"""The dynamic payload type the shipped scenarios' SDP gives telephone-event."""

_ENCODERS = {PCMU: g711.ulaw_encode, PCMA: g711.alaw_encode}
_DECODERS = {PCMU: g711.ulaw_decode, PCMA: g711.alaw_decode}

# A fixed, non-zero capture start (2023-11-14T22:13:20Z): see the module docstring on why not 0.
CAPTURE_EPOCH_US = 1_700_000_000 * 1_000_000

_UDP_HEADER_SIZE = 8
# Locally administered MAC addresses: SIPp ignores the Ethernet header, capture readers want one.
_SOURCE_MAC = "02:00:00:00:00:01"
_DESTINATION_MAC = "02:00:00:00:00:02"


def tone(frequency: float, seconds: float, level: float = 0.3) -> np.ndarray:
    """A sine of `frequency` Hz lasting `seconds`, as 8 kHz int16 samples.

    `level` is the peak amplitude as a fraction of full scale (0.3 is about -7 dBm0, a loud but
    undistorted voice level); the phase starts at 0.
    """
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"level {level} is not a fraction of full scale (0..1)")
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return np.round(level * 32_767 * np.sin(2 * math.pi * frequency * t)).astype(np.int16)


def dtmf_tone(digit: str, seconds: float, level: float = 0.3) -> np.ndarray:
    """The in-band DTMF tone pair of `digit` (ITU-T Q.23), each tone at half of `level`."""
    for row, keys in enumerate(KEYPAD):
        column = keys.find(digit.upper()) if len(digit) == 1 else -1
        if column >= 0:
            low = tone(ROW_FREQUENCIES[row], seconds, level / 2).astype(np.int32)
            high = tone(COLUMN_FREQUENCIES[column], seconds, level / 2).astype(np.int32)
            return (low + high).astype(np.int16)
    raise ValueError(f"not a DTMF digit: {digit!r}")


@dataclass(frozen=True)
class TimedPacket:
    """One RTP packet of a stream and when it is sent, in seconds after the first packet."""

    offset: float
    packet: RtpPacket


def rtp_stream(
    audio: np.ndarray,
    *,
    payload_type: int = PCMU,
    digits: Sequence[tuple[float, str]] = (),
    event_payload_type: int = TELEPHONE_EVENT,
    digit_seconds: float = 0.1,
    ssrc: int = 0x5EED_0001,
    first_sequence: int = 1000,
    first_timestamp: int = 8000,
) -> list[TimedPacket]:
    """The packets a phone sends for `audio` with RFC 4733 key presses, one every 20 ms.

    The audio is cut into 20 ms G.711 frames (`payload_type` 0 for u-law, 8 for A-law), the
    last one padded with silence. A key press (offset in seconds, digit) starts in the 20 ms slot
    nearest its offset and takes one slot per telephone-event packet: updates every 20 ms while
    the key is down for `digit_seconds`, then the final packet three times at the same interval
    (RFC 4733 2.5.1.4). The event's RTP timestamp is the audio timestamp of its first slot. Audio
    is not sent in those slots, as phones suppress it; its timestamps still advance with time,
    so the audio resumes at the timestamp of its own slot.

    Sequence numbers count every packet sent. The marker bit is set on the first audio packet
    (start of the talkspurt) and on the first packet of each key press. Key presses may not
    overlap; one that outlasts the audio extends the stream.
    """
    if payload_type not in _ENCODERS:
        raise ValueError(f"payload type {payload_type} is not G.711 (0 u-law, 8 A-law)")
    encode = _ENCODERS[payload_type]
    frames = _frames(np.asarray(audio))
    events = _event_slots(digits, digit_seconds, event_payload_type, ssrc, first_timestamp)
    last_slot = max([len(frames) - 1, *events])
    stream = []
    sequence = first_sequence
    talkspurt_started = False
    for slot in range(last_slot + 1):
        if slot in events:
            packet = events[slot]
        elif slot < len(frames):
            timestamp = (first_timestamp + slot * FRAME_SAMPLES) % TS_MOD
            payload = encode(frames[slot])
            packet = RtpPacket(
                payload_type, 0, timestamp, ssrc, payload, marker=not talkspurt_started
            )
            talkspurt_started = True
        else:
            continue
        stream.append(TimedPacket(slot * PACKET_SECONDS, replace(packet, sequence=sequence)))
        sequence = (sequence + 1) % SEQ_MOD
    return stream


def _frames(audio: np.ndarray) -> np.ndarray:
    if audio.dtype != np.int16 or audio.ndim != 1:
        raise TypeError("audio must be a 1-D array of int16 samples at 8 kHz")
    count = math.ceil(len(audio) / FRAME_SAMPLES)
    padded = np.zeros(count * FRAME_SAMPLES, dtype=np.int16)
    padded[: len(audio)] = audio
    return padded.reshape(count, FRAME_SAMPLES)


def _event_slots(
    digits: Sequence[tuple[float, str]],
    digit_seconds: float,
    payload_type: int,
    ssrc: int,
    first_timestamp: int,
) -> dict[int, RtpPacket]:
    """The telephone-event packet of each slot taken by a key press (sequence numbers unset)."""
    duration = round(digit_seconds * SAMPLE_RATE)
    slots: dict[int, RtpPacket] = {}
    for offset, digit in sorted(digits):
        start = round(offset / PACKET_SECONDS)
        if start < 0:
            raise ValueError(f"key press {digit!r} at {offset} s is before the stream starts")
        event_timestamp = first_timestamp + start * FRAME_SAMPLES
        packets = telephone_event_packets(digit, duration, step=FRAME_SAMPLES)
        for index, event in enumerate(packets):
            slot = start + index
            if slot in slots:
                raise ValueError(f"key press {digit!r} at {offset} s overlaps the one before")
            timestamp = (event_timestamp + event.timestamp_offset) % TS_MOD
            slots[slot] = RtpPacket(
                payload_type, 0, timestamp, ssrc, bytes(event.payload), marker=event.marker
            )
    return slots


def write_rtp_pcap(
    path: str | Path,
    audio: np.ndarray,
    *,
    payload_type: int = PCMU,
    digits: Sequence[tuple[float, str]] = (),
    event_payload_type: int = TELEPHONE_EVENT,
    digit_seconds: float = 0.1,
    source: Address = ("127.0.0.1", 6000),
    destination: Address = ("127.0.0.1", 6002),
) -> Path:
    """Write the :func:`rtp_stream` of `audio` and `digits` as a pcap SIPp can play; return
    its path.

    `source` and `destination` only make the capture readable on its own: SIPp replaces both
    addresses and both ports when it plays the file (see the module docstring).
    """
    stream = rtp_stream(
        audio,
        payload_type=payload_type,
        digits=digits,
        event_payload_type=event_payload_type,
        digit_seconds=digit_seconds,
    )
    # scapy is imported here, not at the top: it takes longer to load than the rest of the
    # module, and only the capture files need it.
    _quiet_scapy_import()
    from scapy.data import DLT_EN10MB
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import wrpcap

    frames = []
    for identification, timed in enumerate(stream):
        # Explicit addresses everywhere: left out, scapy would look them up in the host's
        # routes and ARP table. DSCP EF (0xB8) as phones mark voice; don't fragment.
        frame = (
            Ether(src=_SOURCE_MAC, dst=_DESTINATION_MAC)
            / IP(
                src=source[0],
                dst=destination[0],
                tos=0xB8,
                id=identification % 0x10000,
                flags="DF",
                ttl=64,
            )
            / UDP(sport=source[1], dport=destination[1])
            / Raw(bytes(timed.packet))
        )
        # A Decimal, not a float: scapy splits it into whole seconds and microseconds exactly.
        frame.time = Decimal(CAPTURE_EPOCH_US + round(timed.offset * 1e6)) / 1_000_000
        frames.append(frame)
    path = Path(path)
    wrpcap(str(path), frames, linktype=DLT_EN10MB)
    return path


@dataclass(frozen=True)
class CapturedDatagram:
    """One UDP datagram of a capture: capture time (seconds since the epoch), addresses, data."""

    time: float
    source: Address
    destination: Address
    payload: bytes


def read_pcap(path: str | Path) -> list[CapturedDatagram]:
    """The UDP datagrams over IPv4 of a pcap or pcapng capture, in file order.

    Any link type scapy dissects is read (Ethernet, Linux cooked, ...); frames that are not
    IPv4 UDP are skipped. A payload is exactly the UDP length's worth of bytes, without any
    link-layer padding after it.
    """
    _quiet_scapy_import()
    from scapy.layers.inet import IP, UDP
    from scapy.utils import rdpcap

    datagrams = []
    for frame in rdpcap(str(path)):
        if IP not in frame or UDP not in frame:
            continue
        ip, udp = frame[IP], frame[UDP]
        datagrams.append(
            CapturedDatagram(
                time=float(frame.time),
                source=(ip.src, udp.sport),
                destination=(ip.dst, udp.dport),
                payload=bytes(udp.payload)[: udp.len - _UDP_HEADER_SIZE],
            )
        )
    return datagrams


def _quiet_scapy_import() -> None:
    """Silence what scapy logs while it loads (no libpcap, no IPv6 routes, ...): it says
    nothing about building or reading capture files. A level set by the caller is kept."""
    loading = logging.getLogger("scapy.loading")
    if loading.level == logging.NOTSET:
        loading.setLevel(logging.ERROR)


def rtp_audio(packets: Sequence[bytes]) -> np.ndarray:
    """The int16 samples of the G.711 packets (payload types 0 and 8) among received RTP
    datagrams, decoded and joined in sequence-number order.

    Other payload types (telephone-event, comfort noise) are left out, duplicates counted once,
    and nothing fills the gaps of lost packets or key presses (so a tone whose period does not
    divide 20 ms jumps in phase where a key press was). Sequence numbers are read
    relative to the first packet, so a wrap past 65,535 keeps its order. A datagram that is not
    RTP raises :class:`appliance.media.rtp.RtpError`.
    """
    audio = [packet for packet in map(parse, packets) if packet.payload_type in _DECODERS]
    if not audio:
        return np.zeros(0, dtype=np.int16)
    first = audio[0].sequence
    by_order = {seq_diff(packet.sequence, first): packet for packet in audio}
    decoded = [
        _DECODERS[by_order[key].payload_type](by_order[key].payload) for key in sorted(by_order)
    ]
    return np.concatenate(decoded).astype(np.int16)


def dominant_frequency(samples: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """The frequency (Hz) of the strongest spectral peak of `samples`.

    A Hann-windowed FFT, zero-padded to at least 0.25 Hz bins, with the peak located between
    bins by a parabola through the log magnitudes: a steady tone of a second or more comes out
    within a fraction of a hertz. Raises ValueError on audio that is empty or silent.
    """
    signal = np.asarray(samples, dtype=np.float64)
    if signal.size < 2 or not np.any(signal - signal.mean()):
        raise ValueError("no audio to analyse: empty or silent")
    signal = (signal - signal.mean()) * np.hanning(signal.size)
    size = 1 << max(signal.size - 1, 4 * rate).bit_length()
    magnitude = np.abs(np.fft.rfft(signal, size))
    peak = int(np.argmax(magnitude[1:-1])) + 1
    left, centre, right = np.log(magnitude[peak - 1 : peak + 2] + 1e-12)
    curvature = left - 2 * centre + right
    shift = 0.5 * (left - right) / curvature if curvature else 0.0
    return (peak + shift) * rate / size
