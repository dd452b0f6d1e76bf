"""The server side of HTTP Digest authentication for SIP (RFC 3261 22, RFC 7616, RFC 8760).

A site stores `ha1()` values, never passwords. `DigestAuthenticator.verify()` reads a request's
Authorization header and says who sent it, or which response to send instead; `challenge()`
writes the 401 with one challenge per algorithm offered to the phone the request comes from,
preferred first (RFC 8760). The default offer is MD5 alone: baresip 1.0 (libre 1.1) gives up
on a 401 that carries any challenge other than MD5, wherever it stands, and SIPp 3.6 knows
only MD5. Phones that know SHA-256 are offered it per user (`offers`).

A response must answer what we offered: qop "auth" and our opaque are required, an algorithm
not offered to that user gets a fresh challenge.

Nonces are stateless: each one carries the time it was issued, 64 random bits and an HMAC over
both, so the server recognises its own nonces and knows their age without remembering them. It
remembers only the nonces clients have used, with the highest nonce count (nc) seen, to refuse
replays; that table is bounded and pruned by age.
"""

from __future__ import annotations

import enum
import hashlib
import heapq
import hmac
import random
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from appliance.pbx.sip.auth import (
    HASHES,
    algorithm_name,
    format_auth_params,
    hex_digest,
    parse_auth_params,
    response_from_ha1,
)
from appliance.pbx.sip.dialog import new_tag
from appliance.pbx.sip.message import Request, Response, SipError, parse_name_addr
from appliance.pbx.sip.transaction import make_response
from appliance.pbx.sip.uri import parse_uri

ALGORITHMS = ("MD5",)
"""The default offer: the one challenge every phone answers."""

SUPPORTED = tuple(HASHES)
"""Every algorithm a challenge may offer (and `ha1()` computes)."""

Credentials = Mapping[str, Mapping[str, str]]
"""user -> {algorithm name ("MD5", "SHA-256"): HA1 in hex}; what a site stores at rest."""

Offers = Mapping[str, Sequence[str]]
"""user -> the algorithms offered to that user, preferred first, where not the default."""

_NONCE_BODY = struct.Struct(">dQ")  # issue time, random bits
_MAC_BYTES = 16
_NONCE = re.compile(f"[0-9a-f]{{{2 * (_NONCE_BODY.size + _MAC_BYTES)}}}")
_NC = re.compile(r"[0-9A-Fa-f]{8}")
_REQUIRED = ("username", "uri", "nonce", "response")


def ha1(user: str, realm: str, password: str, algorithm: str) -> str:
    """H(user:realm:password) in lower-case hex, for "MD5", "SHA-256" or "SHA-512-256" (any
    case).

    This is what a site configuration stores instead of the password. Raises ValueError for
    another algorithm; the message names the algorithm only.
    """
    return hex_digest(algorithm_name(algorithm), f"{user}:{realm}:{password}")


def digest_from_ha1(
    algorithm: str | None,
    ha1_hex: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str | None = None,
    cnonce: str | None = None,
    qop: str | None = None,
) -> str:
    """The "response" value a client computes, from the stored HA1 instead of the password.

    H(HA1:nonce:nc:cnonce:qop:HA2) with qop "auth", H(HA1:nonce:HA2) without qop (RFC 2069),
    where HA2 = H(method:uri). Equals `auth.digest_response()` for the same password. Raises
    ValueError for an unsupported algorithm or qop, or a qop without nc and cnonce.
    """
    return response_from_ha1(algorithm_name(algorithm), ha1_hex.lower(), method, uri, nonce, nc,
                             cnonce, qop)


def make_tagged_response(
    request: Request, status: int, reason: str, rng: random.Random
) -> Response:
    """`transaction.make_response()` plus a random To tag when the request's To has none.

    RFC 3261 8.2.6.2: a UAS adds a To tag to every response but a 100 (Trying).
    """
    to = request.headers.get("To")
    # Draw a tag only when one is added, so the random stream is spent as before.
    needs_tag = to is not None and status != 100 and parse_name_addr(to).tag is None
    return make_response(request, status, reason, to_tag=new_tag(rng) if needs_tag else None)


@dataclass(frozen=True)
class AuthResult:
    """What `verify()` found: the authenticated `user`, or the `response` to send instead.

    Exactly one of the two is set. `claimed` is the username the credentials gave, when the
    request carried readable credentials for our realm.
    """

    user: str | None = None
    response: Response | None = None
    claimed: str | None = None

    @property
    def failed(self) -> bool:
        """True for credentials that were wrong or malformed (403 or 400), as opposed to
        absent or stale (a challenge): what someone guessing passwords gets."""
        return self.response is not None and self.response.status in (400, 403)

    @property
    def ok(self) -> bool:
        """True when the request is authenticated."""
        return self.user is not None


class _Outcome(enum.Enum):
    CHALLENGE = "challenge"  # no credentials for us, or not an answer to what we offered
    STALE = "stale"  # right password, but the nonce is too old or already used
    FORBIDDEN = "forbidden"  # wrong password or unknown user: the two look the same
    BAD_REQUEST = "bad request"  # credentials we cannot even read, or not as we asked


class _Refused(Exception):
    def __init__(self, outcome: _Outcome, detail: str = "") -> None:
        super().__init__(outcome.value)
        self.outcome = outcome
        self.detail = detail


class DigestAuthenticator:
    """Challenges requests and verifies their credentials for one realm.

    `credentials` is read on every `verify()`, so changes to the mapping apply at once. With
    `proxy=True` it speaks Proxy-Authenticate/Proxy-Authorization and 407 instead of
    WWW-Authenticate/Authorization and 401. A nonce is good for `nonce_lifetime` seconds; at
    most `max_nonces` used nonces are remembered, and when that bound forces one out, every
    nonce issued no later than it becomes stale, so a replay is never accepted.

    `algorithms` is the default offer, preferred first; `offers` overrides it per user. The
    user is the one a request's From names, the only hint a request without credentials
    gives; an unknown user gets the default offer.
    """

    def __init__(
        self,
        realm: str,
        credentials: Credentials,
        secret: bytes,
        rng: random.Random,
        nonce_lifetime: float = 300.0,
        *,
        max_nonces: int = 10_000,
        proxy: bool = False,
        algorithms: Sequence[str] = ALGORITHMS,
        offers: Offers | None = None,
    ) -> None:
        if not secret:
            raise ValueError("the nonce secret must not be empty")
        if max_nonces < 1:
            raise ValueError("max_nonces must be at least 1")
        for offer in (algorithms, *(offers or {}).values()):
            if not offer or any(name not in HASHES for name in offer):
                raise ValueError(f"algorithms must be some of {', '.join(SUPPORTED)}")
        # Offered in this order; RFC 8760 clients take the first they support.
        self.algorithms = tuple(algorithms)
        self._offers = {user: tuple(offer) for user, offer in (offers or {}).items()}
        self.realm = realm
        self.rng = rng
        self.nonce_lifetime = nonce_lifetime
        self.max_nonces = max_nonces
        self.proxy = proxy
        self._credentials = credentials
        self._secret = secret
        self._opaque = self._mac(b"opaque", b"").hex()
        self._decoys = {name: hex_digest(name, self._mac(b"decoy", b"").hex()) for name in HASHES}
        self._seen: dict[str, int] = {}  # nonce -> highest nc accepted
        self._by_issue: list[tuple[float, str]] = []  # heap of (issued at, nonce) in _seen
        self._evicted_through = float("-inf")

    def __repr__(self) -> str:
        return f"DigestAuthenticator(realm={self.realm!r}, proxy={self.proxy})"

    @property
    def challenge_header(self) -> str:
        """The header a challenge goes in: WWW-Authenticate, or Proxy-Authenticate."""
        return "Proxy-Authenticate" if self.proxy else "WWW-Authenticate"

    @property
    def credentials_header(self) -> str:
        """The header credentials are read from: Authorization, or Proxy-Authorization."""
        return "Proxy-Authorization" if self.proxy else "Authorization"

    def offered_to(self, user: str | None) -> tuple[str, ...]:
        """The algorithms offered to `user`, preferred first."""
        return self._offers.get(user or "", self.algorithms)

    def challenge(self, request: Request, now: float, stale: bool = False) -> Response:
        """A 401 (407 for a proxy) with one challenge per algorithm offered to the request's
        From user, preferred first.

        The challenges share one fresh nonce and carry qop="auth" and the opaque value;
        `stale` adds stale=true, telling the client to retry without asking its user again.
        """
        status, reason = (407, "Proxy Authentication Required") if self.proxy else (
            401, "Unauthorized")
        response = make_tagged_response(request, status, reason, self.rng)
        nonce = self._new_nonce(now)
        headers = response.headers
        for algorithm in self.offered_to(_from_user(request)):
            params = {"realm": self.realm, "qop": "auth", "algorithm": algorithm,
                      "nonce": nonce, "opaque": self._opaque}
            if stale:
                params["stale"] = "true"
            headers = headers.add(self.challenge_header, format_auth_params("Digest", params))
        return Response(status, reason, headers)

    def claimed_user(self, request: Request) -> str | None:
        """The username of `request`'s credentials for our realm, if it has readable ones."""
        try:
            return self._our_credentials(request).get("username")
        except _Refused:
            return None

    def has_credentials(self, request: Request) -> bool:
        """Whether `request` carries Digest credentials for our realm (readable or not)."""
        try:
            self._our_credentials(request)
        except _Refused as refused:
            return refused.outcome is not _Outcome.CHALLENGE
        return True

    def verify(self, request: Request, now: float) -> AuthResult:
        """Who sent `request`, or the response to send: 401, 401 stale=true, 403 or 400.

        403 answers both an unknown user and a wrong password. A nonce count must grow with
        every use of a nonce; a nonce used without qop is good once. Replays and expired
        nonces get a fresh challenge with stale=true.
        """
        self._forget_expired(now)
        try:
            params = self._our_credentials(request)
        except _Refused as refused:
            return AuthResult(response=self._refusal(refused, request, now))
        try:
            return AuthResult(user=self._verified_user(params, request, now),
                              claimed=params["username"])
        except _Refused as refused:
            return AuthResult(response=self._refusal(refused, request, now),
                              claimed=params["username"])

    def _refusal(self, refused: _Refused, request: Request, now: float) -> Response:
        if refused.outcome is _Outcome.FORBIDDEN:
            return make_tagged_response(request, 403, "Forbidden", self.rng)
        if refused.outcome is _Outcome.BAD_REQUEST:
            reason = f"Bad Request: {refused.detail}" if refused.detail else "Bad Request"
            return make_tagged_response(request, 400, reason, self.rng)
        return self.challenge(request, now, stale=refused.outcome is _Outcome.STALE)

    def _verified_user(self, params: dict[str, str], request: Request, now: float) -> str:
        algorithm = _offered_algorithm(params)
        if algorithm not in self.offered_to(params["username"]):
            raise _Refused(_Outcome.CHALLENGE)
        if "opaque" not in params:
            raise _Refused(_Outcome.BAD_REQUEST, "digest response without our opaque")
        if params["opaque"] != self._opaque:
            raise _Refused(_Outcome.CHALLENGE)
        nc = _nonce_count(params)
        if params["uri"] != request.uri:
            raise _Refused(_Outcome.BAD_REQUEST)
        issued = self._issued_at(params["nonce"])
        if issued is None:
            raise _Refused(_Outcome.CHALLENGE)
        if not self._digest_matches(params, algorithm, request.method):
            raise _Refused(_Outcome.FORBIDDEN)
        if not self._fresh(issued, now) or not self._first_use(params["nonce"], issued, nc):
            raise _Refused(_Outcome.STALE)
        return params["username"]

    def _our_credentials(self, request: Request) -> dict[str, str]:
        """The parameters of the Digest credentials for our realm (RFC 3261 22.4)."""
        for value in request.headers.get_all(self.credentials_header):
            if _scheme(value) != "digest":
                continue  # another scheme, e.g. Basic with a token68 we need not parse
            try:
                _, params = parse_auth_params(value)
            except SipError:
                raise _Refused(_Outcome.BAD_REQUEST) from None
            if params.get("realm") == self.realm:
                if any(name not in params for name in _REQUIRED):
                    raise _Refused(_Outcome.BAD_REQUEST)
                return params
        raise _Refused(_Outcome.CHALLENGE)

    def _digest_matches(self, params: dict[str, str], algorithm: str, method: str) -> bool:
        stored = self._stored_ha1(params["username"], algorithm)
        # An unknown user costs the same work as a known one and fails the same way.
        expected = digest_from_ha1(
            algorithm, stored or self._decoys[algorithm], method, params["uri"],
            params["nonce"], params.get("nc"), params.get("cnonce"), params.get("qop"))
        given = params["response"].lower().encode("utf-8")
        return hmac.compare_digest(expected.encode("ascii"), given) and bool(stored)

    def _stored_ha1(self, user: str, algorithm: str) -> str | None:
        hashes = self._credentials.get(user)
        if hashes is None:
            return None
        return next((value for name, value in hashes.items() if name.upper() == algorithm), None)

    def _mac(self, purpose: bytes, data: bytes) -> bytes:
        message = purpose + b"\0" + self.realm.encode("utf-8") + b"\0" + data
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:_MAC_BYTES]

    def _new_nonce(self, now: float) -> str:
        body = _NONCE_BODY.pack(now, self.rng.getrandbits(64))
        return (body + self._mac(b"nonce", body)).hex()

    def _issued_at(self, nonce: str) -> float | None:
        """When we issued `nonce`, or None when it is not one of ours."""
        if not _NONCE.fullmatch(nonce):
            return None
        raw = bytes.fromhex(nonce)
        body, mac = raw[:_NONCE_BODY.size], raw[_NONCE_BODY.size:]
        if not hmac.compare_digest(mac, self._mac(b"nonce", body)):
            return None
        issued, _ = _NONCE_BODY.unpack(body)
        return float(issued)

    def _fresh(self, issued: float, now: float) -> bool:
        return issued > self._evicted_through and 0.0 <= now - issued <= self.nonce_lifetime

    def _first_use(self, nonce: str, issued: float, nc: int) -> bool:
        """Record this use of `nonce`; False when it replays an earlier one."""
        highest = self._seen.get(nonce)
        if highest is not None and nc <= highest:
            return False
        if highest is None:
            heapq.heappush(self._by_issue, (issued, nonce))
        self._seen[nonce] = nc
        while len(self._seen) > self.max_nonces:
            oldest, evicted = heapq.heappop(self._by_issue)
            del self._seen[evicted]
            self._evicted_through = max(self._evicted_through, oldest)
        return True

    def _forget_expired(self, now: float) -> None:
        """Drop used nonces too old to be accepted anyway."""
        while self._by_issue and now - self._by_issue[0][0] > self.nonce_lifetime:
            _, nonce = heapq.heappop(self._by_issue)
            del self._seen[nonce]


def _offered_algorithm(params: dict[str, str]) -> str:
    try:
        algorithm = algorithm_name(params.get("algorithm"))
    except ValueError:
        raise _Refused(_Outcome.CHALLENGE) from None
    return algorithm


def _nonce_count(params: dict[str, str]) -> int:
    """The nonce count as a number. Every challenge offers qop "auth", so a response without
    qop (RFC 2069 style: no nonce count, no replay protection) is refused (RFC 7616 3.4)."""
    qop = params.get("qop")
    if qop is None:
        raise _Refused(_Outcome.BAD_REQUEST, "digest response without qop")
    if qop != "auth":
        raise _Refused(_Outcome.CHALLENGE)
    nc = params.get("nc", "")
    if not _NC.fullmatch(nc) or int(nc, 16) == 0 or "cnonce" not in params:
        raise _Refused(_Outcome.BAD_REQUEST)
    return int(nc, 16)


def _from_user(request: Request) -> str | None:
    try:
        return parse_uri(parse_name_addr(request.headers.get("From") or "").uri).user
    except SipError:
        return None


def _scheme(value: str) -> str:
    words = value.split(maxsplit=1)
    return words[0].lower() if words else ""
