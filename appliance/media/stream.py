"""The appliance as one RTP source towards one party, whoever the audio comes from (sans-I/O).

A party hears the appliance's own prompts and music, then the other party relayed, perhaps
music again on hold. Phones keep one jitter buffer per source and take a stream that changes
SSRC, or jumps back in sequence or timestamp, for late packets: they drop them and the party
hears silence. So every packet towards a party leaves through that party's `OutboundStream`:
one SSRC for the whole call, sequence numbers that run on by one across every change of
source, timestamps that advance by the time that really went by across a change (the
receiver's jitter estimate stays sane), and the marker bit on the first packet after a change.

Relayed packets keep their payload, payload type, CSRCs, header extension and padding; only
sequence number, timestamp, SSRC and marker are rewritten. Within one relayed source the
rewrite is a fixed offset, so reordered, duplicated or missing packets stay as they were
(gaps the receiver must see as loss stay gaps), and an RFC 4733 event keeps one timestamp
across all its packets. The rewrite is one unpack, a few integer adds and one pack: it is on
the path of every relayed packet.

`packets`, `octets`, `last_timestamp` and `last_sent_at` are what a sender report (RFC 3550
6.4.1) says about the stream.
"""

from __future__ import annotations

import struct

SEQ_MASK = 0xFFFF
TS_MASK = 0xFFFFFFFF
_HEADER = struct.Struct("!BBHII")
_OWN = -1  # the source key of the appliance's own packets (a relayed source's is its SSRC)
_NONE = -2  # nothing sent yet
MIN_STEP = 160
"""The least a timestamp advances across a change of source: one 20 ms packet at 8 kHz, so
that the new source's first packet never overlaps the last one of the old."""


class OutboundStream:
    """Every RTP packet the appliance sends to one party, under `ssrc`."""

    __slots__ = ("_first_timestamp", "_next_sequence", "_own_next_timestamp", "_resume",
                 "_seq_offset", "_source", "_ts_offset", "clock_rate", "last_sent_at",
                 "last_timestamp", "octets", "packets", "ssrc")

    def __init__(self, ssrc: int, first_sequence: int, first_timestamp: int,
                 clock_rate: int = 8000) -> None:
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.packets = 0
        self.octets = 0  # bytes after the fixed header (RFC 3550 counts payload octets)
        self.last_timestamp = first_timestamp  # of the newest packet sent
        self.last_sent_at: float | None = None  # when the newest packet was sent
        self._first_timestamp = first_timestamp
        self._next_sequence = first_sequence & SEQ_MASK
        self._source = _NONE
        self._seq_offset = 0
        self._ts_offset = 0
        self._own_next_timestamp = first_timestamp
        # (source, its last timestamp, the offset it had): lets an RFC 4733 event that another
        # source interrupted go on under the timestamp it started with.
        self._resume: tuple[int, int, int] | None = None

    @property
    def next_sequence(self) -> int:
        """The sequence number the next new packet gets."""
        return self._next_sequence

    def own(self, payload_type: int, payload: bytes, samples: int, talkspurt: bool,
            now: float) -> bytes:
        """The next packet of the appliance's own audio: `payload` covering `samples` samples.

        Successive own packets are `samples` apart in timestamp (a late tick that sends
        several at once keeps them apart). The first packet of a talkspurt (`talkspurt`), and
        the first after relayed packets, carries the marker and a timestamp advanced by the
        time elapsed since the stream's newest packet.
        """
        sequence = self._next_sequence
        if talkspurt or self._source is not _OWN:
            self._leave_source()
            self._source = _OWN
            timestamp = self._anchored_timestamp(now)
            marker = 0x80
        else:
            timestamp = self._own_next_timestamp
            marker = 0
        self._own_next_timestamp = (timestamp + samples) & TS_MASK
        self._next_sequence = (sequence + 1) & SEQ_MASK
        self.last_timestamp = timestamp
        self.last_sent_at = now
        self.packets += 1
        self.octets += len(payload)
        return _HEADER.pack(0x80, marker | payload_type, sequence, timestamp, self.ssrc) + payload

    def relay(self, packet: bytes, now: float) -> bytes:
        """`packet`, an RTP packet from the other party (at least 12 bytes, version not
        checked), as a packet of this stream."""
        return self.rewrite(packet, *_HEADER.unpack_from(packet), now)

    def rewrite(self, packet: bytes, first: int, second: int, in_sequence: int,
                in_timestamp: int, source: int, now: float) -> bytes:
        """`relay` for a caller that has unpacked the fixed header already (the relay reads
        it once for this and for the reception statistics)."""
        if source != self._source:
            self._switch_to(source, in_sequence, in_timestamp, now)
            second |= 0x80
        sequence = (in_sequence + self._seq_offset) & 0xFFFF
        timestamp = (in_timestamp + self._ts_offset) & 0xFFFFFFFF
        if (sequence - self._next_sequence) & 0xFFFF < 0x8000:  # the newest yet
            self._next_sequence = (sequence + 1) & 0xFFFF
            self.last_timestamp = timestamp
            self.last_sent_at = now
        self.packets += 1
        self.octets += len(packet) - 12
        return _HEADER.pack(first, second, sequence, timestamp, self.ssrc) + packet[12:]

    # --- changes of source --------------------------------------------------------------

    def _switch_to(self, source: int, in_sequence: int, in_timestamp: int, now: float) -> None:
        resume = self._resume
        self._leave_source()
        self._source = source
        self._seq_offset = (self._next_sequence - in_sequence) & SEQ_MASK
        if resume is not None and resume[0] == source and resume[1] == in_timestamp:
            self._ts_offset = resume[2]  # the same event (or frame) going on
        else:
            self._ts_offset = (self._anchored_timestamp(now) - in_timestamp) & TS_MASK

    def _leave_source(self) -> None:
        """Remember the relayed source being left (its newest timestamp and offset)."""
        if self._source < 0:
            self._resume = None
            return
        in_timestamp = (self.last_timestamp - self._ts_offset) & TS_MASK
        self._resume = (self._source, in_timestamp, self._ts_offset)

    def _anchored_timestamp(self, now: float) -> int:
        """The timestamp of a new source's first packet sent at `now`."""
        if self.last_sent_at is None:
            return self._first_timestamp
        elapsed = round((now - self.last_sent_at) * self.clock_rate)
        return (self.last_timestamp + max(elapsed, MIN_STEP)) & TS_MASK
