"""RTP packets: hand-built wire bytes, every malformation named, and round-trip properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.media.rtp import RtpError, RtpExtension, RtpPacket, parse

# A G.711 u-law packet as a phone sends it: V=2, no P/X/CC, M=1, PT 0, seq 0x1234,
# timestamp 0xDEADBEEF, SSRC 0x01020304, 4 bytes of payload.
PCMU = bytes.fromhex("80 80 1234 deadbeef 01020304 ffff7f7f")


def test_parse_a_plain_packet() -> None:
    packet = parse(PCMU)
    assert packet == RtpPacket(payload_type=0, sequence=0x1234, timestamp=0xDEADBEEF,
                               ssrc=0x01020304, payload=b"\xff\xff\x7f\x7f", marker=True)
    assert bytes(packet) == PCMU


def test_parse_csrcs_extension_and_padding() -> None:
    data = bytes.fromhex(
        "b2 08 0001 00000010 aabbccdd"  # V=2 P=1 X=1 CC=2, PT 8
        "00000001 00000002"  # CSRCs
        "bede 0001 10ff0000"  # RFC 8285 one-byte extension, one word
        "d5d5"  # payload
        "000003"  # three bytes of padding, the last one their count
    )
    packet = parse(data)
    assert packet.csrcs == (1, 2)
    assert packet.extension == RtpExtension(0xBEDE, bytes.fromhex("10ff0000"))
    assert packet.payload == b"\xd5\xd5"
    assert packet.padding == b"\x00\x00\x03"
    assert not packet.marker and packet.payload_type == 8
    assert bytes(packet) == data


def test_padding_octets_are_kept_as_received() -> None:
    data = b"\xa0" + PCMU[1:] + b"\xaa\x02"
    assert parse(data).padding == b"\xaa\x02"
    assert bytes(parse(data)) == data


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "short header: 0 bytes"),
        (PCMU[:11], "short header: 11 bytes"),
        (b"\x40" + PCMU[1:], "wrong version 1"),
        (b"\x00" + PCMU[1:], "wrong version 0"),
        (b"\x83" + PCMU[1:], "CSRC count 3 needs 24 bytes"),
        (b"\x90" + PCMU[1:12] + b"\xbe\xde", "extension header needs 16 bytes"),
        (b"\x90" + PCMU[1:12] + b"\xbe\xde\x00\x02\x00\x00\x00\x00",
         "extension length 2 words needs 24 bytes"),
        (b"\xa0" + PCMU[1:12], "bad padding length 0: 0 bytes"),
        (b"\xa0" + PCMU[1:] + b"\x00", "bad padding length 0"),
        (b"\xa0" + PCMU[1:] + b"\x06", "bad padding length 6: 5 bytes"),
    ],
)
def test_malformed_packets_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(RtpError, match=reason):
        parse(data)


def test_rtp_error_is_a_value_error() -> None:
    assert issubclass(RtpError, ValueError)


@pytest.mark.parametrize(
    "fields",
    [
        {"payload_type": 128}, {"sequence": 65536}, {"sequence": -1}, {"timestamp": 1 << 32},
        {"ssrc": 1 << 32}, {"csrcs": tuple(range(16))}, {"csrcs": (1 << 32,)},
        {"padding": b"\x00\x01"}, {"padding": b"\x00"},
    ],
)
def test_out_of_range_fields_are_refused(fields: dict[str, object]) -> None:
    base: dict[str, object] = {"payload_type": 0, "sequence": 0, "timestamp": 0, "ssrc": 0}
    with pytest.raises(RtpError):
        RtpPacket(**(base | fields))  # type: ignore[arg-type]


def test_extension_data_must_be_whole_words() -> None:
    with pytest.raises(RtpError, match="not whole 32-bit words"):
        RtpExtension(0x1000, b"abc")


u32 = st.integers(0, (1 << 32) - 1)
paddings = st.integers(1, 255).flatmap(
    lambda n: st.binary(min_size=n - 1, max_size=n - 1).map(lambda b: b + bytes((n,)))
)
extensions = st.builds(
    RtpExtension,
    st.integers(0, 0xFFFF),
    st.integers(0, 8).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n)),
)
packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence=st.integers(0, 0xFFFF),
    timestamp=u32,
    ssrc=u32,
    payload=st.binary(max_size=200),
    marker=st.booleans(),
    csrcs=st.lists(u32, max_size=15).map(tuple),
    extension=st.none() | extensions,
    padding=st.just(b"") | paddings,
)


@given(packets)
def test_generated_packets_round_trip(packet: RtpPacket) -> None:
    assert parse(bytes(packet)) == packet


@given(st.binary(max_size=120))
def test_random_bytes_raise_only_rtp_error(data: bytes) -> None:
    try:
        packet = parse(data)
    except RtpError:
        return
    assert bytes(packet) == data


@given(packets, st.data())
def test_mutated_packets_raise_only_rtp_error(packet: RtpPacket, data: st.DataObject) -> None:
    wire = bytearray(bytes(packet))
    index = data.draw(st.integers(0, len(wire) - 1))
    wire[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(wire)))
    try:
        parsed = parse(bytes(wire[:cut]))
    except RtpError:
        return
    assert bytes(parsed) == bytes(wire[:cut])
