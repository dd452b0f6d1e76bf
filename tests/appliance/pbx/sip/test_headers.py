from __future__ import annotations

import pytest

from appliance.pbx.sip import Headers, canonical_name
from appliance.pbx.sip.headers import split_values


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("i", "Call-ID"), ("m", "Contact"), ("e", "Content-Encoding"), ("l", "Content-Length"),
        ("c", "Content-Type"), ("f", "From"), ("s", "Subject"), ("k", "Supported"),
        ("t", "To"), ("V", "Via"), ("o", "Event"), ("r", "Refer-To"), ("b", "Referred-By"),
        ("x", "Session-Expires"), ("u", "Allow-Events"), ("call-id", "Call-ID"),
        ("CSEQ", "CSeq"), ("www-authenticate", "WWW-Authenticate"),
        ("max-forwards", "Max-Forwards"), ("x-my-header", "X-My-Header"),
    ],
)
def test_canonical_name(written: str, canonical: str) -> None:
    assert canonical_name(written) == canonical


def test_lookup_is_case_insensitive_and_accepts_compact_forms() -> None:
    headers = Headers([("call-id", "abc"), ("v", "SIP/2.0/UDP a"), ("VIA", "SIP/2.0/UDP b")])
    assert headers.get("CALL-ID") == "abc"
    assert headers.get("i") == "abc"
    assert headers.get_all("Via") == ["SIP/2.0/UDP a", "SIP/2.0/UDP b"]
    assert headers.get("Route") is None
    assert headers.get_all("Route") == []
    assert "via" in headers and "Route" not in headers


def test_multi_valued_headers_split_but_not_inside_quotes_or_brackets() -> None:
    headers = Headers([
        ("Contact", '"Smith, John" <sip:a@b>, <sip:c@d;x=1,2>'),
        ("Allow", "INVITE,ACK , BYE"),
        ("WWW-Authenticate", 'Digest realm="a", nonce="b"'),
        ("Date", "Sat, 13 Nov 2010 23:29:00 GMT"),
        ("Subject", "a, b"),
    ])
    assert headers.get_all("Contact") == ['"Smith, John" <sip:a@b>', "<sip:c@d;x=1,2>"]
    assert headers.get_all("Allow") == ["INVITE", "ACK", "BYE"]
    assert headers.get_all("WWW-Authenticate") == ['Digest realm="a", nonce="b"']
    assert headers.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
    assert headers.get_all("Subject") == ["a, b"]


def test_split_values_keeps_escaped_quotes_and_drops_empty_elements() -> None:
    assert split_values(r'"a \", b" <sip:x>, <sip:y>') == [r'"a \", b" <sip:x>', "<sip:y>"]
    assert split_values("a,, b ,") == ["a", "b"]
    assert split_values("") == [""]


def test_copy_on_write_methods_leave_the_original_alone() -> None:
    original = Headers([("Via", "SIP/2.0/UDP a"), ("To", "<sip:t@x>"), ("Via", "SIP/2.0/UDP b")])
    added = original.add("Route", "<sip:p>")
    top = original.prepend("v", "SIP/2.0/UDP new")
    replaced = original.replace("via", "SIP/2.0/UDP only")
    removed = original.remove("Via")
    assert list(original) == [
        ("Via", "SIP/2.0/UDP a"), ("To", "<sip:t@x>"), ("Via", "SIP/2.0/UDP b"),
    ]
    assert list(added)[-1] == ("Route", "<sip:p>")
    assert top.get_all("Via") == ["SIP/2.0/UDP new", "SIP/2.0/UDP a", "SIP/2.0/UDP b"]
    assert list(replaced) == [("Via", "SIP/2.0/UDP only"), ("To", "<sip:t@x>")]
    assert list(removed) == [("To", "<sip:t@x>")]
    assert original.replace("Subject", "hi").get("Subject") == "hi"
    assert original.names() == ["Via", "To"]


def test_equality_and_hash_follow_the_normalised_entries() -> None:
    one = Headers([("v", "SIP/2.0/UDP a, SIP/2.0/UDP b")])
    two = Headers([("Via", "SIP/2.0/UDP a"), ("VIA", " SIP/2.0/UDP b ")])
    assert one == two
    assert hash(one) == hash(two)
    assert len(one) == 2


@pytest.mark.parametrize(
    ("name", "value"), [("Bad Name", "x"), ("", "x"), ("To", "a\r\nb"), ("To:", "x")],
)
def test_invalid_construction_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        Headers([(name, value)])
