"""SIP, SIPS and tel URIs (RFC 3261 19.1, RFC 3966): parse into parts, serialize back.

`parse_uri()` keeps every part as written (escapes in the user part are not decoded,
parameter order is kept) except the scheme, which is lower-cased; `str(uri)` of a parsed
canonical URI gives back the same text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.pbx.sip.message import SipError

SCHEMES = frozenset({"sip", "sips", "tel"})

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_HOSTNAME = re.compile(r"[A-Za-z0-9._-]+")
_IPV6 = re.compile(r"\[[0-9A-Fa-f:.]+\]")
_PORT = re.compile(r"\d{1,5}")
# Whitespace, controls and the characters that delimit a URI in a header (RFC 3261 25.1).
_EXCLUDED = re.compile(r'[\x00-\x20\x7f<>"]')


def _bad(detail: str) -> SipError:
    return SipError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class SipUri:
    """One URI. For "tel" URIs the number is in `user` and `host` is empty."""

    scheme: str
    user: str | None
    password: str | None
    host: str
    port: int | None = None
    params: tuple[tuple[str, str | None], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str | None:
        """The first parameter named `name` (any case): "" when it has no value, else None."""
        wanted = name.lower()
        for key, value in self.params:
            if key.lower() == wanted:
                return "" if value is None else value
        return None

    def __str__(self) -> str:
        text = f"{self.scheme}:"
        if self.scheme == "tel":
            text += self.user or ""
        else:
            if self.user is not None:
                text += self.user
                if self.password is not None:
                    text += f":{self.password}"
                text += "@"
            text += self.host
            if self.port is not None:
                text += f":{self.port}"
        text += "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self.params)
        if self.headers:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.headers)
        return text


def parse_uri(text: str) -> SipUri:
    """Parse a sip:, sips: or tel: URI; raise `SipError` (400) when it is malformed."""
    if _EXCLUDED.search(text):
        raise _bad(f"bad character in URI: {text!r}")
    match = _SCHEME.match(text)
    if match is None:
        raise _bad(f"URI without a scheme: {text!r}")
    scheme = match.group(1).lower()
    if scheme not in SCHEMES:
        raise _bad(f"unsupported URI scheme: {text!r}")
    rest = text[match.end():]
    if scheme == "tel":
        number, _, params = rest.partition(";")
        if not number:
            raise _bad(f"tel URI without a number: {text!r}")
        return SipUri(scheme, number, None, "", None, _parse_params(params, text) if params
                      else ())
    # "@" may not appear unescaped in a user, password, parameter or header (19.1.1).
    userinfo, at, hostpart = rest.partition("@")
    if not at:
        userinfo, hostpart = "", rest
    user, password = _parse_userinfo(userinfo, text) if at else (None, None)
    hostpart, question, header_text = hostpart.partition("?")
    hostport, semicolon, param_text = hostpart.partition(";")
    host, port = _parse_hostport(hostport, text)
    params = _parse_params(param_text, text) if semicolon else ()
    headers = _parse_headers(header_text, text) if question else ()
    return SipUri(scheme, user, password, host, port, params, headers)


def _parse_userinfo(userinfo: str, text: str) -> tuple[str, str | None]:
    user, colon, password = userinfo.partition(":")
    if not user:
        raise _bad(f"empty user part: {text!r}")
    return user, password if colon else None


def _parse_hostport(hostport: str, text: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise _bad(f"unterminated IPv6 reference: {text!r}")
        host, after = hostport[:end + 1], hostport[end + 1:]
        if not _IPV6.fullmatch(host):
            raise _bad(f"bad IPv6 reference: {text!r}")
        if after and not after.startswith(":"):
            raise _bad(f"junk after IPv6 reference: {text!r}")
        port_text = after[1:] if after else None
    else:
        host, colon, port_text_found = hostport.partition(":")
        port_text = port_text_found if colon else None
        if not host:
            raise _bad(f"empty host: {text!r}")
        if not _HOSTNAME.fullmatch(host):
            raise _bad(f"bad host: {text!r}")
    if port_text is None:
        return host, None
    if not _PORT.fullmatch(port_text) or int(port_text) > 65535:
        raise _bad(f"bad port: {text!r}")
    return host, int(port_text)


def _parse_params(param_text: str, text: str) -> tuple[tuple[str, str | None], ...]:
    params: list[tuple[str, str | None]] = []
    for item in param_text.split(";"):
        name, equals, value = item.partition("=")
        if not name:
            raise _bad(f"empty URI parameter name: {text!r}")
        params.append((name, value if equals else None))
    return tuple(params)


def _parse_headers(header_text: str, text: str) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    for item in header_text.split("&"):
        name, equals, value = item.partition("=")
        if not name or not equals:
            raise _bad(f"bad URI header: {text!r}")
        headers.append((name, value))
    return tuple(headers)
