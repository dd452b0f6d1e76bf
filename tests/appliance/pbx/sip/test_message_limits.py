"""Size limits on what one datagram may make us parse, and Via checked hop by hop."""

from __future__ import annotations

import pytest

from appliance.clock import Deadlines
from appliance.pbx.sip import Request, Response, SendTo, SipError, TransactionLayer, parse
from appliance.pbx.sip.message import MAX_HEADER_LINES, MAX_LINE_BYTES, MAX_MESSAGE_BYTES

MANDATORY = (
    "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds",
    "Max-Forwards: 70",
    "To: Bob <sip:bob@example.com>",
    "From: Alice <sip:alice@example.com>;tag=1928301774",
    "Call-ID: a84b4c76e66710@pc33.example.com",
    "CSeq: 314159 INVITE",
)
START = "INVITE sip:bob@example.com SIP/2.0"


def wire(*lines: str, body: bytes = b"", end: str = "\r\n") -> bytes:
    return (end.join(lines) + end + end).encode("utf-8") + body


def padded(header_lines: int) -> bytes:
    """An INVITE with exactly `header_lines` lines after the start line."""
    padding = [f"X-Pad: {n}" for n in range(header_lines - len(MANDATORY))]
    return wire(START, *MANDATORY, *padding)


def with_line_of(size: int, end: str = "\r\n") -> bytes:
    """An INVITE with one header line of `size` bytes, line end excluded."""
    name = "Subject: "
    return wire(START, *MANDATORY, name + "s" * (size - len(name)), end=end)


def rejection(data: bytes) -> tuple[int, str]:
    with pytest.raises(SipError) as caught:
        parse(data)
    return caught.value.status, caught.value.reason


def test_the_limits() -> None:
    assert (MAX_MESSAGE_BYTES, MAX_HEADER_LINES, MAX_LINE_BYTES) == (65_535, 200, 8_192)


# --- the whole datagram --------------------------------------------------------------------


def test_a_message_of_65535_bytes_is_accepted() -> None:
    head = wire(START, *MANDATORY)
    message = parse(head + b"x" * (MAX_MESSAGE_BYTES - len(head)))
    assert len(message.body) == MAX_MESSAGE_BYTES - len(head)


def test_a_message_over_65535_bytes_is_refused_as_too_large() -> None:
    head = wire(START, *MANDATORY)
    data = head + b"x" * (MAX_MESSAGE_BYTES + 1 - len(head))
    assert rejection(data) == (513, "Message Too Large")


def test_the_size_limit_counts_leading_empty_lines() -> None:
    head = wire(START, *MANDATORY)
    data = b"\r\n" + head + b"x" * (MAX_MESSAGE_BYTES - 1 - len(head))
    assert len(data) == MAX_MESSAGE_BYTES + 1
    assert rejection(data) == (513, "Message Too Large")


# --- header lines --------------------------------------------------------------------------


@pytest.mark.parametrize("lines", [len(MANDATORY), 100, MAX_HEADER_LINES])
def test_up_to_200_header_lines_are_accepted(lines: int) -> None:
    message = parse(padded(lines))
    assert isinstance(message, Request)
    assert len(message.headers.get_all("X-Pad")) == lines - len(MANDATORY)


@pytest.mark.parametrize("lines", [MAX_HEADER_LINES + 1, 1000])
def test_more_than_200_header_lines_are_a_400_naming_the_limit(lines: int) -> None:
    assert rejection(padded(lines)) == (400, "Bad Request: too many headers (over 200)")


def test_folded_lines_count_one_by_one() -> None:
    folded = ["X-Folded: start", *(" more" for _ in range(MAX_HEADER_LINES - len(MANDATORY)))]
    assert isinstance(parse(wire(START, *MANDATORY, *folded[:-1])), Request)
    assert rejection(wire(START, *MANDATORY, *folded))[1] == (
        "Bad Request: too many headers (over 200)")


def test_a_response_has_the_same_header_limit() -> None:
    padding = [f"X-Pad: {n}" for n in range(MAX_HEADER_LINES + 1 - len(MANDATORY))]
    data = wire("SIP/2.0 200 OK", *MANDATORY, *padding)
    assert rejection(data) == (400, "Bad Request: too many headers (over 200)")


@pytest.mark.parametrize("end", ["\r\n", "\n"])
def test_a_header_line_of_8192_bytes_is_accepted(end: str) -> None:
    message = parse(with_line_of(MAX_LINE_BYTES, end))
    assert len("Subject: " + (message.headers.get("Subject") or "")) == MAX_LINE_BYTES


@pytest.mark.parametrize("end", ["\r\n", "\n"])
def test_a_header_line_over_8192_bytes_is_a_400_naming_the_limit(end: str) -> None:
    assert rejection(with_line_of(MAX_LINE_BYTES + 1, end)) == (
        400, "Bad Request: header line too long (over 8192 bytes)")


def test_the_line_limit_counts_bytes_not_characters() -> None:
    name = "Subject: "
    wide = "\u00e9" * ((MAX_LINE_BYTES - len(name)) // 2)  # two bytes each in UTF-8
    assert isinstance(parse(wire(START, *MANDATORY, name + wide)), Request)
    assert rejection(wire(START, *MANDATORY, name + wide + "\u00e9"))[1] == (
        "Bad Request: header line too long (over 8192 bytes)")


def test_an_overlong_start_line_is_a_400() -> None:
    start = "INVITE sip:bob@example.com;x=" + "y" * MAX_LINE_BYTES + " SIP/2.0"
    assert rejection(wire(start, *MANDATORY)) == (
        400, "Bad Request: start line too long (over 8192 bytes)")


def test_a_long_body_line_is_not_a_header_line() -> None:
    body = b"v=" + b"0" * (2 * MAX_LINE_BYTES) + b"\r\n"
    assert parse(wire(START, *MANDATORY, body=body)).body == body


# --- every Via -----------------------------------------------------------------------------

SECOND_VIA_BAD = (
    "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds",
    "Via: SIP/2.0 proxy.example.com;branch=z9hG4bKbad",
)


@pytest.mark.parametrize(
    "vias",
    [
        SECOND_VIA_BAD,
        ("Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds, SIP/2.0/UDP :5060",),
        ("Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds",
         "Via: SIP/2.0/UDP proxy.example.com:99999;branch=z9hG4bKbad"),
        ("Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds",
         "Via: SIP/2.0/UDP proxy.example.com",
         "Via: SIP/2.0/UDP host.example.com;=oops"),
    ],
)
def test_a_malformed_via_below_the_top_one_is_a_400_naming_via(vias: tuple[str, ...]) -> None:
    data = wire(START, *vias, *MANDATORY[1:])
    assert rejection(data) == (400, "Bad Request: malformed Via header")


def test_a_response_with_a_malformed_second_via_is_refused_too() -> None:
    data = wire("SIP/2.0 180 Ringing", *SECOND_VIA_BAD, *MANDATORY[1:])
    assert rejection(data) == (400, "Bad Request: malformed Via header")


def test_several_sound_vias_are_kept_in_order() -> None:
    vias = ("Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds",
            "v: SIP/2.0/TCP proxy.example.com:5061;branch=z9hG4bKp1, SIP/2.0/UDP [2001:db8::1]")
    message = parse(wire(START, *vias, *MANDATORY[1:]))
    assert len(message.headers.get_all("Via")) == 3


# --- what the transaction layer answers ----------------------------------------------------

SOURCE = ("192.0.2.10", 5070)


def layer_answers(data: bytes) -> list[tuple[int, str]]:
    core = TransactionLayer(Deadlines(), frozenset({"INVITE", "ACK", "CANCEL", "BYE"}))
    core.receive_datagram(data, SOURCE, 0.0)
    answers = []
    for effect in core.take_effects():
        assert isinstance(effect, SendTo)
        response = parse(effect.data)
        assert isinstance(response, Response)
        answers.append((response.status, response.reason))
    return answers


def test_the_layer_answers_too_many_headers_with_the_reason() -> None:
    assert layer_answers(padded(MAX_HEADER_LINES + 1)) == [
        (400, "Bad Request: too many headers (over 200)")]


def test_the_layer_answers_an_overlong_header_line_with_the_reason() -> None:
    assert layer_answers(with_line_of(MAX_LINE_BYTES + 1)) == [
        (400, "Bad Request: header line too long (over 8192 bytes)")]


def test_the_layer_answers_an_oversized_datagram_513() -> None:
    head = wire(START, *MANDATORY)
    data = head + b"x" * (MAX_MESSAGE_BYTES + 1 - len(head))
    assert layer_answers(data) == [(513, "Message Too Large")]


def test_responses_the_layer_makes_itself_carry_a_to_tag() -> None:
    from appliance.clock import Deadlines
    from appliance.pbx.sip.layer import SendTo, TransactionLayer
    from appliance.pbx.sip.message import parse, parse_name_addr

    layer = TransactionLayer(Deadlines(), frozenset({"INVITE", "ACK", "BYE", "CANCEL"}))
    subscribe = (b"SUBSCRIBE sip:1001@127.0.0.1 SIP/2.0\r\n"
                 b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKsub1\r\n"
                 b"Max-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag=a\r\n"
                 b"To: <sip:1001@127.0.0.1>\r\nCall-ID: s1\r\nCSeq: 1 SUBSCRIBE\r\n"
                 b"Event: message-summary\r\nContent-Length: 0\r\n\r\n")
    layer.receive_datagram(subscribe, ("127.0.0.1", 5070), 0.0)
    layer.receive_datagram(subscribe, ("127.0.0.1", 5070), 0.5)  # retransmitted
    sent = [parse(e.data) for e in layer.take_effects() if isinstance(e, SendTo)]
    assert [m.status for m in sent] == [405, 405]
    tags = {parse_name_addr(m.headers.get("To") or "").tag for m in sent}
    assert len(tags) == 1 and None not in tags
