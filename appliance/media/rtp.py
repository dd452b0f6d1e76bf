"""RTP (RFC 3550): data packets and sequence and timestamp arithmetic.

`parse()` turns one datagram into an `RtpPacket` or raises `RtpError`; `bytes(packet)` gives back
exactly the bytes parsed; `payload_of()` is the hot path's cheaper read of the payload alone.
Reception statistics live with RTCP (`appliance.media.quality`). No jitter buffer: the appliance
relays and records on the clock's pace (`appliance.media.callrecorder`); phones keep their own.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

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


MAX_DROPOUT = 3000
"""RFC 3550 A.1: a sequence number this far or further ahead of the highest is not in sequence."""
