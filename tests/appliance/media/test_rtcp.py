"""RTCP: hand-built compound packets, malformations, and round-trip properties."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.media.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpError,
    RtcpPacket,
    SdesChunk,
    SdesItem,
    SenderReport,
    SourceDescription,
    UnknownRtcp,
    parse,
    serialize,
)

# SR with one report block, then SDES with a CNAME: the compound packet RFC 3550 6.1 asks for.
SR_SDES = bytes.fromhex(
    "81c8000c"  # V=2 RC=1 PT=200 length 12
    "11223344"  # SSRC of sender
    "e7a1b2c3d4e5f600"  # NTP timestamp
    "00001f40"  # RTP timestamp
    "00000032 00001f40"  # packet count 50, octet count 8000
    "55667788 19fffffe 0001000a 00000010 b2c3d4e5 00010000"  # report block
    "81ca0004"  # V=2 SC=1 PT=202 length 4
    "11223344"
    "0109" + b"ccbox@lab".hex() + "00"  # CNAME item, then one null reaches the boundary
)


def test_parse_sender_report_and_cname() -> None:
    report, sdes = parse(SR_SDES)
    assert report == SenderReport(
        ssrc=0x11223344, ntp_timestamp=0xE7A1B2C3D4E5F600, rtp_timestamp=8000,
        packet_count=50, octet_count=8000,
        reports=(ReportBlock(0x55667788, fraction_lost=0x19, cumulative_lost=-2,
                             highest_sequence=0x1000A, jitter=16, last_sr=0xB2C3D4E5,
                             delay_since_last_sr=0x10000),),
    )
    assert isinstance(sdes, SourceDescription)
    assert sdes.chunks[0].cname == "ccbox@lab"
    assert sdes == SourceDescription.with_cname(0x11223344, "ccbox@lab")
    assert serialize([report, sdes]) == SR_SDES


def test_receiver_report_and_bye_with_reason() -> None:
    data = bytes.fromhex("80c90001 0a0b0c0d" "82cb0004 00000001 00000002 07" + b"timeout".hex())
    rr, bye = parse(data)
    assert rr == ReceiverReport(0x0A0B0C0D)
    assert bye == Bye((1, 2), "timeout")
    assert serialize([rr, bye]) == data


def test_bye_without_reason_and_unknown_types_pass_through() -> None:
    app = UnknownRtcp(204, 3, b"\x00\x00\x00\x01name" + b"data")
    data = bytes(Bye((7,))) + bytes(app)
    assert parse(data) == (Bye((7,)), app)


def test_padding_on_the_last_packet() -> None:
    rr = ReceiverReport(1, padding=b"\x00\x00\x00\x04")
    assert bytes(rr)[0] & 0x20 and parse(bytes(rr)) == (rr,)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty datagram"),
        (b"\x80\xc9\x00", "short header"),
        (b"\x40\xc9\x00\x01\x00\x00\x00\x00", "wrong version 1"),
        (b"\x80\xc9\x00\x02\x00\x00\x00\x00", "length 2 words at offset 0 needs 12 bytes"),
        (b"\x81\xc9\x00\x01\x00\x00\x00\x00", "1 report blocks do not fit"),
        (b"\x80\xc8\x00\x01\x00\x00\x00\x00", "sender info needs 24"),
        (b"\xa0\xc9\x00\x01\x00\x00\x00\x00", "bad padding length 0"),
        (bytes(ReceiverReport(1, padding=b"\x00\x00\x00\x04")) + bytes(Bye()),
         "padding in a packet that is not the last"),
        (b"\x81\xca\x00\x02\x00\x00\x00\x01\x01\x02ab", "does not end in null octets"),
        (b"\x81\xca\x00\x02\x00\x00\x00\x01\x01\x09ab", "overruns the packet"),
        (b"\x81\xca\x00\x02\x00\x00\x00\x01\x01\x01\xff\x00", "SDES item is not UTF-8"),
        (b"\x81\xcb\x00\x02\x00\x00\x00\x01\x05abc", "BYE reason of 5 bytes"),
    ],
)
def test_malformed_packets_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(RtcpError, match=reason):
        parse(data)


def test_cumulative_lost_is_24_bit_signed() -> None:
    for value in (-(1 << 23), (1 << 23) - 1):
        block = ReportBlock(1, cumulative_lost=value)
        assert ReportBlock.parse(bytes(block), 0) == block
    with pytest.raises(RtcpError):
        ReportBlock(1, cumulative_lost=1 << 23)


u32 = st.integers(0, (1 << 32) - 1)
words = st.integers(0, 4).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n))
paddings = st.just(b"") | st.integers(1, 3).map(lambda n: bytes(4 * n - 1) + bytes((4 * n,)))
text = st.text(max_size=40).filter(lambda s: len(s.encode("utf-8")) <= 255)
blocks = st.builds(ReportBlock, u32, st.integers(0, 255), st.integers(-(1 << 23), (1 << 23) - 1),
                   u32, u32, u32, u32)
reports = st.lists(blocks, max_size=31).map(tuple)
sender_reports = st.builds(SenderReport, u32, st.integers(0, (1 << 64) - 1), u32, u32, u32,
                           reports, words, paddings)
receiver_reports = st.builds(ReceiverReport, u32, reports, words, paddings)
chunks = st.builds(SdesChunk, u32,
                   st.lists(st.builds(SdesItem, st.integers(1, 255), text), max_size=4).map(tuple))
sdes = st.builds(SourceDescription, st.lists(chunks, max_size=31).map(tuple), paddings)
byes = st.builds(Bye, st.lists(u32, max_size=31).map(tuple), st.none() | text, paddings)
unknown = st.builds(UnknownRtcp, st.integers(204, 255), st.integers(0, 31), words, paddings)
any_packet = sender_reports | receiver_reports | sdes | byes | unknown


@given(st.lists(any_packet, min_size=1, max_size=5))
def test_generated_compounds_round_trip(packets: list[RtcpPacket]) -> None:
    # Only the last packet of a compound may carry padding.
    packets = [_unpadded(p) for p in packets[:-1]] + packets[-1:]
    wire = serialize(packets)
    assert parse(wire) == tuple(packets)
    assert serialize(parse(wire)) == wire


def _unpadded(packet: RtcpPacket) -> RtcpPacket:
    return replace(packet, padding=b"")


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_rtcp_error(data: bytes) -> None:
    try:
        packets = parse(data)
    except RtcpError:
        return
    assert serialize(packets) == data


@given(st.lists(any_packet, min_size=1, max_size=3), st.data())
def test_mutated_compounds_raise_only_rtcp_error(
    packets: list[RtcpPacket], data: st.DataObject,
) -> None:
    wire = bytearray(serialize(packets))
    index = data.draw(st.integers(0, len(wire) - 1))
    wire[index] = data.draw(st.integers(0, 255))
    cut = bytes(wire[: data.draw(st.integers(0, len(wire)))])
    try:
        parsed = parse(cut)
    except RtcpError:
        return
    assert serialize(parsed) == cut
