"""The answers RFC 3261 8.2 asks of a user agent server, and where they go (18.2.2, RFC 3581),
through the transaction layer and the whole B2BUA."""

from __future__ import annotations

import ipaddress
from random import Random

from hypothesis import given
from hypothesis import strategies as st

from appliance.clock import Deadlines
from appliance.eventlog import EventLog
from appliance.pbx.b2bua import B2bua
from appliance.pbx.sip import Headers, Request, Response, SendTo, TransactionLayer, parse, parse_via
from tests.appliance.pbx.b2bua.harness import APPLIANCE, live_site

SOURCE = ("192.0.2.10", 5070)
SDP = (b"v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
       b"m=audio 40000 RTP/AVP 0\r\n")


def request(method: str = "OPTIONS", uri: str = "sip:100@10.0.0.1",
            via: str = "SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKrfc1",
            extra: tuple[tuple[str, str], ...] = (), body: bytes = b"") -> bytes:
    return bytes(Request(method, uri, Headers([
        ("Via", via), ("Max-Forwards", "70"), ("To", "<sip:100@10.0.0.1>"),
        ("From", "<sip:alice@example.com>;tag=a1"), ("Call-ID", "rfc-1"),
        ("CSeq", f"1 {method}"), ("Contact", "<sip:alice@192.0.2.10:5070>"), *extra,
    ]), body))


def answers(data: bytes, source: tuple[str, int] = SOURCE) -> list[tuple[Response, tuple]]:
    box = B2bua(live_site(agents=1), EventLog(), Random(1), b"secret", APPLIANCE)
    box.receive_datagram(data, source, 0.0)
    out = [(parse(datagram), destination) for datagram, destination in box.take_datagrams()]
    return [(m, d) for m, d in out if isinstance(m, Response) and m.status >= 200]


def only_answer(data: bytes) -> Response:
    [(response, destination)] = answers(data)
    assert destination == SOURCE
    return response


def test_options_with_a_tel_uri_is_416() -> None:
    assert only_answer(request(uri="tel:+15551234567")).status == 416


def test_a_sips_or_unknown_scheme_request_uri_is_416() -> None:
    assert only_answer(request(uri="sips:100@10.0.0.1")).status == 416
    assert only_answer(request("INVITE", uri="im:100@example.com", body=SDP,
                               extra=(("Content-Type", "application/sdp"),))).status == 416


def test_ipv6_without_brackets_is_refused_before_any_challenge() -> None:
    for method in ("REGISTER", "INVITE"):
        response = only_answer(request(method, uri="sip:2001:db8::10"))
        assert response.status == 400
        assert "WWW-Authenticate" not in response.headers


def test_an_unknown_body_type_is_415_with_what_we_accept() -> None:
    response = only_answer(request("INVITE", body=b"<x/>",
                                   extra=(("Content-Type", "application/unknownformat"),)))
    assert (response.status, response.headers.get("Accept")) == (415, "application/sdp")
    assert ";tag=" in (response.headers.get("To") or "")


def test_an_invite_whose_accept_leaves_out_sdp_is_406() -> None:
    response = only_answer(request("INVITE", body=SDP, extra=(
        ("Content-Type", "application/sdp"), ("Accept", "text/nobodyKnowsThis"))))
    assert response.status == 406


def test_require_with_options_we_lack_is_420_naming_them_all() -> None:
    response = only_answer(request(extra=(("Require", "100rel, foo"), ("Require", "timer"))))
    assert response.status == 420
    assert response.headers.get_all("Unsupported") == ["100rel", "foo"]


def test_an_unknown_method_is_501_and_a_known_one_we_do_not_take_405() -> None:
    assert only_answer(request("FROB")).status == 501
    response = only_answer(request("PUBLISH"))
    assert response.status == 405 and "INVITE" in response.headers.get_all("Allow")


def test_a_request_of_another_sip_version_is_505_sent_to_its_source() -> None:
    data = request().replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1)
    assert only_answer(data).status == 505


def test_an_escaped_control_character_in_a_display_name_is_served() -> None:
    data = request().replace(b"From: <", b'From: "Al\\\x07ice" <', 1)
    response = only_answer(data)
    assert response.status == 200
    assert '"Al\\\x07ice"' in (response.headers.get("From") or "")


def test_an_ack_is_never_answered_however_broken() -> None:
    for data in (request("ACK", uri="tel:123"),
                 request("ACK").replace(b"Call-ID: rfc-1\r\n", b""),
                 request("ACK").replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1)):
        box = B2bua(live_site(agents=1), EventLog(), Random(1), b"secret", APPLIANCE)
        box.receive_datagram(data, SOURCE, 0.0)
        assert box.take_datagrams() == []


def test_an_rfc_2543_request_and_its_retransmission_are_one_transaction() -> None:
    data = request(via="SIP/2.0/UDP 192.0.2.10:5070")
    box = B2bua(live_site(agents=1), EventLog(), Random(1), b"secret", APPLIANCE)
    box.receive_datagram(data, SOURCE, 0.0)
    first = box.take_datagrams()
    [(answer, _)] = first
    assert parse(answer).status == 200  # type: ignore[union-attr]
    box.receive_datagram(data, SOURCE, 0.1)
    assert box.take_datagrams() == first  # the same 200, from the transaction's memory


def test_the_layer_never_sends_toward_a_host_name() -> None:
    layer = TransactionLayer(Deadlines(), frozenset({"OPTIONS"}))
    options = parse(request())
    assert isinstance(options, Request)
    layer.send_request(options, ("gateway.example.com", 5060), 0.0)
    assert [e for e in layer.take_effects() if isinstance(e, SendTo)] == []


hosts = st.one_of(
    st.sampled_from(["attacker.example", "localhost", "192.0.2.10", "[2001:db8::1]",
                     "[::ffff:192.0.2.10]", "10.0.0.1", "x", "a-b.c"]),
    st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
)
sources = st.sampled_from([("192.0.2.10", 5070), ("198.51.100.1", 5060), ("2001:db8::9", 5060)])
params = st.lists(st.sampled_from(["rport", "rport=1", "received=evil.example",
                                   "received=192.0.2.250", "maddr=evil.example"]),
                  max_size=3, unique=True)


@given(hosts, st.none() | st.integers(1, 65535), params, sources,
       st.sampled_from(["OPTIONS", "INVITE", "REGISTER", "BYE", "FROB"]), st.booleans())
def test_whatever_the_via_says_answers_go_to_ip_literals_at_the_source(
        host: str, port: int | None, extra: list[str], source: tuple[str, int], method: str,
        malformed: bool) -> None:
    sent_by = host if port is None else f"{host}:{port}"
    via = ";".join([f"SIP/2.0/UDP {sent_by}", "branch=z9hG4bKprop", *extra])
    data = request(method, via=via)
    if malformed:
        data = data.replace(b"CSeq: 1 ", b"CSeq: one ", 1)
    box = B2bua(live_site(agents=1), EventLog(), Random(1), b"secret", APPLIANCE)
    box.receive_datagram(data, source, 0.0)
    for datagram, (address, answer_port) in box.take_datagrams():
        ipaddress.ip_address(address)
        top = next(line for line in datagram.split(b"\r\n") if line.startswith(b"Via:"))
        via_sent = parse_via(top[4:].decode().strip())
        if via_sent.host.strip("[]") != source[0]:
            assert (address, via_sent.received) == (source[0], source[0])
        expected_port = source[1] if "rport" in via_sent.params else (port or 5060)
        assert answer_port == expected_port
