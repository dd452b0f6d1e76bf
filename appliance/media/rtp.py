"""RTP (RFC 3550): data packets, sequence and timestamp arithmetic, reception statistics and a
fixed-delay jitter buffer.

`parse()` turns one datagram into an `RtpPacket` or raises `RtpError`; `bytes(packet)` gives back
exactly the bytes parsed. `SequenceTracker` is appendix A.1 and A.8 of the RFC; `JitterBuffer`
plays packets out in sequence order at a fixed delay after the first one arrived. Time is only
ever the `now` a caller passes in, in seconds.
"""

from __future__ import annotations

import heapq
import struct
from dataclasses import dataclass, field

RTP_VERSION = 2
HEADER_BYTES = 12
SEQ_MOD = 1 << 16
TS_MOD = 1 << 32
MAX_CSRCS = 15

_FIXED = struct.Struct("!BBHII")
_EXTENSION_HEADER = struct.Struct("!HH")


class RtpError(ValueError):
    """A datagram that is not a valid RTP packet, or field values no packet can carry."""


@dataclass(frozen=True)
class RtpExtension:
    """The one header extension RFC 3550 5.3.1 allows: a 16-bit profile-defined word and data
    whose length is a whole number of 32-bit words."""

    profile: int
    data: bytes = b""

    def __post_init__(self) -> None:
        _check_range("extension profile", self.profile, 1 << 16)
        if len(self.data) % 4:
            raise RtpError(f"extension data of {len(self.data)} bytes is not whole 32-bit words")
        _check_range("extension length in words", len(self.data) // 4, 1 << 16)


@dataclass(frozen=True)
class RtpPacket:
    """One RTP data packet (RFC 3550 5.1). The version is always 2.

    The P, X and CC header fields follow from `padding`, `extension` and `csrcs`. `padding` holds
    the padding octets themselves, the last of which is their count (so it is empty, or its last
    byte equals its length); keeping the octets makes `bytes(parse(data)) == data` hold exactly.
    Construction checks every range and raises `RtpError`.
    """

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: RtpExtension | None = None
    padding: bytes = b""

    def __post_init__(self) -> None:
        _check_range("payload type", self.payload_type, 128)
        _check_range("sequence number", self.sequence, SEQ_MOD)
        _check_range("timestamp", self.timestamp, TS_MOD)
        _check_range("SSRC", self.ssrc, TS_MOD)
        if len(self.csrcs) > MAX_CSRCS:
            raise RtpError(f"{len(self.csrcs)} CSRCs, at most {MAX_CSRCS} fit the CC field")
        for csrc in self.csrcs:
            _check_range("CSRC", csrc, TS_MOD)
        if self.padding and self.padding[-1] != len(self.padding):
            raise RtpError(f"padding of {len(self.padding)} bytes ends in count "
                           f"{self.padding[-1]}")

    def __bytes__(self) -> bytes:
        first = (RTP_VERSION << 6) | (bool(self.padding) << 5)
        first |= (self.extension is not None) << 4 | len(self.csrcs)
        second = self.marker << 7 | self.payload_type
        parts = [_FIXED.pack(first, second, self.sequence, self.timestamp, self.ssrc)]
        parts.extend(struct.pack("!I", csrc) for csrc in self.csrcs)
        if self.extension is not None:
            words = len(self.extension.data) // 4
            parts.append(_EXTENSION_HEADER.pack(self.extension.profile, words))
            parts.append(self.extension.data)
        parts += [self.payload, self.padding]
        return b"".join(parts)


def _check_range(what: str, value: int, limit: int) -> None:
    if not 0 <= value < limit:
        raise RtpError(f"{what} {value} is outside 0..{limit - 1}")


def payload_of(packet: bytes) -> tuple[int, bytes] | None:
    """(payload type, payload) of an RTP packet, or None if it cannot be one.

    A lean RFC 3550 5.1 parse for the paths that see every packet of every call (recording,
    digit detection): skips CSRCs and a header extension, strips padding, and checks only
    what it must to find the payload. `parse` is the full, strict one.
    """
    size = len(packet)
    if size <= 12:
        return None
    first = packet[0]
    if first >> 6 != 2:
        return None
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        if offset + 4 > size:
            return None
        offset += 4 + 4 * int.from_bytes(packet[offset + 2 : offset + 4], "big")
    end = size
    if first & 0x20:
        end -= packet[-1]
        if packet[-1] == 0:
            return None
    if end <= offset:
        return None
    return packet[1] & 0x7F, packet[offset:end]


def parse(data: bytes) -> RtpPacket:
    """Parse one RTP packet; raises `RtpError` (and nothing else) saying what is wrong."""
    if len(data) < HEADER_BYTES:
        raise RtpError(f"short header: {len(data)} bytes, an RTP header needs {HEADER_BYTES}")
    first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data)
    if first >> 6 != RTP_VERSION:
        raise RtpError(f"wrong version {first >> 6}, expected {RTP_VERSION}")
    csrcs, offset = _parse_csrcs(data, first & 0x0F)
    extension = None
    if first & 0x10:
        extension, offset = _parse_extension(data, offset)
    body = data[offset:]
    padding = _split_padding(body) if first & 0x20 else b""
    return RtpPacket(
        payload_type=second & 0x7F,
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload=body[: len(body) - len(padding)],
        marker=bool(second & 0x80),
        csrcs=csrcs,
        extension=extension,
        padding=padding,
    )


def _parse_csrcs(data: bytes, count: int) -> tuple[tuple[int, ...], int]:
    end = HEADER_BYTES + 4 * count
    if end > len(data):
        raise RtpError(f"CSRC count {count} needs {end} bytes, the packet has {len(data)}")
    return struct.unpack_from(f"!{count}I", data, HEADER_BYTES), end


def _parse_extension(data: bytes, offset: int) -> tuple[RtpExtension, int]:
    if offset + 4 > len(data):
        raise RtpError(f"extension header needs {offset + 4} bytes, the packet has {len(data)}")
    profile, words = _EXTENSION_HEADER.unpack_from(data, offset)
    end = offset + 4 + 4 * words
    if end > len(data):
        raise RtpError(f"extension length {words} words needs {end} bytes, "
                       f"the packet has {len(data)}")
    return RtpExtension(profile, data[offset + 4:end]), end


def _split_padding(body: bytes) -> bytes:
    count = body[-1] if body else 0
    if count == 0 or count > len(body):
        raise RtpError(f"bad padding length {count}: {len(body)} bytes follow the header")
    return body[len(body) - count:]


def seq_diff(a: int, b: int) -> int:
    """How far sequence number `a` is ahead of `b`, modulo 2^16, in -32768..32767.

    `seq_diff(0, 65535) == 1`: 0 follows 65535 after the wrap.
    """
    return (a - b + SEQ_MOD // 2) % SEQ_MOD - SEQ_MOD // 2


def ts_diff(a: int, b: int) -> int:
    """How far RTP timestamp `a` is ahead of `b`, modulo 2^32, in -2^31..2^31-1."""
    return (a - b + TS_MOD // 2) % TS_MOD - TS_MOD // 2


# RFC 3550 A.1: a source is valid after MIN_SEQUENTIAL packets in sequence; a jump of
# MAX_DROPOUT or more ahead, or of more than MAX_MISORDER behind, is a restart unless confirmed.
MAX_DROPOUT = 3000
MAX_MISORDER = 100
MIN_SEQUENTIAL = 2


@dataclass
class SequenceTracker:
    """Reception statistics for one SSRC (RFC 3550 A.1 sequence validation, A.3 counts, A.8
    interarrival jitter).

    Feed every packet of the source to `update()`. Until `MIN_SEQUENTIAL` packets have arrived in
    sequence the source is on probation and nothing is counted. After that `received` counts
    every accepted packet (duplicates included, as in the RFC), `expected` is the span from the
    first counted packet to `extended_highest`, and `lost` is their difference (negative when
    duplicates outnumber losses). `jitter` is in timestamp units.
    """

    clock_rate: int
    probation: int = field(default=MIN_SEQUENTIAL, init=False)
    max_seq: int = field(default=0, init=False)
    cycles: int = field(default=0, init=False)
    base_seq: int = field(default=0, init=False)
    bad_seq: int = field(default=SEQ_MOD + 1, init=False)
    received: int = field(default=0, init=False)
    jitter: float = field(default=0.0, init=False)
    expected_prior: int = field(default=0, init=False)
    received_prior: int = field(default=0, init=False)
    _started: bool = field(default=False, init=False, repr=False)
    _last_arrival: float | None = field(default=None, init=False, repr=False)
    _last_timestamp: int = field(default=0, init=False, repr=False)

    @property
    def valid(self) -> bool:
        """Whether the source has passed probation."""
        return self._started and self.probation == 0

    @property
    def extended_highest(self) -> int:
        """The highest sequence number received, with the count of wraps above 16 bits."""
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        """Packets expected since the first counted one (0 before the source is valid)."""
        return self.extended_highest - self.base_seq + 1 if self.valid else 0

    @property
    def lost(self) -> int:
        """Cumulative packets lost: `expected - received`."""
        return self.expected - self.received

    def update(self, sequence: int, timestamp: int, now: float) -> bool:
        """Account one arriving packet; True when it counts as received (RFC 3550 A.1).

        False while on probation and for a large jump that is not (yet) confirmed as a restart
        by the packet after it. The jitter estimate moves only on counted packets.
        """
        if not self._started:
            self._init(sequence)
            self.max_seq = (sequence - 1) % SEQ_MOD
            self.probation = MIN_SEQUENTIAL
            self._started = True
        counted = self._update_seq(sequence)
        if counted:
            self._update_jitter(timestamp, now)
        return counted

    def close_interval(self) -> tuple[int, int]:
        """End a reporting interval: (fraction lost as 8-bit fixed point, cumulative lost),
        as a receiver report block carries them (RFC 3550 A.3)."""
        expected_interval = self.expected - self.expected_prior
        received_interval = self.received - self.received_prior
        self.expected_prior, self.received_prior = self.expected, self.received
        lost_interval = expected_interval - received_interval
        if expected_interval <= 0 or lost_interval <= 0:
            return 0, self.lost
        return (lost_interval << 8) // expected_interval, self.lost

    def _init(self, sequence: int) -> None:
        self.base_seq = self.max_seq = sequence
        self.bad_seq = SEQ_MOD + 1
        self.cycles = self.received = self.received_prior = self.expected_prior = 0

    def _update_seq(self, sequence: int) -> bool:
        if self.probation:
            return self._on_probation(sequence)
        udelta = (sequence - self.max_seq) % SEQ_MOD
        if udelta < MAX_DROPOUT:
            if sequence < self.max_seq:
                self.cycles += SEQ_MOD
            self.max_seq = sequence
        elif udelta <= SEQ_MOD - MAX_MISORDER:
            if sequence != self.bad_seq:
                self.bad_seq = (sequence + 1) % SEQ_MOD
                return False
            # Two packets in sequence after a big jump: the source restarted.
            self._init(sequence)
            self._last_arrival = None
        self.received += 1
        return True

    def _on_probation(self, sequence: int) -> bool:
        if sequence != (self.max_seq + 1) % SEQ_MOD:
            self.probation = MIN_SEQUENTIAL - 1
            self.max_seq = sequence
            return False
        self.probation -= 1
        self.max_seq = sequence
        if self.probation:
            return False
        self._init(sequence)
        self.received += 1
        return True

    def _update_jitter(self, timestamp: int, now: float) -> None:
        if self._last_arrival is not None:
            arrival_units = (now - self._last_arrival) * self.clock_rate
            d = arrival_units - ts_diff(timestamp, self._last_timestamp)
            self.jitter += (abs(d) - self.jitter) / 16
        self._last_arrival, self._last_timestamp = now, timestamp


@dataclass(frozen=True)
class Loss:
    """Sequence numbers that will never be played: `count` packets from `sequence` on
    (wrapping past 65535)."""

    sequence: int
    count: int


@dataclass
class JitterBuffer:
    """Plays packets of one SSRC in sequence order, `depth` seconds after their send time.

    The first packet pushed anchors the playout clock: a packet with timestamp `ts` is due at
    `first_arrival + depth + (ts - first_ts) / clock_rate`. `pop_due(now)` returns, in sequence
    order, every packet due by `now`, with a `Loss` in front of each packet that follows a gap.
    A packet whose sequence number the playout has already passed is dropped and counted in
    `late` (a copy of a packet already played counts there too: the buffer keeps no history);
    a copy of a packet still waiting is dropped and counted in `duplicates`. So every push is
    eventually played, or counted late or as a duplicate; every sequence number the playout
    passes is either played or inside a `Loss`, and `lost` sums their counts.

    A new SSRC or a timestamp jump (a restarted sender) needs a new buffer.
    """

    clock_rate: int
    depth: float
    played: int = field(default=0, init=False)
    late: int = field(default=0, init=False)
    duplicates: int = field(default=0, init=False)
    lost: int = field(default=0, init=False)
    _anchor: tuple[float, int] | None = field(default=None, init=False, repr=False)
    _highest: int | None = field(default=None, init=False, repr=False)
    _next: int | None = field(default=None, init=False, repr=False)
    _heap: list[tuple[int, RtpPacket]] = field(default_factory=list, init=False, repr=False)
    _waiting: set[int] = field(default_factory=set, init=False, repr=False)

    def __len__(self) -> int:
        """Packets waiting to be played."""
        return len(self._heap)

    def push(self, packet: RtpPacket, now: float) -> bool:
        """Offer a packet that arrived at `now`; True if it was buffered for playout."""
        if self._anchor is None:
            self._anchor = (now, packet.timestamp)
        ext = self._extend(packet.sequence)
        if self._next is not None and ext < self._next:
            self.late += 1
            return False
        if ext in self._waiting:
            self.duplicates += 1
            return False
        self._waiting.add(ext)
        heapq.heappush(self._heap, (ext, packet))
        return True

    def playout_time(self, packet: RtpPacket) -> float | None:
        """When `packet` is (or was) due; None before the first packet anchors the clock."""
        if self._anchor is None:
            return None
        first_arrival, first_ts = self._anchor
        return first_arrival + self.depth + ts_diff(packet.timestamp, first_ts) / self.clock_rate

    def next_deadline(self) -> float | None:
        """When the next waiting packet is due, or None when nothing waits."""
        return self.playout_time(self._heap[0][1]) if self._heap else None

    def pop_due(self, now: float) -> list[RtpPacket | Loss]:
        """Everything due by `now`, in sequence order, gaps before the packets that end them."""
        out: list[RtpPacket | Loss] = []
        while self._heap and self._is_due(self._heap[0][1], now):
            ext, packet = heapq.heappop(self._heap)
            self._waiting.discard(ext)
            if self._next is not None and ext > self._next:
                gap = Loss(self._next % SEQ_MOD, ext - self._next)
                self.lost += gap.count
                out.append(gap)
            out.append(packet)
            self.played += 1
            self._next = ext + 1
        return out

    def _is_due(self, packet: RtpPacket, now: float) -> bool:
        due = self.playout_time(packet)
        return due is not None and due <= now

    def _extend(self, sequence: int) -> int:
        # Number packets on one unbounded line, relative to the highest seen, so that order
        # and gaps survive the wrap at 65535.
        if self._highest is None:
            self._highest = sequence + SEQ_MOD
            return self._highest
        ext = self._highest + seq_diff(sequence, self._highest % SEQ_MOD)
        self._highest = max(self._highest, ext)
        return ext
