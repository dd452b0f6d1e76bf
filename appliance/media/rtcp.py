"""RTCP (RFC 3550 6.4-6.6): sender and receiver reports, source descriptions and BYE.

`parse()` splits a compound datagram into its packets or raises `RtcpError`; `serialize()` (or
`bytes()` of each packet) gives back exactly the bytes parsed. Packet types other than SR, RR,
SDES and BYE (APP, feedback, XR) come through as `UnknownRtcp`, so a compound packet carrying
them still round-trips. The compound-packet rules of 6.1 (SR or RR first, CNAME present) are
the sender's business and are not enforced here: RFC 5506 allows reduced-size packets.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

RTCP_VERSION = 2
SR, RR, SDES, BYE = 200, 201, 202, 203
CNAME = 1
MAX_COUNT = 31

_HEADER = struct.Struct("!BBH")
_SENDER_INFO = struct.Struct("!IQIII")
_REPORT_BLOCK = struct.Struct("!IB3sIIII")
_U32 = struct.Struct("!I")


class RtcpError(ValueError):
    """A datagram that is not valid RTCP, or field values no packet can carry."""


def _check_range(what: str, value: int, bits: int) -> None:
    if not 0 <= value < 1 << bits:
        raise RtcpError(f"{what} {value} is outside 0..{(1 << bits) - 1}")


def _check_padding(padding: bytes) -> None:
    if padding and (padding[-1] != len(padding) or len(padding) % 4):
        raise RtcpError(f"padding of {len(padding)} bytes must be whole 32-bit words "
                        "ending in its own length")


def _check_count(what: str, items: tuple[object, ...]) -> None:
    if len(items) > MAX_COUNT:
        raise RtcpError(f"{len(items)} {what}, at most {MAX_COUNT} fit the count field")


def _words(what: str, data: bytes) -> None:
    if len(data) % 4:
        raise RtcpError(f"{what} of {len(data)} bytes is not whole 32-bit words")


def _packet(count: int, packet_type: int, body: bytes, padding: bytes) -> bytes:
    length = (len(body) + len(padding)) // 4
    first = RTCP_VERSION << 6 | bool(padding) << 5 | count
    return _HEADER.pack(first, packet_type, length) + body + padding


@dataclass(frozen=True)
class ReportBlock:
    """Reception statistics about one source (RFC 3550 6.4.1). `cumulative_lost` is signed
    (24 bits: duplicates can make it negative); the other fields are unsigned."""

    ssrc: int
    fraction_lost: int = 0
    cumulative_lost: int = 0
    highest_sequence: int = 0
    jitter: int = 0
    last_sr: int = 0
    delay_since_last_sr: int = 0

    def __post_init__(self) -> None:
        _check_range("fraction lost", self.fraction_lost, 8)
        if not -(1 << 23) <= self.cumulative_lost < 1 << 23:
            raise RtcpError(f"cumulative lost {self.cumulative_lost} does not fit 24 signed bits")
        for name in ("ssrc", "highest_sequence", "jitter", "last_sr", "delay_since_last_sr"):
            _check_range(name, getattr(self, name), 32)

    def __bytes__(self) -> bytes:
        lost = (self.cumulative_lost % (1 << 24)).to_bytes(3, "big")
        return _REPORT_BLOCK.pack(self.ssrc, self.fraction_lost, lost, self.highest_sequence,
                                  self.jitter, self.last_sr, self.delay_since_last_sr)

    @classmethod
    def parse(cls, data: bytes, offset: int) -> ReportBlock:
        """The block at `offset`; the caller has checked that 24 bytes are there."""
        ssrc, fraction, lost, highest, jitter, lsr, dlsr = _REPORT_BLOCK.unpack_from(data, offset)
        signed = int.from_bytes(lost, "big", signed=True)
        return cls(ssrc, fraction, signed, highest, jitter, lsr, dlsr)


def _check_reports(reports: tuple[ReportBlock, ...], extension: bytes, padding: bytes) -> None:
    _check_count("report blocks", reports)
    _words("profile-specific extension", extension)
    _check_padding(padding)


@dataclass(frozen=True)
class SenderReport:
    """SR (RFC 3550 6.4.1): what `ssrc` sent, and what it received from others.

    `ntp_timestamp` is the full 64-bit NTP time (seconds since 1900 in the high 32 bits);
    `extension` is the profile-specific tail after the report blocks.
    """

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""
    padding: bytes = b""

    def __post_init__(self) -> None:
        for name in ("ssrc", "rtp_timestamp", "packet_count", "octet_count"):
            _check_range(name, getattr(self, name), 32)
        _check_range("NTP timestamp", self.ntp_timestamp, 64)
        _check_reports(self.reports, self.extension, self.padding)

    def __bytes__(self) -> bytes:
        info = _SENDER_INFO.pack(self.ssrc, self.ntp_timestamp, self.rtp_timestamp,
                                 self.packet_count, self.octet_count)
        body = info + b"".join(map(bytes, self.reports)) + self.extension
        return _packet(len(self.reports), SR, body, self.padding)


@dataclass(frozen=True)
class ReceiverReport:
    """RR (RFC 3550 6.4.2): what `ssrc`, which sends nothing, received from others."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""
    padding: bytes = b""

    def __post_init__(self) -> None:
        _check_range("ssrc", self.ssrc, 32)
        _check_reports(self.reports, self.extension, self.padding)

    def __bytes__(self) -> bytes:
        body = _U32.pack(self.ssrc) + b"".join(map(bytes, self.reports)) + self.extension
        return _packet(len(self.reports), RR, body, self.padding)


@dataclass(frozen=True)
class SdesItem:
    """One SDES item (RFC 3550 6.5): a type 1..255 (1 is CNAME) and UTF-8 text of at most
    255 bytes."""

    item_type: int
    value: str

    def __post_init__(self) -> None:
        if not 1 <= self.item_type <= 255:
            raise RtcpError(f"SDES item type {self.item_type} is outside 1..255")
        if len(self.value.encode("utf-8")) > 255:
            raise RtcpError("SDES item longer than 255 bytes")

    def __bytes__(self) -> bytes:
        encoded = self.value.encode("utf-8")
        return bytes((self.item_type, len(encoded))) + encoded


@dataclass(frozen=True)
class SdesChunk:
    """The items describing one source. On the wire the item list ends with 1 to 4 null
    octets, as many as reach the next 32-bit boundary."""

    ssrc: int
    items: tuple[SdesItem, ...] = ()

    def __post_init__(self) -> None:
        _check_range("ssrc", self.ssrc, 32)

    @property
    def cname(self) -> str | None:
        """The first CNAME item's text, if any."""
        return next((item.value for item in self.items if item.item_type == CNAME), None)

    def __bytes__(self) -> bytes:
        data = _U32.pack(self.ssrc) + b"".join(map(bytes, self.items))
        return data + bytes(4 - len(data) % 4)


@dataclass(frozen=True)
class SourceDescription:
    """SDES (RFC 3550 6.5): one chunk per source described."""

    chunks: tuple[SdesChunk, ...] = ()
    padding: bytes = b""

    def __post_init__(self) -> None:
        _check_count("SDES chunks", self.chunks)
        _check_padding(self.padding)

    @classmethod
    def with_cname(cls, ssrc: int, cname: str) -> SourceDescription:
        """The usual SDES: one source, one CNAME."""
        return cls((SdesChunk(ssrc, (SdesItem(CNAME, cname),)),))

    def __bytes__(self) -> bytes:
        body = b"".join(map(bytes, self.chunks))
        return _packet(len(self.chunks), SDES, body, self.padding)


@dataclass(frozen=True)
class Bye:
    """BYE (RFC 3550 6.6): these sources leave, with an optional UTF-8 reason (at most 255
    bytes), zero-padded on the wire to a 32-bit boundary."""

    ssrcs: tuple[int, ...] = ()
    reason: str | None = None
    padding: bytes = b""

    def __post_init__(self) -> None:
        _check_count("BYE sources", self.ssrcs)
        for ssrc in self.ssrcs:
            _check_range("ssrc", ssrc, 32)
        if self.reason is not None and len(self.reason.encode("utf-8")) > 255:
            raise RtcpError("BYE reason longer than 255 bytes")
        _check_padding(self.padding)

    def __bytes__(self) -> bytes:
        body = b"".join(_U32.pack(ssrc) for ssrc in self.ssrcs)
        if self.reason is not None:
            encoded = self.reason.encode("utf-8")
            text = bytes((len(encoded),)) + encoded
            body += text + bytes(-len(text) % 4)
        return _packet(len(self.ssrcs), BYE, body, self.padding)


@dataclass(frozen=True)
class UnknownRtcp:
    """Any other RTCP packet (APP, feedback, XR ...), kept whole: the 5-bit count field and
    the body after the common header."""

    packet_type: int
    count: int = 0
    body: bytes = b""
    padding: bytes = b""

    def __post_init__(self) -> None:
        _check_range("packet type", self.packet_type, 8)
        _check_range("count", self.count, 5)
        _words("packet body", self.body)
        _check_padding(self.padding)

    def __bytes__(self) -> bytes:
        return _packet(self.count, self.packet_type, self.body, self.padding)


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Bye | UnknownRtcp


def serialize(packets: tuple[RtcpPacket, ...] | list[RtcpPacket]) -> bytes:
    """One compound datagram from `packets`, in order."""
    return b"".join(map(bytes, packets))


def parse(data: bytes) -> tuple[RtcpPacket, ...]:
    """Every packet of a compound RTCP datagram, in order. Raises `RtcpError` (and nothing
    else) for an empty datagram, a wrong version, a length that overruns the datagram or does
    not fit the packet's content, padding anywhere but in the last packet, or a malformed
    body."""
    if not data:
        raise RtcpError("empty datagram")
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        packet, offset = _parse_one(data, offset)
        if packets and packets[-1].padding:
            raise RtcpError("padding in a packet that is not the last of the compound")
        packets.append(packet)
    return tuple(packets)


def _parse_one(data: bytes, offset: int) -> tuple[RtcpPacket, int]:
    if offset + 4 > len(data):
        raise RtcpError(f"short header: {len(data) - offset} bytes at offset {offset}")
    first, packet_type, length = _HEADER.unpack_from(data, offset)
    if first >> 6 != RTCP_VERSION:
        raise RtcpError(f"wrong version {first >> 6} at offset {offset}")
    end = offset + 4 + 4 * length
    if end > len(data):
        raise RtcpError(f"length {length} words at offset {offset} needs {end} bytes, "
                        f"the datagram has {len(data)}")
    content = data[offset + 4:end]
    padding = _split_padding(content) if first & 0x20 else b""
    body = content[: len(content) - len(padding)]
    count = first & 0x1F
    parser = _PARSERS.get(packet_type)
    if parser is None:
        return UnknownRtcp(packet_type, count, body, padding), end
    return parser(count, body, padding), end


def _split_padding(content: bytes) -> bytes:
    size = content[-1] if content else 0
    if size == 0 or size > len(content):
        raise RtcpError(f"bad padding length {size}: the packet has {len(content)} bytes "
                        "after its header")
    return content[len(content) - size:]


def _parse_reports(count: int, body: bytes, offset: int) -> tuple[tuple[ReportBlock, ...], bytes]:
    end = offset + count * _REPORT_BLOCK.size
    if end > len(body):
        raise RtcpError(f"{count} report blocks do not fit a body of {len(body)} bytes")
    reports = tuple(ReportBlock.parse(body, at) for at in range(offset, end, _REPORT_BLOCK.size))
    return reports, body[end:]


def _parse_sr(count: int, body: bytes, padding: bytes) -> SenderReport:
    if len(body) < _SENDER_INFO.size:
        raise RtcpError(f"sender report body of {len(body)} bytes, sender info needs "
                        f"{_SENDER_INFO.size}")
    info = _SENDER_INFO.unpack_from(body)
    reports, extension = _parse_reports(count, body, _SENDER_INFO.size)
    return SenderReport(*info, reports=reports, extension=extension, padding=padding)


def _parse_rr(count: int, body: bytes, padding: bytes) -> ReceiverReport:
    if len(body) < 4:
        raise RtcpError(f"receiver report body of {len(body)} bytes has no SSRC")
    reports, extension = _parse_reports(count, body, 4)
    return ReceiverReport(_U32.unpack_from(body)[0], reports, extension, padding)


def _parse_sdes(count: int, body: bytes, padding: bytes) -> SourceDescription:
    chunks = []
    offset = 0
    for _ in range(count):
        chunk, offset = _parse_chunk(body, offset)
        chunks.append(chunk)
    if offset != len(body):
        raise RtcpError(f"{len(body) - offset} bytes after the last of {count} SDES chunks")
    return SourceDescription(tuple(chunks), padding)


def _parse_chunk(body: bytes, offset: int) -> tuple[SdesChunk, int]:
    if offset + 4 > len(body):
        raise RtcpError(f"SDES chunk at offset {offset} has no SSRC")
    ssrc = _U32.unpack_from(body, offset)[0]
    start = offset
    offset += 4
    items = []
    while offset < len(body) and body[offset] != 0:
        item, offset = _parse_item(body, offset)
        items.append(item)
    end = offset + 4 - (offset - start) % 4
    if end > len(body) or any(body[offset:end]):
        raise RtcpError(f"SDES chunk at offset {start} does not end in null octets up to a "
                        "32-bit boundary")
    return SdesChunk(ssrc, tuple(items)), end


def _parse_item(body: bytes, offset: int) -> tuple[SdesItem, int]:
    if offset + 2 > len(body):
        raise RtcpError(f"SDES item at offset {offset} has no length octet")
    item_type, size = body[offset], body[offset + 1]
    end = offset + 2 + size
    if end > len(body):
        raise RtcpError(f"SDES item at offset {offset} of {size} bytes overruns the packet")
    return SdesItem(item_type, _text(body[offset + 2:end], "SDES item")), end


def _parse_bye(count: int, body: bytes, padding: bytes) -> Bye:
    end = 4 * count
    if end > len(body):
        raise RtcpError(f"{count} BYE sources do not fit a body of {len(body)} bytes")
    ssrcs = struct.unpack_from(f"!{count}I", body)
    if end == len(body):
        return Bye(ssrcs, None, padding)
    size = body[end]
    text_end = end + 1 + size
    if text_end > len(body) or len(body) - text_end >= 4 or any(body[text_end:]):
        raise RtcpError(f"BYE reason of {size} bytes does not fill the packet to the next "
                        "32-bit boundary with null octets")
    return Bye(ssrcs, _text(body[end + 1:text_end], "BYE reason"), padding)


def _text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RtcpError(f"{what} is not UTF-8") from None


_PARSERS = {SR: _parse_sr, RR: _parse_rr, SDES: _parse_sdes, BYE: _parse_bye}
