"""SIP messages (RFC 3261 7, 18.3): parse one datagram's bytes, serialize canonically.

`parse()` turns bytes into a `Request` or `Response` and raises `SipError` for anything it
cannot accept; `bytes(message)` writes the canonical form (full header names, one value per
line, CRLF line ends, a Content-Length equal to the body's length). Content-Length is framing,
not content: a message's `headers` never hold it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.pbx.sip.headers import Headers, is_token

SIP_VERSION = "SIP/2.0"

KNOWN_METHODS: frozenset[str] = frozenset({
    "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "UPDATE", "PRACK",
    "SUBSCRIBE", "NOTIFY", "REFER", "MESSAGE", "PUBLISH",
})

# RFC 3261 8.1.1: every request carries these (and Max-Forwards, but a user agent server
# need not read it, and RFC 2543 requests lack it: RFC 4475 3.4.1).
REQUIRED_REQUEST_HEADERS = ("To", "From", "CSeq", "Call-ID", "Via")
# A response lacking one of these cannot be matched to a transaction or dialog.
REQUIRED_RESPONSE_HEADERS = ("To", "From", "CSeq", "Call-ID", "Via")
SINGLE_VALUED = ("Call-ID", "CSeq", "To", "From", "Max-Forwards", "Content-Length",
                 "Content-Type")

# Bounds on what one datagram may make us parse: the largest UDP payload, and header limits
# well above what any real message needs.
MAX_MESSAGE_BYTES = 65_535
MAX_HEADER_LINES = 200
MAX_LINE_BYTES = 8_192

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(r"\r?\n")
# Control characters other than HTAB and line ends; a CR must end a line (CRLF).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")
# RFC 3261 25.1: a quoted-pair inside a quoted string may escape any control but CR and LF.
_QUOTED_PAIR = re.compile(r'"(?:[^"\\\x00-\x08\x0a-\x1f\x7f]|\\[^\r\n])*"')
_VERSION = re.compile(r"SIP/\d+\.\d+", re.IGNORECASE)
_REQUEST_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s]+")
_STATUS = re.compile(r"[1-6]\d\d")
_CSEQ = re.compile(r"(\d{1,10})[ \t]+([A-Za-z0-9.!%*_+`'~-]+)")
_SENT_PROTOCOL = re.compile(
    r"SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*([A-Za-z0-9.!%*_+`'~-]+)[ \t]+(.*)",
    re.IGNORECASE | re.DOTALL,
)
_SENT_BY = re.compile(
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?:[ \t]*:[ \t]*(\d{1,5}))?"
)


class SipError(Exception):
    """A message we cannot accept; `status` and `reason` suit the response to send back."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _bad(detail: str) -> SipError:
    return SipError(400, f"Bad Request: {detail}")


def _without_content_length(message: Request | Response) -> None:
    if "Content-Length" in message.headers:
        object.__setattr__(message, "headers", message.headers.remove("Content-Length"))


def _serialize(start_line: str, headers: Headers, body: bytes) -> bytes:
    lines = [start_line, *(f"{name}: {value}" for name, value in headers)]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


@dataclass(frozen=True)
class Request:
    """A SIP request. Any Content-Length in `headers` is dropped: it follows from `body`."""

    method: str
    uri: str
    headers: Headers
    body: bytes = b""

    def __post_init__(self) -> None:
        _without_content_length(self)

    def __bytes__(self) -> bytes:
        wire = self.__dict__.get("_wire")
        if wire is None:  # immutable: serialize once, however often it is (re)sent
            wire = _serialize(f"{self.method} {self.uri} {SIP_VERSION}", self.headers, self.body)
            object.__setattr__(self, "_wire", wire)
        return wire


@dataclass(frozen=True)
class Response:
    """A SIP response. Any Content-Length in `headers` is dropped: it follows from `body`."""

    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    def __post_init__(self) -> None:
        _without_content_length(self)

    def __bytes__(self) -> bytes:
        wire = self.__dict__.get("_wire")
        if wire is None:
            wire = _serialize(f"{SIP_VERSION} {self.status} {self.reason}", self.headers,
                              self.body)
            object.__setattr__(self, "_wire", wire)
        return wire


def parse(data: bytes) -> Request | Response:
    """Parse one whole message as received in a UDP datagram (RFC 3261 18.3).

    Without Content-Length the body is the rest of the datagram; a longer body is cut to
    Content-Length, a shorter one is an error. Raises `SipError` (400, 501 for an unknown
    method whose CSeq names another, 505 for a SIP version other than 2.0, 513 for more than
    `MAX_MESSAGE_BYTES`) and nothing else. A header part
    with more than `MAX_HEADER_LINES` lines after the start line, or a line (folded lines
    count one by one) longer than `MAX_LINE_BYTES`, is a 400.
    """
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipError(513, "Message Too Large")
    data = data.lstrip(b"\r\n")  # RFC 3261 7.5: ignore empty lines before the start line
    end = _HEAD_END.search(data)
    head, rest = (data[: end.start()], data[end.end():]) if end else (data, b"")
    _check_head_size(head)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("header part is not UTF-8") from None
    if not text:
        raise _bad("empty message")
    if _CONTROL.search(text) and _CONTROL.search(_QUOTED_PAIR.sub("", text)):
        raise _bad("control character in header part")
    start_line, *header_lines = _LINE_END.split(text)
    headers = _parse_header_lines(header_lines)
    repeated = headers.first_repeated(SINGLE_VALUED)
    if repeated is not None:
        raise _bad(f"more than one {repeated} header")
    body = _frame_body(headers.get("Content-Length"), rest)
    if start_line[:4].upper() == "SIP/":
        status, reason = _parse_status_line(start_line)
        _check_headers(headers, REQUIRED_RESPONSE_HEADERS)
        return Response(status, reason, headers, body)
    method, uri = _parse_request_line(start_line)
    _check_headers(headers, REQUIRED_REQUEST_HEADERS)
    _check_request_headers(method, headers)
    return Request(method, uri, headers, body)


def _check_head_size(head: bytes) -> None:
    if head.count(b"\n") > MAX_HEADER_LINES:
        raise _bad(f"too many headers (over {MAX_HEADER_LINES})")
    lines = head.split(b"\n")
    if max(map(len, lines)) <= MAX_LINE_BYTES:
        return  # the common case: no line can be too long even with its CR
    for index, line in enumerate(lines):
        if len(line.removesuffix(b"\r")) > MAX_LINE_BYTES:
            what = "header line" if index else "start line"
            raise _bad(f"{what} too long (over {MAX_LINE_BYTES} bytes)")


def _check_version(version: str) -> None:
    if version.upper() == SIP_VERSION:
        return
    if _VERSION.fullmatch(version):
        raise SipError(505, "Version Not Supported")
    raise _bad(f"malformed SIP version {version!r}")


def _parse_request_line(line: str) -> tuple[str, str]:
    parts = line.split(" ")
    if len(parts) != 3:
        raise _bad(f"malformed request line {line[:80]!r}")
    method, uri, version = parts
    if not is_token(method):
        raise _bad(f"malformed method {method[:40]!r}")
    if not _REQUEST_URI.fullmatch(uri):
        raise _bad(f"malformed Request-URI {uri[:80]!r}")
    _check_version(version)
    return method, uri


def _parse_status_line(line: str) -> tuple[int, str]:
    version, _, rest = line.partition(" ")
    _check_version(version)
    code, _, reason = rest.partition(" ")
    if not _STATUS.fullmatch(code):
        raise _bad(f"malformed status code {code[:20]!r}")
    return int(code), reason


def _parse_header_lines(lines: list[str]) -> Headers:
    fields: list[list[str]] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not fields:
                raise _bad("continuation line before the first header")
            fields[-1][1] += " " + line.strip(" \t")  # RFC 3261 7.3.1: folding is one SP
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise _bad(f"header line without a colon: {line[:80]!r}")
        name = name.rstrip(" \t")
        if not is_token(name):
            raise _bad(f"malformed header name {name[:40]!r}")
        fields.append([name, value])
    return Headers((name, value) for name, value in fields)


def _frame_body(content_length: str | None, rest: bytes) -> bytes:
    if content_length is None:
        return rest
    if not content_length.isdigit() or not content_length.isascii():
        raise _bad(f"Content-Length is not a non-negative integer: {content_length[:20]!r}")
    if len(content_length) > 18 or int(content_length) > len(rest):
        raise _bad("body shorter than Content-Length")
    return rest[: int(content_length)]


def _check_headers(headers: Headers, required: tuple[str, ...]) -> None:
    for name in required:
        if name not in headers:
            raise _bad(f"missing {name} header")
    _checked_field(parse_cseq, headers, "CSeq")
    _checked_field(parse_via, headers, "Via")
    _checked_field(parse_name_addr, headers, "To")
    _checked_field(parse_name_addr, headers, "From")


def _checked_field(parser: Callable[[str], object], headers: Headers, name: str) -> None:
    """Every value of `name` must parse: a proxy's Via below the top one is echoed in our
    responses and must be sound too."""
    try:
        for value in headers.get_all(name):
            parser(value)
    except SipError:
        raise _bad(f"malformed {name} header") from None


def _check_request_headers(method: str, headers: Headers) -> None:
    _, cseq_method = parse_cseq(headers.get("CSeq") or "")
    if cseq_method != method and method not in KNOWN_METHODS:
        # RFC 4475 3.1.2.18: what we cannot do at all is better said by a 501
        raise SipError(501, "Not Implemented")
    if cseq_method != method:
        raise _bad(f"CSeq method {cseq_method!r} differs from request method {method!r}")
    max_forwards = headers.get("Max-Forwards")
    if max_forwards is None:
        return
    if not (max_forwards.isascii() and max_forwards.isdigit() and int(max_forwards) <= 255):
        raise _bad(f"malformed Max-Forwards header {max_forwards[:20]!r}")


@functools.lru_cache(maxsize=4096)
def parse_cseq(value: str) -> tuple[int, str]:
    """The sequence number and method of a CSeq value such as "4711 INVITE"."""
    match = _CSEQ.fullmatch(value.strip(" \t"))
    if not match or int(match.group(1)) >= 2**31:
        raise _bad(f"malformed CSeq header {value[:40]!r}")
    return int(match.group(1)), match.group(2)


def _split_params(text: str, what: str) -> dict[str, str | None]:
    """";name=value;flag" -> {"name": "value", "flag": None}; names lower-cased."""
    params: dict[str, str | None] = {}
    if not text.strip(" \t"):
        return params
    text = text.strip(" \t")
    if not text.startswith(";"):
        raise _bad(f"malformed {what}: unexpected {text[:40]!r}")
    for part in _split_outside_quotes(text[1:], ";"):
        name, equals, value = part.partition("=")
        name = name.strip(" \t")
        value = value.strip(" \t")
        if not is_token(name) or (equals and not value):
            raise _bad(f"malformed {what} parameter {part[:40]!r}")
        params[name.lower()] = value if equals else None
    return params


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    if '"' not in text:
        return text.split(separator)
    parts: list[str] = []
    start = 0
    in_quotes = escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and in_quotes:
            escaped = True
        elif char == '"':
            in_quotes = not in_quotes
        elif char == separator and not in_quotes:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{name}" if value is None else f";{name}={value}"
                   for name, value in params.items())


@dataclass(frozen=True)
class Via:
    """One Via hop. `host` is as written (an IPv6 reference keeps its brackets)."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        """The rport value; None when absent or present without a value (a request for it)."""
        value = self.params.get("rport")
        return int(value) if value and value.isdigit() else None

    def __str__(self) -> str:
        port = "" if self.port is None else f":{self.port}"
        return f"{SIP_VERSION}/{self.transport} {self.host}{port}{_format_params(self.params)}"


# A message's Via, From and To are parsed several times on its way through the layers, and
# retransmissions repeat them: parsed values are cached. Callers must not modify the
# `params` of what these return (copy them first, as `Via` users do).
@functools.lru_cache(maxsize=4096)
def parse_via(value: str) -> Via:
    """Parse one Via value such as "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1;rport"."""
    match = _SENT_PROTOCOL.fullmatch(value.strip(" \t"))
    if not match:
        raise _bad(f"malformed Via header {value[:60]!r}")
    transport, rest = match.groups()
    sent_by, *params = _split_outside_quotes(rest, ";")
    address = _SENT_BY.fullmatch(sent_by.strip(" \t"))
    if not address or (address.group(2) and int(address.group(2)) > 65535):
        raise _bad(f"malformed Via sent-by {sent_by[:60]!r}")
    host, port = address.groups()
    tail = "".join(f";{param}" for param in params)
    return Via(transport.upper(), host, int(port) if port else None,
               _split_params(tail, "Via"))


@dataclass(frozen=True)
class NameAddr:
    """A name-addr or addr-spec (To, From, Contact, Route...) with its header parameters."""

    display_name: str | None
    uri: str
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def __str__(self) -> str:
        name = ""
        if self.display_name is not None:
            escaped = self.display_name.replace("\\", "\\\\").replace('"', '\\"')
            name = f'"{escaped}" '
        return f"{name}<{self.uri}>{_format_params(self.params)}"


def _quoted_string(text: str) -> tuple[str, str]:
    """Unescape the quoted string opening `text`; return it and what follows it."""
    chars: list[str] = []
    index = 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            chars.append(text[index + 1])
            index += 2
        elif char == '"':
            return "".join(chars), text[index + 1:]
        else:
            chars.append(char)
            index += 1
    raise _bad("unterminated quoted string")


@functools.lru_cache(maxsize=4096)
def parse_name_addr(value: str) -> NameAddr:
    """Parse '"Smith, \\"J\\"" <sip:j@example.com>;tag=1' and the bare addr-spec form."""
    text = value.strip(" \t")
    display: str | None = None
    if text.startswith('"'):
        display, text = _quoted_string(text)
        text = text.lstrip(" \t")
        if not text.startswith("<"):
            raise _bad(f"malformed name-addr {value[:60]!r}")
    elif "<" in text:
        before, _, after = text.partition("<")
        display = " ".join(before.split()) or None
        if display is not None and not all(is_token(word) for word in display.split(" ")):
            raise _bad(f"malformed display name {before[:60]!r}")
        text = "<" + after
    if text.startswith("<"):
        uri, closed, params = text[1:].partition(">")
        if not closed:
            raise _bad(f"unclosed '<' in {value[:60]!r}")
    else:
        # RFC 3261 20.10: in an addr-spec, parameters after ';' belong to the header.
        uri, semicolon, params = text.partition(";")
        params = semicolon + params
    uri = uri.strip(" \t")
    if not uri or any(char in uri for char in ' \t<>"'):
        raise _bad(f"malformed URI in {value[:60]!r}")
    return NameAddr(display, uri, _split_params(params, "name-addr"))
