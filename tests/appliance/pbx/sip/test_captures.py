"""Wire captures of real SIP clients (tests/data/captures/*.sip): the parser takes them, the
canonical form parses back to the same message, and the facts a registrar and a B2BUA rely
on are where we expect them.

The files are datagrams exactly as the client sent them (CRLF line ends included);
tests/data/captures/capture_baresip.py records them again. The digest responses in them
derive from that script's test password, `PASSWORD` here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.pbx.sip.auth import parse_auth_params
from appliance.pbx.sip.digest import digest_from_ha1, ha1
from appliance.pbx.sip.message import Request, Response, parse, parse_cseq, parse_name_addr

CAPTURES = Path(__file__).resolve().parents[3] / "data" / "captures"
FILES = sorted(CAPTURES.glob("*.sip"))
REALM = "live.ccbox"
USER = "1001"
PASSWORD = "baresip-1001"

# What each capture is: the request's method, or the response's status and CSeq method.
START = {
    "baresip-1.0-register": "REGISTER",
    "baresip-1.0-register-auth": "REGISTER",
    "baresip-1.0-unregister": "REGISTER",
    "baresip-1.0-unregister-auth": "REGISTER",
    "baresip-1.0-subscribe": "SUBSCRIBE",
    "baresip-1.0-invite-180": (180, "INVITE"),
    "baresip-1.0-invite-200": (200, "INVITE"),
    "baresip-1.0-bye-200": (200, "BYE"),
}


def capture(name: str) -> Request | Response:
    return parse((CAPTURES / f"{name}.sip").read_bytes())


def test_the_captures_are_there_and_each_is_described():
    assert {path.stem for path in FILES} == set(START)


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_capture_parses_and_round_trips(path: Path):
    data = path.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b""), "line ends are CRLF, as sent"
    message = parse(data)
    assert parse(bytes(message)) == message
    if isinstance(message, Request):
        assert message.method == START[path.stem]
    else:
        _, method = parse_cseq(message.headers.get("CSeq") or "")
        assert (message.status, method) == START[path.stem]


@pytest.mark.parametrize("name", ["baresip-1.0-register", "baresip-1.0-unregister"])
def test_first_register_carries_no_credentials(name: str):
    assert "Authorization" not in capture(name).headers


@pytest.mark.parametrize("name", ["baresip-1.0-register-auth", "baresip-1.0-unregister-auth"])
def test_authorized_register_answers_an_md5_challenge_for_the_phone(name: str):
    request = capture(name)
    assert isinstance(request, Request)
    scheme, params = parse_auth_params(request.headers.get("Authorization") or "")
    assert scheme == "Digest"
    assert (params["username"], params["realm"], params["qop"]) == (USER, REALM, "auth")
    # baresip 1.0 sends no algorithm parameter: it means MD5 (RFC 7616 3.4).
    assert "algorithm" not in params
    assert params["uri"] == request.uri
    stored = ha1(USER, REALM, PASSWORD, "MD5")
    assert params["response"] == digest_from_ha1(
        None, stored, request.method, params["uri"], params["nonce"], params["nc"],
        params["cnonce"], params["qop"])


def test_the_retry_with_credentials_continues_the_registration():
    first, retry = capture("baresip-1.0-register"), capture("baresip-1.0-register-auth")
    assert retry.headers.get("Call-ID") == first.headers.get("Call-ID")
    assert parse_name_addr(retry.headers.get("From") or "").tag == parse_name_addr(
        first.headers.get("From") or "").tag
    (number, _), (next_number, _) = (parse_cseq(m.headers.get("CSeq") or "")
                                     for m in (first, retry))
    assert next_number == number + 1


@pytest.mark.parametrize(("name", "expires"), [
    ("baresip-1.0-register", "60"), ("baresip-1.0-register-auth", "60"),
    ("baresip-1.0-unregister", "0"), ("baresip-1.0-unregister-auth", "0"),
])
def test_register_asks_for_its_interval_in_the_contact(name: str, expires: str):
    request = capture(name)
    (contact,) = request.headers.get_all("Contact")
    assert parse_name_addr(contact).params["expires"] == expires
    assert "Expires" not in request.headers
    assert parse_name_addr(request.headers.get("To") or "").uri.startswith(f"sip:{USER}@")


def test_subscribe_asks_for_message_waiting():
    request = capture("baresip-1.0-subscribe")
    assert request.headers.get("Event") == "message-summary"
    assert request.headers.get("Accept") == "application/simple-message-summary"


def test_the_answer_carries_sdp_and_the_ringing_dialog():
    ringing, answer = capture("baresip-1.0-invite-180"), capture("baresip-1.0-invite-200")
    assert answer.headers.get("Content-Type") == "application/sdp"
    assert answer.body.startswith(b"v=0\r\n")
    assert b"m=audio " in answer.body
    to_tag = parse_name_addr(answer.headers.get("To") or "").tag
    assert to_tag is not None
    assert parse_name_addr(ringing.headers.get("To") or "").tag == to_tag
    assert answer.headers.get("Contact") == ringing.headers.get("Contact")


def test_bye_answer_belongs_to_the_call():
    answer, bye_ok = capture("baresip-1.0-invite-200"), capture("baresip-1.0-bye-200")
    assert bye_ok.headers.get("Call-ID") == answer.headers.get("Call-ID")
    for header in ("To", "From"):
        assert parse_name_addr(bye_ok.headers.get(header) or "").tag == parse_name_addr(
            answer.headers.get(header) or "").tag
    assert bye_ok.body == b""
