"""The client side of digest authentication (RFC 3261 22.2, 22.3; RFC 8760): a request the
far end challenged (401 or 407) sent again with credentials.

`authorized()` is what a UAC does with a challenge: the same request, next CSeq, a new Via
branch, and an Authorization (for a 401) or Proxy-Authorization (for a 407) answering the
first challenge whose algorithm we know. Computing the response is `auth.digest_response()`'s.
"""

from __future__ import annotations

import random

from appliance.pbx.sip.auth import HASHES, digest_response, format_auth_params, parse_auth_params
from appliance.pbx.sip.dialog import new_branch
from appliance.pbx.sip.message import Request, Response, SipError, parse_cseq

CHALLENGES = {401: ("WWW-Authenticate", "Authorization"),
              407: ("Proxy-Authenticate", "Proxy-Authorization")}
"""Challenge status -> (the header the challenge comes in, the header credentials go in)."""


def credentials_sent(request: Request) -> bool:
    """Whether `request` already carries credentials (a second challenge means they failed)."""
    return any(header in request.headers for _, header in CHALLENGES.values())


def authorized(request: Request, challenge: Response, username: str, password: str,
               rng: random.Random) -> Request | None:
    """`request` again, answering `challenge` (a 401 or 407 to it) as `username`; None if the
    challenge cannot be answered (another status, no Digest challenge with an algorithm and
    qop we know, or a malformed one)."""
    params = _usable_challenge(challenge)
    if params is None:
        return None
    _, credentials_header = CHALLENGES[challenge.status]
    value = _credentials(request, params, username, password, rng)
    number, method = parse_cseq(request.headers.get("CSeq") or "")
    via = request.headers.get("Via") or ""
    headers = (request.headers.replace("Via", _new_branch(via, rng))
               .replace("CSeq", f"{number + 1} {method}").add(credentials_header, value))
    return Request(request.method, request.uri, headers, request.body)


def _usable_challenge(challenge: Response) -> dict[str, str] | None:
    """The first Digest challenge of `challenge` we can answer (RFC 8760: in its order)."""
    header, _ = CHALLENGES.get(challenge.status, ("", ""))
    for value in challenge.headers.get_all(header) if header else ():
        try:
            scheme, params = parse_auth_params(value)
        except SipError:
            continue
        qops = [qop.strip() for qop in params.get("qop", "auth").split(",")]
        if (scheme.lower() == "digest" and "realm" in params and "nonce" in params
                and params.get("algorithm", "MD5").upper() in HASHES and "auth" in qops):
            return params
    return None


def _credentials(request: Request, challenge: dict[str, str], username: str, password: str,
                 rng: random.Random) -> str:
    algorithm = challenge.get("algorithm", "MD5").upper()
    cnonce, nc = f"{rng.getrandbits(64):016x}", "00000001"
    response = digest_response(algorithm, username, challenge["realm"], password,
                               request.method, request.uri, challenge["nonce"], nc, cnonce,
                               "auth")
    params = {"username": username, "realm": challenge["realm"], "nonce": challenge["nonce"],
              "uri": request.uri, "response": response, "algorithm": algorithm,
              "cnonce": cnonce, "qop": "auth", "nc": nc}
    if "opaque" in challenge:
        params["opaque"] = challenge["opaque"]
    return format_auth_params("Digest", params)


def _new_branch(via: str, rng: random.Random) -> str:
    """`via` (our own, topmost) with a new branch: the new request is a new transaction."""
    sent_by, _, _ = via.partition(";branch=")
    return f"{sent_by};branch={new_branch(rng)}"
