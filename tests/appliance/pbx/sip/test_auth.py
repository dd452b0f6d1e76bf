"""Digest authentication parameters and response hashes (RFC 2617, RFC 7616)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.pbx.sip import SipError, digest_response, format_auth_params, parse_auth_params


def test_parse_challenge() -> None:
    value = ('Digest realm="x", nonce="y", algorithm=SHA-256, qop="auth,auth-int", '
             'opaque="a\\"b\\\\c", stale=FALSE')
    assert parse_auth_params(value) == ("Digest", {
        "realm": "x", "nonce": "y", "algorithm": "SHA-256", "qop": "auth,auth-int",
        "opaque": 'a"b\\c', "stale": "FALSE",
    })


def test_parse_lower_cases_names_and_tolerates_spacing() -> None:
    assert parse_auth_params('Digest  Realm = "x" ,NONCE="y",nc=00000001') == (
        "Digest", {"realm": "x", "nonce": "y", "nc": "00000001"})


def test_parse_scheme_only() -> None:
    assert parse_auth_params("Digest") == ("Digest", {})


@pytest.mark.parametrize("value", [
    "",
    'Digest realm="x',
    'Digest realm=',
    'Digest realm="x" nonce="y"',
    'Digest realm',
    'Digest ="x"',
    'Digest,realm="x"',
])
def test_parse_malformed(value: str) -> None:
    with pytest.raises(SipError) as info:
        parse_auth_params(value)
    assert info.value.status == 400


def test_format_challenge_quotes_qop() -> None:
    params = {"realm": "atlanta.com", "nonce": "84a4cc6f", "algorithm": "MD5",
              "qop": "auth,auth-int", "stale": "FALSE"}
    assert format_auth_params("Digest", params) == (
        'Digest realm="atlanta.com", nonce="84a4cc6f", algorithm=MD5, qop="auth,auth-int", '
        "stale=FALSE")


def test_format_response_leaves_qop_and_nc_bare() -> None:
    params = {"username": "Mufasa", "realm": 'a"b', "uri": "sip:bob@example.com", "qop": "auth",
              "nc": "00000001", "cnonce": "0a4f113b", "response": "6629fae4"}
    assert format_auth_params("Digest", params) == (
        'Digest username="Mufasa", realm="a\\"b", uri="sip:bob@example.com", qop=auth, '
        'nc=00000001, cnonce="0a4f113b", response="6629fae4"')


_name = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=8)
_value = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
                 max_size=12)


@given(st.dictionaries(_name, _value, max_size=6))
def test_format_parse_round_trip(params: dict[str, str]) -> None:
    params = {k: v for k, v in params.items() if k not in {"algorithm", "nc", "stale", "userhash",
                                                          "qop"}}
    assert parse_auth_params(format_auth_params("Digest", params)) == ("Digest", params)


@given(st.sampled_from(["algorithm", "nc", "stale", "qop"]),
       st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8))
def test_round_trip_bare_values(name: str, value: str) -> None:
    params = {name: value, "response": "abc"}
    assert parse_auth_params(format_auth_params("Digest", params))[1] == params


def test_rfc2617_md5_example() -> None:
    assert digest_response(
        "MD5", "Mufasa", "testrealm@host.com", "Circle Of Life", "GET", "/dir/index.html",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093", nc="00000001", cnonce="0a4f113b", qop="auth",
    ) == "6629fae49393a05397450978507c4ef1"


def test_rfc7616_sha256_example() -> None:
    assert digest_response(
        "SHA-256", "Mufasa", "http-auth@example.org", "Circle of Life", "GET", "/dir/index.html",
        "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop="auth",
    ) == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def test_rfc7616_md5_example() -> None:
    assert digest_response(
        "MD5", "Mufasa", "http-auth@example.org", "Circle of Life", "GET", "/dir/index.html",
        "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc="00000001",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop="auth",
    ) == "8ca523f5e9506fed4657c9700eebdbec"


def test_no_qop_rfc2069_form() -> None:
    # RFC 2069: response = H(H(A1):nonce:H(A2)); algorithm None means MD5.
    import hashlib

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    expected = md5(f"{md5('a:r:p')}:n:{md5('REGISTER:sip:example.com')}")
    assert digest_response(None, "a", "r", "p", "REGISTER", "sip:example.com", "n") == expected


def test_sess_variant() -> None:
    import hashlib

    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    ha1 = sha(f"{sha('a:r:p')}:n:c")
    expected = sha(f"{ha1}:n:00000001:c:auth:{sha('INVITE:sip:b@x')}")
    assert digest_response("sha-256-sess", "a", "r", "p", "INVITE", "sip:b@x", "n",
                           nc="00000001", cnonce="c", qop="auth") == expected


@pytest.mark.parametrize("kwargs", [
    {"algorithm": "SHA-1"},
    {"qop": "auth-int", "nc": "00000001", "cnonce": "c"},
    {"qop": "auth", "nc": "00000001"},
    {"qop": "auth", "cnonce": "c"},
])
def test_digest_rejects(kwargs: dict[str, str]) -> None:
    arguments = {"algorithm": "MD5", **kwargs}
    with pytest.raises(ValueError):
        digest_response(arguments.pop("algorithm"), "a", "r", "p", "GET", "/", "n", **arguments)
