"""SIP URI parsing and serialization (RFC 3261 19.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.pbx.sip import SipError, SipUri, parse_uri


def test_full_uri_parts() -> None:
    uri = parse_uri("sips:al%20ice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=x&Priority=y")
    assert uri == SipUri(
        "sips", "al%20ice", "secret", "[2001:db8::1]", 5061,
        (("transport", "tcp"), ("lr", None)), (("Subject", "x"), ("Priority", "y")),
    )


def test_host_only() -> None:
    assert parse_uri("sip:example.com") == SipUri("sip", None, None, "example.com", None)


def test_user_with_semicolon_and_port() -> None:
    uri = parse_uri("sip:alice;day=tuesday@192.0.2.4:5060;maddr=239.255.255.1")
    assert (uri.user, uri.host, uri.port) == ("alice;day=tuesday", "192.0.2.4", 5060)
    assert uri.params == (("maddr", "239.255.255.1"),)


def test_tel_uri() -> None:
    uri = parse_uri("tel:+1-201-555-0123;phone-context=example.com")
    assert (uri.scheme, uri.user, uri.host) == ("tel", "+1-201-555-0123", "")
    assert uri.param("Phone-Context") == "example.com"
    assert str(uri) == "tel:+1-201-555-0123;phone-context=example.com"


def test_param_lookup() -> None:
    uri = parse_uri("sip:bob@example.com;Transport=udp;lr")
    assert uri.param("transport") == "udp"
    assert uri.param("LR") == ""
    assert uri.param("maddr") is None


def test_scheme_lower_cased() -> None:
    assert str(parse_uri("SIP:bob@example.com")) == "sip:bob@example.com"


@pytest.mark.parametrize("text", [
    "sip:alice@atlanta.com",
    "sip:alice:secretword@atlanta.com;transport=tcp",
    "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
    "sip:+1-212-555-1212:1234@gateway.com;user=phone",
    "sips:1212@gateway.com",
    "sip:alice@192.0.2.4",
    "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
    "sip:alice;day=tuesday@atlanta.com",
    "sip:[2001:db8::1]:5060;lr",
    "sip:bob@example.com?X=",
])
def test_round_trip_rfc_examples(text: str) -> None:
    assert str(parse_uri(text)) == text


@pytest.mark.parametrize("text, detail", [
    ("alice@example.com", "scheme"),
    ("", "scheme"),
    ("http://example.com", "scheme"),
    ("sip:", "empty host"),
    ("sip:alice@", "empty host"),
    ("sip:alice@;lr", "empty host"),
    ("sip:alice@example.com:", "port"),
    ("sip:alice@example.com:50a", "port"),
    ("sip:alice@example.com:65536", "port"),
    ("sip:alice@example.com:123456", "port"),
    ("sip:[2001:db8::1", "unterminated"),
    ("sip:[2001:db8::1]x", "IPv6"),
    ("sip:[]", "IPv6"),
    ("sip:@example.com", "user"),
    ("sip:a b@example.com", "character"),
    ("sip:bob@exa_mple!.com", "host"),
    ("sip:example.com;;lr", "parameter"),
    ("sip:example.com?Subject", "header"),
    ("tel:", "number"),
])
def test_malformed(text: str, detail: str) -> None:
    with pytest.raises(SipError) as info:
        parse_uri(text)
    assert info.value.status == 400
    assert info.value.reason.startswith("Bad Request: ")
    assert detail in info.value.reason


_chars = "abcdefghijklmnopqrstuvwxyz0123456789"
_word = st.text(_chars + "-_.", min_size=1, max_size=8)
_user = st.text(_chars + "-_.!~*'()&=+$,;?/", min_size=1, max_size=10) | st.builds(
    lambda a, b: f"{a}%20{b}", _word, _word)
_host = (
    st.builds(lambda labels: ".".join(labels), st.lists(st.text(_chars, min_size=1, max_size=6),
                                                        min_size=1, max_size=3))
    | st.builds(lambda a, b: f"[2001:db8::{a:x}:{b:x}]", st.integers(0, 0xFFFF),
                st.integers(0, 0xFFFF))
)
_param = st.tuples(_word, st.none() | _word)
_header = st.tuples(_word, st.text(_chars + "%", max_size=6))


@st.composite
def _uris(draw: st.DrawFn) -> SipUri:
    scheme = draw(st.sampled_from(["sip", "sips"]))
    user = draw(st.none() | _user)
    password = draw(st.none() | _word) if user is not None else None
    return SipUri(scheme, user, password, draw(_host), draw(st.none() | st.integers(0, 65535)),
                  tuple(draw(st.lists(_param, max_size=3))),
                  tuple(draw(st.lists(_header, max_size=3))))


@given(_uris())
def test_round_trip_property(uri: SipUri) -> None:
    assert parse_uri(str(uri)) == uri
    assert str(parse_uri(str(uri))) == str(uri)


@given(st.text(max_size=40))
def test_arbitrary_text_raises_only_sip_error(text: str) -> None:
    try:
        parse_uri(text)
    except SipError as error:
        assert error.status == 400
