"""RFC 4475 and RFC 5118 torture messages, each through the whole SIP side of the appliance.

Each message arrives as one datagram at the B2BUA (transaction layer and core together); the
test checks the final answer the RFC asks of a user agent server like ours, that nothing else
but a 100 Trying goes out, and that every datagram goes to an IP literal: the response goes
where RFC 3261 18.2.2 and RFC 3581 say: to the source address (received=) and the sent-by
port, or the source port where rport asks for it.

Where an RFC lets an element choose (reject or be liberal), the comment says which we chose.
None means no datagram at all: a response that matches no transaction is dropped.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from random import Random

import pytest

from appliance.eventlog import EventLog
from appliance.pbx.b2bua import B2bua
from appliance.pbx.sip import SipError, Via, parse, parse_via
from tests.appliance.pbx.b2bua.harness import APPLIANCE, live_site

DATA = Path(__file__).parents[3] / "data" / "sip"
SOURCE = ("192.0.2.99", 5060)

RFC4475: dict[str, int | None] = {
    # 3.1.1 valid messages: parsed and handled as usual. An INVITE or REGISTER from an
    # address that is not a trunk peer is challenged; OPTIONS is answered.
    "wsinv": 481,  # its To has a tag: a dialog we do not know (RFC 2543 branch: 17.2.3)
    "intmeth": 501,
    "esc01": 401,
    "escnull": 401,
    "esc02": 501,  # RE%47IST%45R is not REGISTER
    "lwsdisp": 200,
    "longreq": 401,
    "dblreq": 401,  # the octets after Content-Length are ignored
    "semiuri": 200,
    "transports": 200,
    "mpart01": 405,  # MESSAGE: well formed, not a method we take
    "unreason": None,
    "noreason": None,
    # 3.1.2 invalid messages
    "badinv01": 400,
    "clerr": 400,
    "ncl": 400,
    "scalar02": 400,
    "scalarlg": None,
    "quotbal": 400,
    "ltgtruri": 400,
    "lwsruri": 400,
    "lwsstart": 400,
    "trws": 400,
    "escruri": 400,  # we reject rather than ignore the escaped headers
    "baddate": 401,  # we never read Date, so we ignore it as the RFC allows
    "regbadct": 401,  # a REGISTER is authenticated before its Contact is read
    "badaspec": 200,  # liberal, as the RFC allows: the spaces around the URI are ignored
    "baddn": 400,
    "badvers": 505,
    "mismatch01": 400,
    "mismatch02": 501,
    "bigcode": None,
    # 3.2 transaction layer: a bare magic cookie falls back to RFC 2543 matching
    "badbranch": 200,
    # 3.3 application layer
    "insuf": 400,
    "unkscm": 416,
    "novelsc": 416,
    "unksm2": 401,  # a REGISTER is authenticated first
    "bext01": 420,
    "invut": 415,
    "regaut01": 401,  # challenged with a scheme we know
    "multi01": 400,
    "mcl01": 400,
    "bcast": None,
    "zeromf": 200,  # Max-Forwards 0 only stops forwarding; we are the endpoint
    "cparam01": 401,
    "cparam02": 401,
    "regescrt": 401,
    "sdp01": 406,  # its Accept leaves no room for our SDP
    # 3.4 backward compatibility
    "inv2543": 401,
}

RFC5118: dict[str, int | None] = {
    "ipv6-good": 401,
    "ipv6-bad": 400,  # refused before it is challenged
    "port-ambiguous": 401,
    "port-unambiguous": 401,
    "via-received-param-with-delim": 481,
    "via-received-param-no-delim": 200,
    "ipv6-in-sdp": 401,
    "mult-ip-in-header": 481,
    "mult-ip-in-sdp": 401,
    "ipv4-mapped-ipv6": 401,
    "ipv6-bug-abnf-3-colons": 200,  # RFC 5118 4.10: tolerated
    "ipv6-correct-abnf-2-colons": 200,
}

CASES = ([("rfc4475", name, status) for name, status in RFC4475.items()]
         + [("rfc5118", name, status) for name, status in RFC5118.items()])


def _message(folder: str, name: str) -> bytes:
    return (DATA / folder / f"{name}.dat").read_bytes()


def _appliance() -> B2bua:
    return B2bua(live_site(agents=1), EventLog(), Random(1), b"torture-secret", APPLIANCE)


def _status(response: bytes) -> int:
    version, status, _ = response.split(b" ", 2)
    assert version == b"SIP/2.0"
    return int(status)


def _top_via(response: bytes) -> Via | None:
    """The top Via of a response, None if it does not parse. Read line by line, since the
    answer to a malformed request echoes its headers and need not parse as a whole."""
    for line in response.split(b"\r\n")[1:]:
        name, _, value = line.decode().partition(":")
        if name.strip().lower() in ("via", "v"):
            try:
                return parse_via(value.strip().split(",")[0])
            except SipError:
                return None
    raise AssertionError("no Via in the response")


def _answer(data: bytes) -> list[tuple[bytes, tuple[str, int]]]:
    box = _appliance()
    box.receive_datagram(data, SOURCE, 0.0)
    return box.take_datagrams()


def test_the_fixtures_are_the_rfcs_sets_of_messages() -> None:
    assert sorted(path.stem for path in (DATA / "rfc4475").glob("*.dat")) == sorted(RFC4475)
    assert sorted(path.stem for path in (DATA / "rfc5118").glob("*.dat")) == sorted(RFC5118)
    assert (len(RFC4475), len(RFC5118)) == (49, 12)


@pytest.mark.parametrize(("folder", "name", "status"), CASES)
def test_torture_message_gets_the_answer_its_rfc_asks_for(folder: str, name: str,
                                                         status: int | None) -> None:
    statuses = [_status(data) for data, _ in _answer(_message(folder, name))]
    finals = [status for status in statuses if status >= 200]
    provisional = [status for status in statuses if status < 200]
    assert finals == ([] if status is None else [status])
    assert provisional in ([], [100])


@pytest.mark.parametrize(("folder", "name", "status"), CASES)
def test_torture_answers_go_to_the_source_and_to_literal_addresses_only(
        folder: str, name: str, status: int | None) -> None:
    for data, (host, port) in _answer(_message(folder, name)):
        ipaddress.ip_address(host)  # raises for a host name: no look-up is ever needed
        via = _top_via(data)
        if via is None:  # a Via beyond repair: the answer goes to the source
            assert (host, port) == SOURCE
            continue
        assert host == SOURCE[0]  # as received= says, whatever host the Via names
        assert port == (via.rport or via.port or 5060)
        if via.host.strip("[]") != SOURCE[0]:
            assert via.received == SOURCE[0]


def test_a_400_for_a_malformed_request_goes_to_its_source_with_received() -> None:
    data = (b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP attacker.example:5060;branch=z9hG4bKx1\r\n"
            b"Max-Forwards: 70\r\nTo: <sip:bob@example.com>\r\n"
            b"From: <sip:eve@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: one OPTIONS\r\n\r\n")
    [(answer, destination)] = _answer(data)
    assert _status(answer) == 400
    assert destination == SOURCE
    via = _top_via(answer)
    assert via is not None and via.received == SOURCE[0]


def test_rport_sends_the_answer_to_the_source_port() -> None:
    data = (b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
            b"Via: SIP/2.0/UDP phone.example:5060;rport;branch=z9hG4bKx2\r\n"
            b"Max-Forwards: 70\r\nTo: <sip:bob@example.com>\r\n"
            b"From: <sip:eve@example.com>;tag=1\r\nCall-ID: c2\r\nCSeq: 1 OPTIONS\r\n\r\n")
    box = _appliance()
    box.receive_datagram(data, ("192.0.2.7", 40123), 0.0)
    [(answer, destination)] = box.take_datagrams()
    assert destination == ("192.0.2.7", 40123)
    via = parse_via(parse(answer).headers.get("Via") or "")
    assert (via.received, via.rport) == ("192.0.2.7", 40123)
