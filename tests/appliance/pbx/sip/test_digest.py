"""Digest authentication, server side: challenges, verification, nonces and replays."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.pbx.sip import (
    Headers,
    Request,
    Response,
    digest_response,
    format_auth_params,
    parse_auth_params,
    parse_name_addr,
)
from appliance.pbx.sip.auth import HASHES
from appliance.pbx.sip.digest import (
    ALGORITHMS,
    SUPPORTED,
    AuthResult,
    DigestAuthenticator,
    digest_from_ha1,
    ha1,
)

REALM = "example.com"
PASSWORD = "Circle of Life"
SECRET = b"site secret"
URI = "sip:example.com"
BOTH = ("MD5", "SHA-256")  # offered in most tests, so that each can be answered


def credentials(user: str = "alice", password: str = PASSWORD) -> dict[str, dict[str, str]]:
    return {user: {name: ha1(user, REALM, password, name) for name in BOTH}}


def authenticator(creds: dict[str, dict[str, str]] | None = None, lifetime: float = 300.0,
                  **kwargs: object) -> DigestAuthenticator:
    kwargs.setdefault("algorithms", BOTH)
    return DigestAuthenticator(REALM, credentials() if creds is None else creds, SECRET,
                               random.Random(7), lifetime, **kwargs)  # type: ignore[arg-type]


def register(authorization: str | None = None, uri: str = URI, method: str = "REGISTER",
             header: str = "Authorization") -> Request:
    headers = Headers([
        ("Via", "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK74bf9"),
        ("Max-Forwards", "70"),
        ("To", "<sip:alice@example.com>"),
        ("From", "<sip:alice@example.com>;tag=456248"),
        ("Call-ID", "843817637684230@998sdasdh09"),
        ("CSeq", f"1826 {method}"),
    ])
    if authorization is not None:
        headers = headers.add(header, authorization)
    return Request(method, uri, headers)


def challenge_params(response: Response, index: int = 0,
                     header: str = "WWW-Authenticate") -> dict[str, str]:
    scheme, params = parse_auth_params(response.headers.get_all(header)[index])
    assert scheme == "Digest"
    return params


def answer(challenge: dict[str, str], user: str = "alice", password: str = PASSWORD, *,
           nc: int | None = 1, method: str = "REGISTER", uri: str = URI,
           algorithm: str | None = None, cnonce: str = "0a4f113b", **extra: str) -> str:
    """The Authorization value a client computes from the password (auth.digest_response)."""
    algorithm = algorithm or challenge["algorithm"]
    qop = None if nc is None else "auth"
    nc_text = None if nc is None else f"{nc:08x}"
    params = {"username": user, "realm": challenge["realm"], "nonce": challenge["nonce"],
              "uri": uri, "algorithm": algorithm, "opaque": challenge["opaque"]}
    params["response"] = digest_response(
        algorithm, user, challenge["realm"], password, method, uri, challenge["nonce"],
        nc=nc_text, cnonce=cnonce if qop else None, qop=qop)
    if qop is not None:
        params.update(qop=qop, nc=nc_text or "", cnonce=cnonce)
    params.update(extra)
    return format_auth_params("Digest", params)


def fresh_challenge(auth: DigestAuthenticator, now: float = 0.0, index: int = 0
                    ) -> dict[str, str]:
    return challenge_params(auth.challenge(register(), now), index)


def assert_status(result: AuthResult, status: int) -> None:
    assert result.user is None and result.response is not None
    assert result.response.status == status


# --- ha1 and the HA1-based response: the RFCs' worked examples --------------------------------

def test_ha1_rfc2617_example() -> None:
    assert ha1("Mufasa", "testrealm@host.com", "Circle Of Life", "MD5") == (
        "939e7578ed9e3c518a452acee763bce9")


def test_ha1_accepts_any_case_and_rejects_other_algorithms_without_the_password() -> None:
    assert ha1("a", "r", "p", "sha-256") == ha1("a", "r", "p", "SHA-256")
    with pytest.raises(ValueError) as info:
        ha1("a", "r", "hunter2", "SHA-1")
    assert "hunter2" not in str(info.value)


def test_digest_from_ha1_rfc2617_example() -> None:
    stored = ha1("Mufasa", "testrealm@host.com", "Circle Of Life", "MD5")
    assert digest_from_ha1("MD5", stored, "GET", "/dir/index.html",
                           "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b",
                           "auth") == "6629fae49393a05397450978507c4ef1"


@pytest.mark.parametrize(("algorithm", "expected"), [
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
])
def test_digest_from_ha1_rfc7616_examples(algorithm: str, expected: str) -> None:
    stored = ha1("Mufasa", "http-auth@example.org", "Circle of Life", algorithm)
    assert digest_from_ha1(algorithm, stored, "GET", "/dir/index.html",
                           "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
                           "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth") == expected


@given(st.sampled_from([None, *SUPPORTED]), st.text(max_size=10), st.text(max_size=10),
       st.booleans())
def test_digest_from_ha1_equals_the_client_computation(
    algorithm: str | None, user: str, password: str, with_qop: bool
) -> None:
    qop = ("00000001", "c", "auth") if with_qop else (None, None, None)
    stored = ha1(user, REALM, password, algorithm or "MD5")
    assert digest_from_ha1(algorithm, stored.upper(), "INVITE", "sip:b@x", "n", *qop) == (
        digest_response(algorithm, user, REALM, password, "INVITE", "sip:b@x", "n", *qop))


@pytest.mark.parametrize("kwargs", [
    {"algorithm": "SHA-1"},
    {"qop": "auth-int", "nc": "00000001", "cnonce": "c"},
    {"qop": "auth", "nc": "00000001"},
])
def test_digest_from_ha1_rejects(kwargs: dict[str, str]) -> None:
    arguments = {"algorithm": "MD5", **kwargs}
    with pytest.raises(ValueError):
        digest_from_ha1(arguments.pop("algorithm"), "00", "GET", "/", "n", **arguments)


# --- challenge ---------------------------------------------------------------------------------

def test_the_default_offer_is_md5_alone() -> None:
    # baresip 1.0 gives up on a 401 that carries any challenge but MD5; SIPp knows only MD5.
    auth = DigestAuthenticator(REALM, credentials(), SECRET, random.Random(7))
    assert offered(auth.challenge(register(), 0.0)) == ["MD5"] == list(ALGORITHMS)


def test_challenges_come_in_the_order_offered_with_one_nonce() -> None:
    response = authenticator().challenge(register(), 10.0)
    assert (response.status, response.reason) == (401, "Unauthorized")
    first, second = (challenge_params(response, i) for i in (0, 1))
    assert [first["algorithm"], second["algorithm"]] == ["MD5", "SHA-256"]
    for params in (first, second):
        assert params["realm"] == REALM and params["qop"] == "auth"
        assert "stale" not in params
    assert first["nonce"] == second["nonce"] and first["opaque"] == second["opaque"]
    assert 'qop="auth"' in response.headers.get_all("WWW-Authenticate")[0]


def test_challenge_echoes_the_request_and_adds_a_to_tag() -> None:
    request = register()
    response = authenticator().challenge(request, 0.0)
    for name in ("Via", "From", "Call-ID", "CSeq"):
        assert response.headers.get(name) == request.headers.get(name)
    to = parse_name_addr(response.headers.get("To") or "")
    assert to.uri == "sip:alice@example.com" and to.tag


def test_stale_challenge() -> None:
    response = authenticator().challenge(register(), 0.0, stale=True)
    assert all(challenge_params(response, i)["stale"] == "true" for i in (0, 1))


def test_nonces_differ() -> None:
    auth = authenticator()
    assert fresh_challenge(auth)["nonce"] != fresh_challenge(auth)["nonce"]


def test_proxy_mode_uses_407_and_proxy_headers() -> None:
    auth = authenticator(proxy=True)
    response = auth.challenge(register(method="INVITE"), 0.0)
    assert response.status == 407 and "WWW-Authenticate" not in response.headers
    challenge = challenge_params(response, 0, "Proxy-Authenticate")
    request = register(answer(challenge, method="INVITE"), method="INVITE",
                       header="Proxy-Authorization")
    assert auth.verify(request, 1.0) == AuthResult(user="alice", claimed="alice")


# --- verify: success ---------------------------------------------------------------------------

@pytest.mark.parametrize("index", [0, 1])
def test_verify_accepts_either_offered_algorithm(index: int) -> None:
    auth = authenticator()
    challenge = fresh_challenge(auth, 0.0, index)
    result = auth.verify(register(answer(challenge)), 1.0)
    assert result.ok and result.user == "alice" and result.response is None


def test_verify_without_algorithm_means_md5() -> None:
    auth = authenticator()
    challenge = fresh_challenge(auth, 0.0, 0)
    value = answer(challenge)
    scheme, params = parse_auth_params(value)
    del params["algorithm"]
    assert auth.verify(register(format_auth_params(scheme, params)), 1.0).user == "alice"


def test_verify_picks_the_credentials_for_our_realm() -> None:
    auth = authenticator()
    other = format_auth_params("Digest", {"username": "x", "realm": "elsewhere", "nonce": "n",
                                          "uri": URI, "response": "0"})
    request = register(other).headers.add("Authorization", answer(fresh_challenge(auth)))
    assert auth.verify(Request("REGISTER", URI, request), 1.0).user == "alice"


def test_verify_accepts_a_nonce_at_the_end_of_its_lifetime() -> None:
    auth = authenticator(lifetime=300.0)
    challenge = fresh_challenge(auth, 100.0)
    assert auth.verify(register(answer(challenge)), 400.0).user == "alice"


def test_a_response_without_the_opaque_we_sent_is_refused() -> None:
    auth = authenticator()
    scheme, params = parse_auth_params(answer(fresh_challenge(auth)))
    del params["opaque"]
    result = auth.verify(register(format_auth_params(scheme, params)), 1.0)
    assert_status(result, 400)
    assert result.failed and result.claimed == "alice"
    assert result.response is not None and "opaque" in result.response.reason


def test_credentials_are_read_at_every_verify() -> None:
    creds: dict[str, dict[str, str]] = {}
    auth = authenticator(creds)
    challenge = fresh_challenge(auth)
    assert_status(auth.verify(register(answer(challenge, nc=1)), 1.0), 403)
    creds.update(credentials())
    assert auth.verify(register(answer(challenge, nc=2)), 1.0).user == "alice"


def test_credentials_algorithm_names_are_case_insensitive() -> None:
    creds = {"alice": {"sha-256": ha1("alice", REALM, PASSWORD, "SHA-256").upper()}}
    auth = authenticator(creds)
    assert auth.verify(register(answer(fresh_challenge(auth, index=1))), 1.0).user == "alice"


# --- verify: refusals --------------------------------------------------------------------------

def test_no_credentials_gets_a_challenge() -> None:
    result = authenticator().verify(register(), 0.0)
    assert_status(result, 401)
    assert result.response is not None
    assert len(result.response.headers.get_all("WWW-Authenticate")) == 2


@pytest.mark.parametrize("value", [
    'Basic YWxpY2U6cGFzcw==',
    'Digest username="alice", realm="elsewhere", nonce="n", uri="sip:example.com", '
    'response="0"',
])
def test_credentials_not_for_us_get_a_challenge(value: str) -> None:
    assert_status(authenticator().verify(register(value), 0.0), 401)


def test_wrong_password_and_unknown_user_look_the_same() -> None:
    auth = authenticator()
    wrong = auth.verify(register(answer(fresh_challenge(auth), password="guess")), 1.0)
    unknown = auth.verify(register(answer(fresh_challenge(auth), user="mallory")), 1.0)
    assert wrong.response is not None and unknown.response is not None
    assert (wrong.response.status, wrong.response.reason) == (403, "Forbidden")
    assert (unknown.response.status, unknown.response.reason) == (403, "Forbidden")
    assert wrong.response.headers.names() == unknown.response.headers.names()
    assert wrong.response.body == unknown.response.body == b""


def test_user_without_ha1_for_the_algorithm_is_forbidden() -> None:
    creds = {"alice": {"MD5": ha1("alice", REALM, PASSWORD, "MD5")}}
    auth = authenticator(creds)
    assert_status(auth.verify(register(answer(fresh_challenge(auth, index=1))), 1.0), 403)
    assert auth.verify(register(answer(fresh_challenge(auth, index=0))), 1.0).ok


def test_algorithm_not_offered_gets_a_challenge() -> None:
    auth = authenticator()
    value = answer(fresh_challenge(auth), algorithm="SHA-512-256")
    assert_status(auth.verify(register(value), 1.0), 401)


def test_wrong_opaque_gets_a_challenge() -> None:
    auth = authenticator()
    value = answer(fresh_challenge(auth), opaque="forged")
    assert_status(auth.verify(register(value), 1.0), 401)


def test_qop_other_than_auth_gets_a_challenge() -> None:
    auth = authenticator()
    value = answer(fresh_challenge(auth), qop="auth-int")
    assert_status(auth.verify(register(value), 1.0), 401)


@pytest.mark.parametrize("missing", ["username", "uri", "nonce", "response", "nc", "cnonce"])
def test_missing_parameter_is_a_bad_request(missing: str) -> None:
    auth = authenticator()
    scheme, params = parse_auth_params(answer(fresh_challenge(auth)))
    del params[missing]
    assert_status(auth.verify(register(format_auth_params(scheme, params)), 1.0), 400)


@pytest.mark.parametrize("nc", ["1", "0000000g", "000000001"])
def test_malformed_nonce_count_is_a_bad_request(nc: str) -> None:
    auth = authenticator()
    scheme, params = parse_auth_params(answer(fresh_challenge(auth)))
    params["nc"] = nc
    assert_status(auth.verify(register(format_auth_params(scheme, params)), 1.0), 400)


def test_unparsable_credentials_are_a_bad_request() -> None:
    assert_status(authenticator().verify(register('Digest realm="x'), 0.0), 400)


def test_uri_must_be_the_request_uri() -> None:
    auth = authenticator()
    value = answer(fresh_challenge(auth), uri="sip:other.example.com")
    assert_status(auth.verify(register(value), 1.0), 400)


def test_response_for_another_method_is_forbidden() -> None:
    auth = authenticator()
    value = answer(fresh_challenge(auth), method="INVITE")
    assert_status(auth.verify(register(value), 1.0), 403)


@pytest.mark.parametrize("nonce", [
    "not-ours",
    "00" * 32,
    "AB" * 32,
])
def test_nonce_we_never_issued_gets_a_fresh_challenge(nonce: str) -> None:
    auth = authenticator()
    challenge = {**fresh_challenge(auth), "nonce": nonce}
    result = auth.verify(register(answer(challenge)), 1.0)
    assert_status(result, 401)
    assert result.response is not None and "stale" not in challenge_params(result.response)


def test_tampered_nonce_is_not_ours() -> None:
    auth = authenticator()
    challenge = fresh_challenge(auth, 0.0)
    nonce = challenge["nonce"]
    tampered = nonce[:-1] + ("0" if nonce[-1] != "0" else "1")
    result = auth.verify(register(answer({**challenge, "nonce": tampered})), 1.0)
    assert result.response is not None and "stale" not in challenge_params(result.response)


def test_nonce_from_another_secret_is_not_ours() -> None:
    other = DigestAuthenticator(REALM, credentials(), b"other", random.Random(7))
    result = authenticator().verify(register(answer(fresh_challenge(other))), 1.0)
    assert result.response is not None and "stale" not in challenge_params(result.response)


def test_expired_nonce_with_the_right_password_is_stale() -> None:
    auth = authenticator(lifetime=300.0)
    challenge = fresh_challenge(auth, 0.0)
    result = auth.verify(register(answer(challenge)), 300.5)
    assert_status(result, 401)
    assert result.response is not None
    fresh = challenge_params(result.response)
    assert fresh["stale"] == "true" and fresh["nonce"] != challenge["nonce"]
    assert auth.verify(register(answer(fresh)), 301.0).user == "alice"


def test_expired_nonce_with_the_wrong_password_is_forbidden() -> None:
    auth = authenticator(lifetime=300.0)
    challenge = fresh_challenge(auth, 0.0)
    assert_status(auth.verify(register(answer(challenge, password="guess")), 1000.0), 403)


def test_nonce_from_the_future_is_stale() -> None:
    auth = authenticator()
    challenge = fresh_challenge(auth, 50.0)
    result = auth.verify(register(answer(challenge)), 10.0)
    assert result.response is not None and challenge_params(result.response)["stale"] == "true"


# --- replays -----------------------------------------------------------------------------------

def test_nonce_count_must_increase() -> None:
    auth = authenticator()
    challenge = fresh_challenge(auth)
    assert auth.verify(register(answer(challenge, nc=1)), 1.0).ok
    replay = auth.verify(register(answer(challenge, nc=1)), 2.0)
    assert_status(replay, 401)
    assert replay.response is not None and challenge_params(replay.response)["stale"] == "true"
    assert auth.verify(register(answer(challenge, nc=3)), 3.0).ok
    assert not auth.verify(register(answer(challenge, nc=2)), 4.0).ok
    assert auth.verify(register(answer(challenge, nc=4)), 5.0).ok


def test_nonce_count_zero_is_a_bad_request() -> None:
    auth = authenticator()
    assert_status(auth.verify(register(answer(fresh_challenge(auth), nc=0)), 1.0), 400)


def test_a_failed_attempt_does_not_use_up_a_nonce_count() -> None:
    auth = authenticator()
    challenge = fresh_challenge(auth)
    assert_status(auth.verify(register(answer(challenge, password="x", nc=1)), 1.0), 403)
    assert auth.verify(register(answer(challenge, nc=1)), 1.0).ok


def test_a_response_without_qop_to_a_qop_challenge_is_refused() -> None:
    auth = authenticator()
    challenge = fresh_challenge(auth)
    result = auth.verify(register(answer(challenge, nc=None)), 1.0)
    assert_status(result, 400)
    assert result.failed and result.claimed == "alice"
    assert result.response is not None and "qop" in result.response.reason
    # The nonce is not used up: the same challenge answered properly still verifies.
    assert auth.verify(register(answer(challenge, nc=1)), 2.0).ok


def test_used_nonces_are_forgotten_once_expired() -> None:
    auth = authenticator(lifetime=10.0)
    for now in range(5):
        assert auth.verify(register(answer(fresh_challenge(auth, now))), now).ok
    assert len(auth._seen) == 5
    auth.verify(register(), 13.5)
    assert len(auth._seen) == 1


def test_a_full_nonce_table_makes_the_evicted_nonces_stale() -> None:
    auth = authenticator(max_nonces=2)
    challenges = [fresh_challenge(auth, float(now)) for now in range(3)]
    for nc_and_challenge in challenges:
        assert auth.verify(register(answer(nc_and_challenge, nc=1)), 5.0).ok
    assert len(auth._seen) == 2
    evicted = auth.verify(register(answer(challenges[0], nc=2)), 6.0)
    assert evicted.response is not None and challenge_params(evicted.response)["stale"] == "true"
    assert auth.verify(register(answer(challenges[2], nc=2)), 6.0).ok


@given(st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=25),
       st.sampled_from([0, 1]))
def test_each_nonce_count_verifies_once_and_replays_are_refused(
    counts: list[int], index: int
) -> None:
    auth = authenticator()
    challenge = fresh_challenge(auth, 0.0, index)
    highest = 0
    for step, nc in enumerate(counts):
        result = auth.verify(register(answer(challenge, nc=nc)), 1.0 + step)
        assert result.ok == (nc > highest)
        if not result.ok:
            assert result.response is not None and result.response.status == 401
            assert challenge_params(result.response)["stale"] == "true"
        highest = max(highest, nc)


# --- secrets stay secret -----------------------------------------------------------------------

def test_no_response_carries_a_password_or_ha1() -> None:
    creds = credentials()
    secrets = [PASSWORD, *creds["alice"].values()]
    auth = authenticator(creds, lifetime=10.0)
    challenge = fresh_challenge(auth)
    requests = [
        (register(), 0.0),
        (register(answer(challenge, password="guess")), 1.0),
        (register(answer(challenge, user="mallory")), 1.0),
        (register(answer(challenge, uri="sip:x")), 1.0),
        (register(answer(challenge)), 100.0),
        (register(answer(challenge, nc=1)), 1.0),  # accepted: no response
        (register(answer(challenge, nc=1)), 1.0),
        (register('Digest realm="x'), 1.0),
    ]
    results = [auth.verify(request, now) for request, now in requests]
    assert [result.ok for result in results] == [False] * 5 + [True] + [False] * 2
    responses = [result.response for result in results if result.response is not None]
    responses.append(auth.challenge(register(), 0.0, stale=True))
    for response in responses:
        wire = bytes(response).decode()
        assert not any(secret.lower() in wire.lower() for secret in secrets)
    assert not any(secret in repr(auth) for secret in [*secrets, SECRET.decode()])


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        DigestAuthenticator(REALM, credentials(), b"", random.Random(1))


def test_only_the_configured_algorithms_are_offered_and_accepted() -> None:
    import random as _random

    from appliance.pbx.sip.auth import parse_auth_params

    authenticator = DigestAuthenticator("r", {"u": {"MD5": "0" * 32}}, b"s",
                                        _random.Random(1), algorithms=["MD5"])
    request = Request("REGISTER", "sip:r", Headers([
        ("Via", "SIP/2.0/UDP h;branch=z9hG4bK1"), ("Max-Forwards", "70"),
        ("From", "<sip:u@r>;tag=1"), ("To", "<sip:u@r>"), ("Call-ID", "c"),
        ("CSeq", "1 REGISTER")]))
    challenge = authenticator.challenge(request, 0.0)
    offered = [parse_auth_params(v)[1]["algorithm"]
               for v in challenge.headers.get_all("WWW-Authenticate")]
    assert offered == ["MD5"]
    with pytest.raises(ValueError):
        DigestAuthenticator("r", {}, b"s", _random.Random(1), algorithms=["SHA-1"])


# --- what is offered to whom -------------------------------------------------------------------

def offered(response: Response) -> list[str]:
    return [parse_auth_params(value)[1]["algorithm"]
            for value in response.headers.get_all("WWW-Authenticate")]


def test_a_user_may_be_offered_sha256_first_or_alone() -> None:
    creds = {**credentials("alice"), **credentials("bob")}
    auth = authenticator(creds, offers={"bob": ["SHA-256"]})
    assert offered(auth.challenge(register(), 0.0)) == ["MD5", "SHA-256"]
    bobs = Request("REGISTER", URI, register().headers.replace(
        "From", "<sip:bob@example.com>;tag=1").replace("To", "<sip:bob@example.com>"))
    response = auth.challenge(bobs, 0.0)
    assert offered(response) == ["SHA-256"]
    challenge = challenge_params(response)
    ok = auth.verify(Request("REGISTER", URI, bobs.headers.add(
        "Authorization", answer(challenge, user="bob"))), 1.0)
    assert ok.user == "bob"
    # An MD5 answer for a user offered SHA-256 only is not what we asked: a new challenge.
    md5 = answer({**challenge, "algorithm": "MD5"}, user="bob", nc=2)
    downgraded = auth.verify(Request("REGISTER", URI, bobs.headers.add("Authorization", md5)),
                             2.0)
    assert_status(downgraded, 401)
    assert downgraded.response is not None and offered(downgraded.response) == ["SHA-256"]


@pytest.mark.parametrize("algorithm", sorted(HASHES))
def test_every_algorithm_the_client_knows_can_be_offered_and_verified(algorithm: str) -> None:
    creds = {"alice": {algorithm: ha1("alice", REALM, PASSWORD, algorithm)}}
    auth = authenticator(creds, algorithms=[algorithm])
    challenge = fresh_challenge(auth)
    assert challenge["algorithm"] == algorithm
    assert auth.verify(register(answer(challenge)), 1.0).user == "alice"


def test_ha1_with_sha512_256_is_sha512_truncated_to_256_bits() -> None:
    # FIPS 180-4's SHA-512/256, not the first half of a SHA-512 digest (RFC 7616 3.2).
    expected = hashlib.new("sha512_256", f"alice:{REALM}:{PASSWORD}".encode()).hexdigest()
    assert ha1("alice", REALM, PASSWORD, "sha-512-256") == expected
    assert expected != hashlib.sha512(f"alice:{REALM}:{PASSWORD}".encode()).hexdigest()[:64]


def test_failed_tells_wrong_credentials_from_a_challenge() -> None:
    auth = authenticator()
    assert not auth.verify(register(), 0.0).failed
    wrong = auth.verify(register(answer(fresh_challenge(auth), password="guess")), 1.0)
    assert wrong.failed and wrong.claimed == "alice"
