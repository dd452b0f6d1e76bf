"""The client side of digest authentication: a challenged request sent again with credentials
that the server side (`digest.DigestAuthenticator`) accepts."""

from __future__ import annotations

from random import Random

import pytest

from appliance.pbx.sip.credentials import authorized, credentials_sent
from appliance.pbx.sip.digest import DigestAuthenticator, ha1
from appliance.pbx.sip.headers import Headers
from appliance.pbx.sip.message import Request, Response

REALM = "carrier.example"
INVITE = Request("INVITE", "sip:0301234567@192.0.2.9:5060", Headers([
    ("Via", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKold"), ("Max-Forwards", "70"),
    ("From", "<sip:a1@10.0.0.1>;tag=1"), ("To", "<sip:0301234567@192.0.2.9>"),
    ("Call-ID", "c1@10.0.0.1"), ("CSeq", "1 INVITE")]), b"v=0\r\n")


def server(proxy: bool, algorithms: tuple[str, ...] = ("MD5",)) -> DigestAuthenticator:
    stored = {"ccbox": {name: ha1("ccbox", REALM, "pw", name) for name in algorithms}}
    return DigestAuthenticator(REALM, stored, b"k", Random(1), proxy=proxy,
                               algorithms=algorithms)


@pytest.mark.parametrize("proxy", [False, True])
@pytest.mark.parametrize("algorithms", [("MD5",), ("SHA-256", "MD5")])
def test_the_request_again_carries_credentials_the_server_accepts(proxy, algorithms) -> None:
    gateway = server(proxy, algorithms)
    again = authorized(INVITE, gateway.challenge(INVITE, 0.0), "ccbox", "pw", Random(2))
    assert again is not None
    assert gateway.verify(again, 1.0).user == "ccbox"
    assert again.headers.get("CSeq") == "2 INVITE"
    assert again.headers.get("Via") != INVITE.headers.get("Via")  # a new transaction
    assert again.headers.get("Call-ID") == INVITE.headers.get("Call-ID")
    assert again.body == INVITE.body
    assert credentials_sent(again) and not credentials_sent(INVITE)
    assert f"algorithm={algorithms[0]}" in (again.headers.get(gateway.credentials_header) or "")


def test_a_wrong_password_is_refused_by_the_server() -> None:
    gateway = server(False)
    again = authorized(INVITE, gateway.challenge(INVITE, 0.0), "ccbox", "no", Random(2))
    assert again is not None and gateway.verify(again, 1.0).failed


@pytest.mark.parametrize("challenge", [
    Response(403, "Forbidden", Headers()),
    Response(401, "Unauthorized", Headers([("WWW-Authenticate", 'Basic realm="x"')])),
    Response(401, "Unauthorized", Headers([("WWW-Authenticate",
                                            'Digest realm="x", nonce="n", qop="auth-int"')])),
    Response(401, "Unauthorized", Headers([("WWW-Authenticate",
                                            'Digest realm="x", nonce="n", algorithm=SHA-1')])),
    Response(401, "Unauthorized", Headers([("WWW-Authenticate", 'Digest realm="x"')])),
    Response(407, "Proxy Authentication Required",
             Headers([("WWW-Authenticate", 'Digest realm="x", nonce="n"')])),
])
def test_a_challenge_we_cannot_answer_gives_none(challenge) -> None:
    assert authorized(INVITE, challenge, "ccbox", "pw", Random(2)) is None
