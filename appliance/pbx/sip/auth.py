"""HTTP Digest authentication for SIP (RFC 2617, RFC 7616, RFC 8760; RFC 3261 22.4).

`parse_auth_params()` reads a WWW-Authenticate, Proxy-Authenticate, Authorization or
Proxy-Authorization value; `format_auth_params()` writes one; `digest_response()` computes the
"response" parameter a client sends and a server checks.

This module owns the digest algorithms (RFC 7616 3.3, RFC 8760): `HASHES` names them,
`algorithm_name()` reads a name as a challenge or credentials give it, `hex_digest()` hashes
with one. The server side (`appliance.pbx.sip.digest`) uses the same three.
"""

from __future__ import annotations

import hashlib
import re

from appliance.pbx.sip.headers import is_token
from appliance.pbx.sip.message import SipError

# Parameters the RFCs write as bare tokens; every other value is a quoted-string.
_UNQUOTED = frozenset({"algorithm", "nc", "stale", "userhash"})

HASHES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}
"""Digest algorithm name (RFC 7616 3.3) -> hashlib name: the one table client and server use."""

SESSION_SUFFIX = "-SESS"

_SCHEME = re.compile(r"[ \t]*([A-Za-z0-9.!%*_+`'~-]+)")
_PARAM_NAME = re.compile(r"[ \t]*,?[ \t]*([A-Za-z0-9.!%*_+`'~-]+)[ \t]*=[ \t]*")
_TOKEN_VALUE = re.compile(r"[A-Za-z0-9.!%*_+`'~/-]+")
_SEPARATOR = re.compile(r"[ \t]*(,|$)")


def _bad(detail: str) -> SipError:
    return SipError(400, f"Bad Request: {detail}")


def parse_auth_params(value: str) -> tuple[str, dict[str, str]]:
    """Split `Scheme name=value, ...` into the scheme and its parameters.

    Names are lower-cased; quoted values are unquoted with backslash escapes resolved, so a
    comma inside quotes stays part of its value. Raises `SipError` (400) when malformed.
    """
    match = _SCHEME.match(value)
    if match is None:
        raise _bad(f"no authentication scheme: {value!r}")
    scheme, pos = match.group(1), match.end()
    params: dict[str, str] = {}
    while value[pos:].strip(" \t"):
        if pos == match.end() and value[pos:pos + 1] not in (" ", "\t"):
            raise _bad(f"no space after authentication scheme: {value!r}")
        name_match = _PARAM_NAME.match(value, pos)
        if name_match is None:
            raise _bad(f"bad authentication parameter: {value!r}")
        name, pos = name_match.group(1).lower(), name_match.end()
        if value.startswith('"', pos):
            params[name], pos = _quoted(value, pos)
        else:
            token = _TOKEN_VALUE.match(value, pos)
            if token is None:
                raise _bad(f"empty value for {name}: {value!r}")
            params[name], pos = token.group(0), token.end()
        separator = _SEPARATOR.match(value, pos)
        if separator is None:
            raise _bad(f"junk after {name}: {value!r}")
        pos = separator.end()
    return scheme, params


def _quoted(value: str, pos: int) -> tuple[str, int]:
    """The unquoted text of the quoted-string opening at `pos`, and the position after it."""
    chars: list[str] = []
    pos += 1
    while pos < len(value):
        char = value[pos]
        if char == '"':
            return "".join(chars), pos + 1
        if char == "\\":
            pos += 1
            if pos == len(value):
                break
            char = value[pos]
        chars.append(char)
        pos += 1
    raise _bad(f"unterminated quoted string: {value!r}")


def format_auth_params(scheme: str, params: dict[str, str]) -> str:
    """Write `scheme` and `params` in the RFCs' own form.

    algorithm, nc, stale and userhash are bare tokens; qop is bare in a response (a dict with a
    "response" entry) and quoted in a challenge, where it may list several options.
    """
    bare = _UNQUOTED | ({"qop"} if "response" in params else set())
    items = [
        f"{name}={value}" if name in bare and is_token(value) else f"{name}={_quote(value)}"
        for name, value in params.items()
    ]
    return f"{scheme} {', '.join(items)}" if items else scheme


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def digest_response(
    algorithm: str | None,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str | None = None,
    cnonce: str | None = None,
    qop: str | None = None,
) -> str:
    """The hex "response" value for MD5, SHA-256 or SHA-512-256, plain or "-sess".

    `algorithm` None means MD5 (RFC 2617 3.2.1). With `qop` "auth", `nc` and `cnonce` are
    required. qop "auth-int" is not supported. Raises ValueError for what it cannot compute.
    """
    name = (algorithm or "MD5").upper()
    session = name.endswith(SESSION_SUFFIX)
    base = algorithm_name(name.removesuffix(SESSION_SUFFIX))
    if qop is not None and qop != "auth":
        raise ValueError(f"unsupported qop: {qop}")
    if (qop is not None or session) and cnonce is None:
        raise ValueError("cnonce is required with qop or a -sess algorithm")
    ha1 = hex_digest(base, f"{username}:{realm}:{password}")
    if session:
        ha1 = hex_digest(base, f"{ha1}:{nonce}:{cnonce}")
    return response_from_ha1(base, ha1, method, uri, nonce, nc, cnonce, qop)


def response_from_ha1(
    algorithm: str,
    ha1: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str | None = None,
    cnonce: str | None = None,
    qop: str | None = None,
) -> str:
    """The "response" value from an HA1 already computed (what a server stores):
    H(HA1:nonce:nc:cnonce:qop:HA2) with qop "auth", H(HA1:nonce:HA2) without (RFC 2069), where
    HA2 = H(method:uri). `algorithm` is MD5, SHA-256 or SHA-512-256 (no -sess suffix)."""
    algorithm = algorithm_name(algorithm)
    if qop is not None and qop != "auth":
        raise ValueError(f"unsupported qop: {qop}")
    ha2 = hex_digest(algorithm, f"{method}:{uri}")
    if qop is None:
        return hex_digest(algorithm, f"{ha1}:{nonce}:{ha2}")
    if nc is None or cnonce is None:
        raise ValueError("nc and cnonce are required with qop")
    return hex_digest(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def algorithm_name(name: str | None) -> str:
    """The name `HASHES` knows `name` by (any case); None means MD5 (RFC 7616 3.3).

    Raises ValueError for an algorithm not in `HASHES`, naming only the algorithm.
    """
    canonical = (name or "MD5").upper()
    if canonical not in HASHES:
        raise ValueError(f"unsupported digest algorithm: {name}")
    return canonical


def hex_digest(algorithm: str, text: str) -> str:
    """H(text) in lower-case hex with `algorithm`, a name as `algorithm_name()` returns it."""
    return hashlib.new(HASHES[algorithm], text.encode("utf-8")).hexdigest()
