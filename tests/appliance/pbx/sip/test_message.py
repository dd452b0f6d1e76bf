"""Parsing and serialization, with RFC 4475-style wire fixtures."""

from __future__ import annotations

import pytest

from appliance.pbx.sip import (
    KNOWN_METHODS,
    Headers,
    NameAddr,
    Request,
    Response,
    SipError,
    Via,
    parse,
    parse_cseq,
    parse_name_addr,
    parse_via,
)


def wire(*lines: str, body: bytes = b"") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


MANDATORY = (
    "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds",
    "Max-Forwards: 70",
    "To: Bob <sip:bob@example.com>",
    "From: Alice <sip:alice@example.com>;tag=1928301774",
    "Call-ID: a84b4c76e66710@pc33.example.com",
    "CSeq: 314159 INVITE",
)


def invite(*extra: str, without: str = "", body: bytes = b"") -> bytes:
    lines = [line for line in MANDATORY if not line.startswith(without + ":") or not without]
    return wire("INVITE sip:bob@example.com SIP/2.0", *lines, *extra, body=body)


SDP = b"v=0\r\no=alice 2890844526 2890844526 IN IP4 pc33.example.com\r\ns=-\r\n"

COMPACT_INVITE = wire(
    "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0",
    "TO :",
    " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
    "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>",
    "  ;",
    "  tag = 98asjd8",
    "MaX-fOrWaRdS: 0068",
    "Call-ID: wsinv.ndaksdj@192.0.2.1",
    "Content-Length   : 150",
    "cseq: 0009",
    "  INVITE",
    "Via  : SIP  /   2.0",
    " /UDP",
    "    192.0.2.2;branch=390skdjuw",
    "s :",
    "NewFangledHeader:   newfangled value",
    " continued newfangled value",
    "UnknownHeaderWithUnusualValue: ;;,,;;,;",
    "Content-Type: application/sdp",
    "Route:",
    " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>",
    "v:  SIP  / 2.0  / TCP     spindle.example.com   ;",
    "  branch  =   z9hG4bK9ikj8  ,",
    " SIP  /    2.0   / UDP  192.168.255.111   ; branch=",
    " z9hG4bK30239",
    "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =",
    "      newvalue ;",
    "  secondparam ; q = 0.33",
    body=b"v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\n"
    b"t=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\n"
    b"a=rtpmap:31 LPC\r\n" + b"x" * 20,
)


def test_rfc4475_wsinv_style_compact_folded_request() -> None:
    message = parse(COMPACT_INVITE)
    assert isinstance(message, Request)
    assert message.method == "INVITE"
    assert message.uri == "sip:vivekg@chair-dnrc.example.com;unknownparam"
    headers = message.headers
    assert headers.get("To") == "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n"
    assert headers.get("From") == (
        '"J Rosenberg \\\\\\""       <sip:jdrosen@example.com> ; tag = 98asjd8'
    )
    assert headers.get("Max-Forwards") == "0068"
    assert headers.get("CSeq") == "0009 INVITE"
    assert headers.get("Subject") == ""
    assert headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert headers.get_all("Via") == [
        "SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw",
        "SIP  / 2.0  / TCP     spindle.example.com   ; branch  =   z9hG4bK9ikj8",
        "SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239",
    ]
    assert headers.get_all("Route") == [
        "<sip:services.example.com;lr;unknownwith=value;unknown-no-value>",
    ]
    assert "Content-Length" not in headers
    assert len(message.body) == 150
    assert message.body.endswith(b"a=rtpmap:31 LPC\r\n")

    assert parse_cseq(headers.get("CSeq") or "") == (9, "INVITE")
    assert parse_name_addr(headers.get("To") or "") == NameAddr(
        None, "sip:vivekg@chair-dnrc.example.com", {"tag": "1918181833n"},
    )
    sender = parse_name_addr(headers.get("From") or "")
    assert sender.display_name == 'J Rosenberg \\"'
    assert sender.tag == "98asjd8"
    contact = parse_name_addr(headers.get("Contact") or "")
    assert contact == NameAddr(
        'Quoted string ""', "sip:jdrosen@example.com",
        {"newparam": "newvalue", "secondparam": None, "q": "0.33"},
    )
    assert [parse_via(v) for v in headers.get_all("Via")] == [
        Via("UDP", "192.0.2.2", None, {"branch": "390skdjuw"}),
        Via("TCP", "spindle.example.com", None, {"branch": "z9hG4bK9ikj8"}),
        Via("UDP", "192.168.255.111", None, {"branch": "z9hG4bK30239"}),
    ]


def test_compact_form_serializes_with_full_names() -> None:
    message = parse(COMPACT_INVITE)
    text = bytes(message).decode("utf-8", "replace")
    head = text.split("\r\n\r\n")[0].split("\r\n")
    names = [line.split(":")[0] for line in head[1:]]
    assert head[0] == "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0"
    assert names == [
        "To", "From", "Max-Forwards", "Call-ID", "CSeq", "Via", "Subject", "Newfangledheader",
        "Unknownheaderwithunusualvalue", "Content-Type", "Route", "Via", "Via", "Contact",
        "Content-Length",
    ]
    assert head[-1] == "Content-Length: 150"
    assert parse(bytes(message)) == message


def test_multiple_vias_in_one_header_and_across_headers_keep_order() -> None:
    data = wire(
        "OPTIONS sip:user@example.com SIP/2.0",
        "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com:5070"
        ";branch=z9hG4bK2;received=192.0.2.7",
        "Via: SIP/2.0/TLS [2001:db8::1]:5061;branch=z9hG4bK3;rport=5062",
        "To: <sip:user@example.com>",
        "From: sip:caller@example.net;tag=a",
        "Call-ID: 1@x",
        "CSeq: 2 OPTIONS",
        "Max-Forwards: 70",
        "Accept: application/sdp, text/plain",
    )
    message = parse(data)
    vias = [parse_via(value) for value in message.headers.get_all("Via")]
    assert vias == [
        Via("UDP", "a.example.com", None, {"branch": "z9hG4bK1"}),
        Via("TCP", "b.example.com", 5070, {"branch": "z9hG4bK2", "received": "192.0.2.7"}),
        Via("TLS", "[2001:db8::1]", 5061, {"branch": "z9hG4bK3", "rport": "5062"}),
    ]
    assert vias[1].received == "192.0.2.7"
    assert vias[2].rport == 5062
    assert message.headers.get_all("Accept") == ["application/sdp", "text/plain"]
    assert message.body == b""


def test_response_with_body_and_content_length() -> None:
    data = wire(
        "SIP/2.0 200 OK",
        "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1",
        "To: Bob <sip:bob@example.com>;tag=a6c85cf",
        "From: Alice <sip:alice@example.com>;tag=1928301774",
        "Call-ID: a84b4c76e66710@pc33.example.com",
        "CSeq: 314159 INVITE",
        "Contact: <sip:bob@192.0.2.4>",
        "Content-Type: application/sdp",
        f"Content-Length: {len(SDP)}",
        body=SDP,
    )
    message = parse(data)
    assert message == Response(
        200, "OK",
        Headers([
            ("Via", "SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1"),
            ("To", "Bob <sip:bob@example.com>;tag=a6c85cf"),
            ("From", "Alice <sip:alice@example.com>;tag=1928301774"),
            ("Call-ID", "a84b4c76e66710@pc33.example.com"),
            ("CSeq", "314159 INVITE"),
            ("Contact", "<sip:bob@192.0.2.4>"),
            ("Content-Type", "application/sdp"),
        ]),
        SDP,
    )
    assert bytes(message) == data
    assert parse_name_addr(message.headers.get("To") or "").display_name == "Bob"


def test_reason_phrase_may_hold_spaces_or_be_empty() -> None:
    base = [line for line in MANDATORY if not line.startswith("Max-Forwards")]
    assert parse(wire("SIP/2.0 486 Busy Here", *base)).reason == "Busy Here"
    assert parse(wire("SIP/2.0 180", *base)).reason == ""


def test_longer_datagram_is_cut_to_content_length_and_missing_length_takes_the_rest() -> None:
    cut = parse(invite("Content-Length: 4", body=b"abcdefgh"))
    whole = parse(invite(body=b"abcdefgh"))
    assert cut.body == b"abcd"
    assert whole.body == b"abcdefgh"


def test_leading_empty_lines_and_bare_line_feeds_are_tolerated() -> None:
    data = b"\r\n\r\n" + invite().replace(b"\r\n", b"\n")
    assert parse(data) == parse(invite())


def test_sip_version_is_case_insensitive_and_written_upper_case() -> None:
    message = parse(invite().replace(b"SIP/2.0\r\n", b"sip/2.0\r\n", 1))
    assert bytes(message).startswith(b"INVITE sip:bob@example.com SIP/2.0\r\n")


def test_non_ascii_utf8_in_headers_is_kept() -> None:
    message = parse(invite('Subject: caf\u00e9 \u2013 r\u00e9union'))
    assert message.headers.get("Subject") == "caf\u00e9 \u2013 r\u00e9union"
    assert parse(bytes(message)) == message


def test_constructed_content_length_is_dropped_and_recomputed() -> None:
    request = Request(
        "MESSAGE", "sip:a@b", Headers(
            [*(tuple(line.split(": ", 1)) for line in MANDATORY), ("l", "999")]
        ), b"hi",
    )
    assert "Content-Length" not in request.headers
    assert bytes(request).endswith(b"Content-Length: 2\r\n\r\nhi")


def test_known_methods() -> None:
    assert {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "UPDATE",
            "PRACK", "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH"} == KNOWN_METHODS


@pytest.mark.parametrize(
    ("data", "status", "reason"),
    [
        (invite(without="Call-ID"), 400, "Bad Request: missing Call-ID header"),
        (invite(without="To"), 400, "Bad Request: missing To header"),
        (invite(without="From"), 400, "Bad Request: missing From header"),
        (invite(without="CSeq"), 400, "Bad Request: missing CSeq header"),
        (invite(without="Via"), 400, "Bad Request: missing Via header"),
        (invite().replace(b"SIP/2.0\r\n", b"SIP/7.0\r\n", 1), 505, "Version Not Supported"),
        (wire("SIP/3.0 200 OK", *MANDATORY), 505, "Version Not Supported"),
        (invite().replace(b"SIP/2.0\r\n", b"HTTP/1.1\r\n", 1), 400,
         "Bad Request: malformed SIP version 'HTTP/1.1'"),
        (invite().replace(b"INVITE sip:", b"INVITE  sip:", 1), 400,
         "Bad Request: malformed request line 'INVITE  sip:bob@example.com SIP/2.0'"),
        (invite().replace(b"INVITE sip:bob@example.com", b"INV\xc3\xa9TE bob", 1), 400,
         "Bad Request: malformed method 'INV\u00e9TE'"),
        (invite().replace(b"sip:bob@example.com SIP", b"bob SIP", 1), 400,
         "Bad Request: malformed Request-URI 'bob'"),
        (wire("SIP/2.0 2000 OK", *MANDATORY), 400, "Bad Request: malformed status code '2000'"),
        (wire("SIP/2.0 099 Odd", *MANDATORY), 400, "Bad Request: malformed status code '099'"),
        (invite().replace(b"CSeq: 314159 INVITE", b"CSeq: 314159 BYE"), 400,
         "Bad Request: CSeq method 'BYE' differs from request method 'INVITE'"),
        (invite().replace(b"CSeq: 314159 INVITE", b"CSeq: INVITE"), 400,
         "Bad Request: malformed CSeq header"),
        (invite().replace(b"CSeq: 314159 INVITE", b"CSeq: 2147483648 INVITE"), 400,
         "Bad Request: malformed CSeq header"),
        (invite("Content-Length: -1"), 400,
         "Bad Request: Content-Length is not a non-negative integer: '-1'"),
        (invite("l: ten"), 400, "Bad Request: Content-Length is not a non-negative integer: 'ten'"),
        (invite("Content-Length: 10", body=b"short"), 400,
         "Bad Request: body shorter than Content-Length"),
        (invite("Content-Length: 99999999999999999999999"), 400,
         "Bad Request: body shorter than Content-Length"),
        (invite("Content-Length: 2", "l: 2", body=b"ab"), 400,
         "Bad Request: more than one Content-Length header"),
        (invite("Call-ID: second"), 400, "Bad Request: more than one Call-ID header"),
        (invite("This line has no colon"), 400,
         "Bad Request: header line without a colon: 'This line has no colon'"),
        (invite("Bad Name: x"), 400, "Bad Request: malformed header name 'Bad Name'"),
        (invite("Subject: caf\u00e9").replace(b"caf\xc3\xa9", b"caf\xe9"), 400,
         "Bad Request: header part is not UTF-8"),
        (invite("Subject: a\rb"), 400, "Bad Request: control character in header part"),
        (invite().replace(b"Max-Forwards: 70", b"Max-Forwards: 300"), 400,
         "Bad Request: malformed Max-Forwards header '300'"),
        (invite().replace(b"SIP/2.0/UDP pc33", b"SIP/2.0/UDP pc33:99999"), 400,
         "Bad Request: malformed Via header"),
        (invite().replace(b"SIP/2.0/UDP pc33", b"SIP/2.0 pc33"), 400,
         "Bad Request: malformed Via header"),
        (invite().replace(b"To: Bob <sip:bob@example.com>", b"To: Bob <sip:bob@example.com"),
         400, "Bad Request: malformed To header"),
        (invite().replace(b"From: Alice", b'From: "Alice'), 400,
         "Bad Request: malformed From header"),
        (wire("INVITE sip:a@b SIP/2.0", " folded: first"), 400,
         "Bad Request: continuation line before the first header"),
        (b"", 400, "Bad Request: empty message"),
        (b"\r\n\r\n", 400, "Bad Request: empty message"),
    ],
)
def test_malformed_messages_name_the_problem(data: bytes, status: int, reason: str) -> None:
    with pytest.raises(SipError) as caught:
        parse(data)
    assert (caught.value.status, caught.value.reason) == (status, reason)
    assert str(caught.value) == reason


def test_response_requires_the_transaction_headers() -> None:
    base = [line for line in MANDATORY if not line.startswith("Via")]
    with pytest.raises(SipError, match="missing Via header"):
        parse(wire("SIP/2.0 200 OK", *base))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("SIP/2.0/UDP erlang.bell-telephone.com:5060;branch=z9hG4bK87asdks7",
         Via("UDP", "erlang.bell-telephone.com", 5060, {"branch": "z9hG4bK87asdks7"})),
        ("SIP/2.0/udp [2001:db8::9:1];branch=z9hG4bKas3-111;rport;received=2001:db8::9:255",
         Via("UDP", "[2001:db8::9:1]", None,
             {"branch": "z9hG4bKas3-111", "rport": None, "received": "2001:db8::9:255"})),
        ("SIP/2.0/TCP 192.0.2.1 : 5090 ; Branch=z9hG4bKx ; maddr=\"a;b\"",
         Via("TCP", "192.0.2.1", 5090, {"branch": "z9hG4bKx", "maddr": '"a;b"'})),
    ],
)
def test_parse_via(value: str, expected: Via) -> None:
    via = parse_via(value)
    assert via == expected
    assert parse_via(str(via)) == via


def test_via_accessors() -> None:
    via = parse_via("SIP/2.0/UDP h;branch=z9hG4bKa;rport")
    assert (via.branch, via.received, via.rport) == ("z9hG4bKa", None, None)
    assert str(via) == "SIP/2.0/UDP h;branch=z9hG4bKa;rport"


@pytest.mark.parametrize(
    "value",
    ["", "SIP/2.0/UDP", "SIP/1.0/UDP h", "SIP/2.0/UDP h:port", "SIP/2.0/UDP [::1",
     "SIP/2.0/UDP h;;branch=x", "SIP/2.0/UDP h;branch=", "SIP/2.0/UDP h:70000"],
)
def test_parse_via_rejects(value: str) -> None:
    with pytest.raises(SipError) as caught:
        parse_via(value)
    assert caught.value.status == 400
    assert "Via" in caught.value.reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"Smith, John" <sip:j@example.com>;tag=88',
         NameAddr("Smith, John", "sip:j@example.com", {"tag": "88"})),
        (r'"say \"hi\" \\ bye" <sips:b@example.com>',
         NameAddr('say "hi" \\ bye', "sips:b@example.com", {})),
        ("Bob   Smith <tel:+15551234>", NameAddr("Bob Smith", "tel:+15551234", {})),
        ("<sip:a@b;lr>;expires=60", NameAddr(None, "sip:a@b;lr", {"expires": "60"})),
        ("sip:a@b;tag=xyz", NameAddr(None, "sip:a@b", {"tag": "xyz"})),
        ('""<sip:a@b>', NameAddr("", "sip:a@b", {})),
    ],
)
def test_parse_name_addr(value: str, expected: NameAddr) -> None:
    parsed = parse_name_addr(value)
    assert parsed == expected
    assert parse_name_addr(str(parsed)) == parsed


@pytest.mark.parametrize(
    "value", ["", '"unterminated <sip:a@b>', "Bob <sip:a@b", '"Bob" sip:a@b', "<>",
              "Bo\"b <sip:a@b>", "<sip:a@b> junk"],
)
def test_parse_name_addr_rejects(value: str) -> None:
    with pytest.raises(SipError) as caught:
        parse_name_addr(value)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1 INVITE", (1, "INVITE")), ("  4711\tBYE ", (4711, "BYE")),
     ("2147483647 ACK", (2147483647, "ACK"))],
)
def test_parse_cseq(value: str, expected: tuple[int, str]) -> None:
    assert parse_cseq(value) == expected


@pytest.mark.parametrize("value", ["INVITE", "1", "-1 INVITE", "1 INVITE x", "2147483648 BYE"])
def test_parse_cseq_rejects(value: str) -> None:
    with pytest.raises(SipError, match="malformed CSeq"):
        parse_cseq(value)


def test_a_request_without_max_forwards_is_accepted_as_rfc_2543_ones_come() -> None:
    message = parse(invite(without="Max-Forwards"))
    assert isinstance(message, Request) and "Max-Forwards" not in message.headers


def test_an_escaped_control_character_in_a_quoted_string_is_legal() -> None:
    data = invite().replace(b"From: Alice", b'From: "A\\\x01B"', 1)
    message = parse(data)
    assert isinstance(message, Request)
    assert '"A\\\x01B"' in (message.headers.get("From") or "")


def test_an_unescaped_control_character_in_a_quoted_string_is_not() -> None:
    with pytest.raises(SipError):
        parse(invite().replace(b"From: Alice", b'From: "A\x01B"', 1))


def test_an_unknown_method_whose_cseq_differs_is_a_501() -> None:
    data = invite().replace(b"INVITE sip:", b"FROB sip:", 1)
    with pytest.raises(SipError) as caught:
        parse(data)
    assert caught.value.status == 501
