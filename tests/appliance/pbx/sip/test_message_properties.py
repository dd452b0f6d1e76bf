"""Property tests: parse never fails but with SipError; valid messages round-trip exactly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.pbx.sip import KNOWN_METHODS, Headers, Request, Response, SipError, parse

VALID = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"v: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776, SIP/2.0/TCP [2001:db8::1]:5061\r\n"
    b"Max-Forwards: 70\r\n"
    b"t: \"Bob, \\\"B\\\"\" <sip:bob@example.com>\r\n"
    b"From: Alice <sip:alice@example.com>\r\n ;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.example.com>, \"x,y\" <sip:z@w>\r\n"
    b"Content-Length: 4\r\n\r\nv=0\n"
)

SPECIAL_BYTES = list(b'\r\n \t:;,<>"\\/0\xff\xc3=')
token = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_", min_size=1,
                max_size=12)
host = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
word = st.text("abcdefghijklmnopqrstuvwxyz0123456789@.=;", min_size=1, max_size=12)
uri = st.builds(lambda user, name: f"sip:{user}@{name}.example.com", token, host)


def accepts_only_sip_errors(data: bytes) -> None:
    try:
        message = parse(data)
    except SipError as error:
        assert error.status in (400, 501, 505)
        assert error.reason
    else:
        assert parse(bytes(message)) == message


@given(st.binary(max_size=400))
def test_random_bytes_raise_only_sip_error(data: bytes) -> None:
    accepts_only_sip_errors(data)


@st.composite
def mutations(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.one_of(st.sampled_from(SPECIAL_BYTES), st.integers(0, 255)))
        if kind == "insert":
            data.insert(where, byte)
        elif where < len(data):
            if kind == "replace":
                data[where] = byte
            else:
                del data[where]
    return bytes(data)


@settings(max_examples=400)
@given(mutations())
def test_mutated_valid_message_raises_only_sip_error(data: bytes) -> None:
    accepts_only_sip_errors(data)


def test_the_unmutated_fixture_is_valid() -> None:
    message = parse(VALID)
    assert isinstance(message, Request)
    assert message.body == b"v=0\n"


extra_header = st.one_of(
    st.tuples(st.sampled_from(["Subject", "X-Queue", "User-Agent", "Call-Info"]), word),
    st.tuples(st.sampled_from(["Allow", "Supported", "Require"]),
              st.lists(token, min_size=1, max_size=3).map(", ".join)),
    st.tuples(st.sampled_from(["Contact", "Route", "Record-Route"]),
              st.lists(uri.map(lambda u: f"<{u};lr>"), min_size=1, max_size=3).map(", ".join)),
)


@st.composite
def common_headers(draw: st.DrawFn, method: str) -> list[tuple[str, str]]:
    vias = draw(st.lists(st.builds(
        lambda t, h, b: f"SIP/2.0/{t} {h}.example.com;branch=z9hG4bK{b}",
        st.sampled_from(["UDP", "TCP", "TLS"]), host, token), min_size=1, max_size=3))
    pairs = [("Via", via) for via in vias] + [
        ("To", draw(uri.map(lambda u: f"<{u}>"))),
        ("From", draw(st.builds(lambda u, t: f'"A \\"b\\"" <{u}>;tag={t}', uri, token))),
        ("Call-ID", draw(token)),
        ("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}"),
        ("Max-Forwards", str(draw(st.integers(0, 255)))),
    ]
    pairs += draw(st.lists(extra_header, max_size=4))
    return draw(st.permutations(pairs))


@st.composite
def messages(draw: st.DrawFn) -> Request | Response:
    method = draw(st.sampled_from(sorted(KNOWN_METHODS)))
    headers = Headers(draw(common_headers(method)))
    body = draw(st.binary(max_size=64))
    if draw(st.booleans()):
        return Request(method, draw(uri), headers, body)
    reason = draw(st.text("abcdefg HIJ", max_size=15))
    return Response(draw(st.integers(100, 699)), reason, headers, body)


@given(messages())
def test_generated_messages_round_trip_exactly(message: Request | Response) -> None:
    data = bytes(message)
    assert parse(data) == message
    assert bytes(parse(data)) == data
