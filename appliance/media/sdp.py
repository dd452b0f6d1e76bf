"""SDP (RFC 4566) session descriptions and RFC 3264 offer/answer for G.711 audio.

`parse()` reads a description (CRLF or LF line ends) or raises `SdpError`; `str(sdp)` writes the
canonical form: CRLF line ends and the RFC's line order (v o s i u e p c b t r z k a, then each
media section m i c b k a). Lines this module does not model (i, u, e, p, b, r, z, k) are kept in
`other` and written back in that order, so `parse(str(sdp)) == sdp` for any description whose
`other` lines are already in RFC order.

`answer()` is the answerer's half of RFC 3264 for the codecs we relay: it never fails on a
well-formed offer; what it cannot accept it rejects with port 0.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_MIRRORED = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
             "inactive": "inactive"}
# RFC 3551 table 4: payload types whose meaning needs no rtpmap.
STATIC_PAYLOAD_TYPES: Mapping[int, tuple[str, int]] = {
    0: ("PCMU", 8000), 3: ("GSM", 8000), 4: ("G723", 8000), 8: ("PCMA", 8000),
    9: ("G722", 8000), 18: ("G729", 8000),
}
TELEPHONE_EVENT = "telephone-event"
# Encoding name -> the payload type we use for it; None: dynamic, take the offerer's number.
DEFAULT_SUPPORTED: Mapping[str, int | None] = {"PCMU": 0, "PCMA": 8, TELEPHONE_EVENT: None}
AUDIO_CLOCK_RATE = 8000

_LINE = re.compile(r"([a-z])=(.*)")
_SESSION_ORDER = "iuepcbtrzka"
_MEDIA_ORDER = "icbka"
_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
_RTPMAP = re.compile(r"(\d{1,3}) ([^/\s]+)/(\d+)(?:/(\d+))?")
_FMTP = re.compile(r"(\d{1,3}) (.+)")
_PTIME = re.compile(r"\d+(?:\.\d+)?")


class SdpError(ValueError):
    """A session description we cannot read, or values no description can carry."""


@dataclass(frozen=True)
class Origin:
    """The o= line: who made the description and which version of it this is."""

    username: str
    session_id: int
    session_version: int
    address: str
    net_type: str = "IN"
    address_type: str = "IP4"

    def __str__(self) -> str:
        return (f"{self.username} {self.session_id} {self.session_version} {self.net_type} "
                f"{self.address_type} {self.address}")


@dataclass(frozen=True)
class Connection:
    """A c= line: where media is to be sent."""

    address: str
    net_type: str = "IN"
    address_type: str = "IP4"

    def __str__(self) -> str:
        return f"{self.net_type} {self.address_type} {self.address}"


@dataclass(frozen=True)
class Attribute:
    """An a= line: `name:value`, or a flag such as `sendonly` when `value` is None."""

    name: str
    value: str | None = None

    def __str__(self) -> str:
        return self.name if self.value is None else f"{self.name}:{self.value}"


@dataclass(frozen=True)
class RtpMap:
    """An rtpmap attribute's value (RFC 4566 6): payload type, encoding, clock rate and, for
    audio, an optional channel count."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None

    def __str__(self) -> str:
        tail = "" if self.channels is None else f"/{self.channels}"
        return f"{self.payload_type} {self.encoding}/{self.clock_rate}{tail}"


def _attribute_value(attributes: tuple[Attribute, ...], name: str) -> str | None:
    return next((a.value for a in attributes if a.name == name and a.value is not None), None)


def _direction(attributes: tuple[Attribute, ...]) -> str | None:
    return next((a.name for a in attributes if a.name in DIRECTIONS and a.value is None), None)


@dataclass(frozen=True)
class Media:
    """One media section: its m= line, an optional c= line, attributes and other lines."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    connection: Connection | None = None
    attributes: tuple[Attribute, ...] = ()
    port_count: int | None = None
    other: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SdpError(f"port {self.port} is outside 0..65535")
        if not self.formats:
            raise SdpError("a media section needs at least one format")

    @property
    def rejected(self) -> bool:
        """Port 0: the stream is refused or disabled (RFC 3264 6, 8.2)."""
        return self.port == 0

    def rtpmap(self, payload_type: int) -> RtpMap | None:
        """The rtpmap for `payload_type`, or the RFC 3551 static meaning when there is none."""
        for attribute in self.attributes:
            if attribute.name == "rtpmap" and attribute.value is not None:
                rtpmap = _readable_rtpmap(attribute.value)
                if rtpmap is not None and rtpmap.payload_type == payload_type:
                    return rtpmap
        static = STATIC_PAYLOAD_TYPES.get(payload_type)
        return RtpMap(payload_type, *static) if static else None

    def fmtp(self, payload_type: int) -> str | None:
        """The format parameters given for `payload_type`, if any."""
        for attribute in self.attributes:
            match = _FMTP.fullmatch(attribute.value or "") if attribute.name == "fmtp" else None
            if match and int(match[1]) == payload_type:
                return match[2]
        return None

    @property
    def ptime(self) -> float | None:
        """The packet time in milliseconds the receiver prefers, if given."""
        value = _attribute_value(self.attributes, "ptime")
        return None if value is None else _parse_ptime(value)

    def direction(self, session_default: str = "sendrecv") -> str:
        """This stream's direction attribute, else `session_default` (RFC 4566 6)."""
        return _direction(self.attributes) or session_default

    def lines(self) -> list[str]:
        """This section as SDP lines (without line ends), in RFC order."""
        port = f"{self.port}" if self.port_count is None else f"{self.port}/{self.port_count}"
        lines = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}"]
        lines += _other_lines(self.other, "i")
        if self.connection is not None:
            lines.append(f"c={self.connection}")
        lines += _other_lines(self.other, "bk")
        lines += [f"a={attribute}" for attribute in self.attributes]
        return lines


@dataclass(frozen=True)
class Sdp:
    """A session description (version 0). `timing` holds the (start, stop) of each t= line."""

    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    timing: tuple[tuple[int, int], ...] = ((0, 0),)
    attributes: tuple[Attribute, ...] = ()
    media: tuple[Media, ...] = ()
    other: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.timing:
            raise SdpError("a session description needs at least one t= line")

    @property
    def direction(self) -> str:
        """The session-level direction attribute; sendrecv when there is none."""
        return _direction(self.attributes) or "sendrecv"

    def __str__(self) -> str:
        lines = ["v=0", f"o={self.origin}", f"s={self.session_name}"]
        lines += _other_lines(self.other, "iuep")
        if self.connection is not None:
            lines.append(f"c={self.connection}")
        lines += _other_lines(self.other, "b")
        lines += [f"t={start} {stop}" for start, stop in self.timing]
        lines += _other_lines(self.other, "rzk")
        lines += [f"a={attribute}" for attribute in self.attributes]
        for media in self.media:
            lines += media.lines()
        return "\r\n".join(lines) + "\r\n"

    def __bytes__(self) -> bytes:
        return str(self).encode("utf-8")


def _other_lines(other: tuple[tuple[str, str], ...], kinds: str) -> list[str]:
    return [f"{kind}={value}" for kind in kinds for k, value in other if k == kind]


def parse_rtpmap(value: str) -> RtpMap:
    """An rtpmap attribute's value, e.g. `97 telephone-event/8000`; raises `SdpError`."""
    match = _RTPMAP.fullmatch(value)
    if not match or int(match[1]) > 127:
        raise SdpError(f"malformed rtpmap {value[:80]!r}")
    channels = None if match[4] is None else int(match[4])
    return RtpMap(int(match[1]), match[2], int(match[3]), channels)


def _readable_rtpmap(value: str) -> RtpMap | None:
    """The rtpmap in `value`, None when it cannot be read: RFC 4566 5.13 has attributes that
    are not understood ignored, and a codec whose rtpmap we cannot read is one we cannot use
    (a static payload type still means what RFC 3551 says)."""
    try:
        return parse_rtpmap(value)
    except SdpError:
        return None


def _parse_ptime(value: str) -> float:
    if not _PTIME.fullmatch(value):
        raise SdpError(f"malformed ptime {value[:40]!r}")
    return float(value)


def parse(data: str | bytes) -> Sdp:
    """Parse one session description; raises `SdpError` (and nothing else).

    Checks the line syntax, that v=0, o= and s= come first in that order, that t= appears at
    least once and only at session level, and the syntax of o=, c=, t=, m=, rtpmap, fmtp and
    ptime. Line ends may be CRLF or LF; a final line end is optional.
    """
    lines = _split_lines(data)
    if [kind for kind, _ in lines[:3]] != ["v", "o", "s"]:
        raise SdpError("a description must begin with v=, o= and s= lines")
    if lines[0][1] != "0":
        raise SdpError(f"unsupported SDP version {lines[0][1][:20]!r}")
    origin = _parse_origin(lines[1][1])
    starts = [i for i, (kind, _) in enumerate(lines) if kind == "m"] + [len(lines)]
    media = tuple(_parse_media(lines[a:b]) for a, b in itertools.pairwise(starts))
    connection, timing, attributes, other = _parse_session_lines(lines[3:starts[0]])
    return Sdp(origin, lines[2][1], connection, timing, attributes, media, other)


def _split_lines(data: str | bytes) -> list[tuple[str, str]]:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SdpError("description is not UTF-8") from None
    text = data.replace("\r\n", "\n").removesuffix("\n")
    lines = []
    for line in text.split("\n"):
        match = _LINE.fullmatch(line)
        if not match or "\r" in line or "\x00" in line:
            raise SdpError(f"malformed line {line[:80]!r}")
        lines.append((match[1], match[2]))
    return lines


def _fields(value: str, count: int, what: str) -> list[str]:
    fields = value.split(" ")
    if len(fields) != count or not all(fields):
        raise SdpError(f"malformed {what} {value[:80]!r}")
    return fields


def _parse_origin(value: str) -> Origin:
    username, session_id, version, net_type, address_type, address = _fields(value, 6, "o= line")
    if not (session_id.isdigit() and version.isdigit() and session_id.isascii()
            and version.isascii()):
        raise SdpError(f"o= session id and version must be digits: {value[:80]!r}")
    return Origin(username, int(session_id), int(version), address, net_type, address_type)


def _parse_connection(value: str) -> Connection:
    net_type, address_type, address = _fields(value, 3, "c= line")
    return Connection(address, net_type, address_type)


def _parse_timing(value: str) -> tuple[int, int]:
    start, stop = _fields(value, 2, "t= line")
    if not (start.isdigit() and stop.isdigit() and start.isascii() and stop.isascii()):
        raise SdpError(f"malformed t= line {value[:80]!r}")
    return int(start), int(stop)


def _parse_attribute(value: str) -> Attribute:
    name, colon, rest = value.partition(":")
    if not _TOKEN.fullmatch(name):
        raise SdpError(f"malformed attribute {value[:80]!r}")
    attribute = Attribute(name, rest if colon else None)
    _check_attribute(attribute)
    return attribute


def _check_attribute(attribute: Attribute) -> None:
    # rtpmap and fmtp lines are read when a codec is chosen, and one we cannot read is
    # ignored there: a peer's odd line for a codec we do not know must not cost the call.
    if attribute.name == "ptime":
        _parse_ptime(attribute.value or "")


_SessionParts = tuple[
    Connection | None, tuple[tuple[int, int], ...], tuple[Attribute, ...],
    tuple[tuple[str, str], ...],
]


def _parse_session_lines(lines: list[tuple[str, str]]) -> _SessionParts:
    connection = None
    timing: list[tuple[int, int]] = []
    attributes: list[Attribute] = []
    other: list[tuple[str, str]] = []
    for kind, value in lines:
        if kind == "c":
            if connection is not None:
                raise SdpError("more than one session-level c= line")
            connection = _parse_connection(value)
        elif kind == "t":
            timing.append(_parse_timing(value))
        elif kind == "a":
            attributes.append(_parse_attribute(value))
        elif kind in _SESSION_ORDER:
            other.append((kind, value))
        else:
            raise SdpError(f"unexpected {kind}= line at session level")
    if not timing:
        raise SdpError("no t= line")
    return connection, tuple(timing), tuple(attributes), tuple(other)


def _parse_media(lines: list[tuple[str, str]]) -> Media:
    media, port, port_count, proto, formats = _parse_media_line(lines[0][1])
    connection = None
    attributes: list[Attribute] = []
    other: list[tuple[str, str]] = []
    for kind, value in lines[1:]:
        if kind == "c":
            if connection is not None:
                raise SdpError(f"more than one c= line in the {media} section")
            connection = _parse_connection(value)
        elif kind == "a":
            attributes.append(_parse_attribute(value))
        elif kind in _MEDIA_ORDER:
            other.append((kind, value))
        else:
            raise SdpError(f"unexpected {kind}= line in the {media} section")
    return Media(media, port, proto, formats, connection, tuple(attributes), port_count,
                 tuple(other))


_M_LINE = re.compile(r"([a-z0-9]+) (\d{1,5})(?:/(\d{1,5}))? (\S+)((?: \S+)+)", re.ASCII)


def _parse_media_line(value: str) -> tuple[str, int, int | None, str, tuple[str, ...]]:
    match = _M_LINE.fullmatch(value)
    if not match or int(match[2]) > 65535:
        raise SdpError(f"malformed m= line {value[:80]!r}")
    port_count = None if match[3] is None else int(match[3])
    return match[1], int(match[2]), port_count, match[4], tuple(match[5].split())


def answer(
    offer: Sdp,
    local_address: str,
    local_port: int,
    supported: Mapping[str, int | None] = DEFAULT_SUPPORTED,
    *,
    session_id: int = 0,
    session_version: int = 0,
    username: str = "ccbox",
) -> Sdp:
    """The RFC 3264 answer to `offer`, receiving media at `local_address`:`local_port`.

    The answer has one m= line per offered one, in order. The first offered RTP/AVP audio stream
    with a codec in `supported` (encoding name -> our payload type, None for dynamic types) is
    accepted: it gets the first such codec in the offerer's order of preference, with the
    offer's payload number, plus telephone-event under the offer's number and fmtp when both
    sides have it; the direction mirrors the offer's (sendonly -> recvonly, recvonly ->
    sendonly, inactive -> inactive) and an offered ptime is echoed. Every other stream, and an
    audio stream with no common codec, is rejected with port 0. When nothing is accepted all
    ports are 0: the caller should then refuse the offer (488). Codecs must be 8 kHz.
    Session id and version come from the caller: this module reads no clock.
    """
    if not 1 <= local_port <= 65535:
        raise SdpError(f"local port {local_port} is outside 1..65535")
    media: list[Media] = []
    for offered in offer.media:
        accepted = None
        if not any(not m.rejected for m in media):
            accepted = _answer_audio(offered, offer.direction, local_port, supported)
        media.append(accepted or _rejected(offered))
    address_type = "IP6" if ":" in local_address else "IP4"
    return Sdp(
        origin=Origin(username, session_id, session_version, local_address, "IN", address_type),
        session_name="-",
        connection=Connection(local_address, "IN", address_type),
        timing=offer.timing,
        media=tuple(media),
    )


def _rejected(offered: Media) -> Media:
    return Media(offered.media, 0, offered.proto, offered.formats)


def _answer_audio(offered: Media, session_direction: str, local_port: int,
                  supported: Mapping[str, int | None]) -> Media | None:
    if offered.media != "audio" or offered.proto != "RTP/AVP" or offered.rejected:
        return None
    codec = _first_supported_codec(offered, supported)
    if codec is None:
        return None
    rtpmaps = [codec]
    attributes: list[Attribute] = []
    event = _telephone_event(offered, supported)
    if event is not None:
        rtpmaps.append(event)
    attributes += [Attribute("rtpmap", str(rtpmap)) for rtpmap in rtpmaps]
    event_fmtp = None if event is None else offered.fmtp(event.payload_type)
    if event is not None and event_fmtp is not None:
        attributes.append(Attribute("fmtp", f"{event.payload_type} {event_fmtp}"))
    ptime = _attribute_value(offered.attributes, "ptime")
    if ptime is not None:
        attributes.append(Attribute("ptime", ptime))
    attributes.append(Attribute(_MIRRORED[offered.direction(session_direction)]))
    formats = tuple(str(rtpmap.payload_type) for rtpmap in rtpmaps)
    return Media("audio", local_port, "RTP/AVP", formats, attributes=tuple(attributes))


def _offered_rtpmaps(offered: Media) -> list[RtpMap]:
    found = []
    for fmt in offered.formats:
        if fmt.isdigit() and fmt.isascii() and int(fmt) < 128:
            rtpmap = offered.rtpmap(int(fmt))
            if rtpmap is not None and rtpmap.clock_rate == AUDIO_CLOCK_RATE:
                found.append(rtpmap)
    return found


def _supported_name(rtpmap: RtpMap, supported: Mapping[str, int | None]) -> str | None:
    return next((name for name in supported if name.lower() == rtpmap.encoding.lower()), None)


def _first_supported_codec(offered: Media, supported: Mapping[str, int | None]) -> RtpMap | None:
    for rtpmap in _offered_rtpmaps(offered):
        name = _supported_name(rtpmap, supported)
        if name is not None and name.lower() != TELEPHONE_EVENT:
            return rtpmap
    return None


def _telephone_event(offered: Media, supported: Mapping[str, int | None]) -> RtpMap | None:
    for rtpmap in _offered_rtpmaps(offered):
        name = _supported_name(rtpmap, supported)
        if name is not None and name.lower() == TELEPHONE_EVENT:
            return rtpmap
    return None


def readable(body: bytes) -> Sdp | None:
    """The description in a message body; None for an empty or unreadable one."""
    if not body:
        return None
    try:
        return parse(body)
    except SdpError:
        return None


def audio_direction(description: Sdp) -> str | None:
    """The direction of the first audio stream: its own attribute, else the session's, else
    sendrecv (RFC 4566 6). None if the description has no audio stream."""
    stream = next((m for m in description.media if m.media == "audio"), None)
    return None if stream is None else stream.direction(description.direction)


def is_hold(body: bytes) -> bool:
    """Whether an offer in `body` puts the other party on hold: its audio is sendonly or
    inactive (RFC 3264 8.4), or is to be sent to 0.0.0.0 (the RFC 2543 way, which older
    phones still use). An unreadable body holds nothing."""
    description = readable(body)
    if description is None:
        return False
    stream = next((m for m in description.media if m.media == "audio"), None)
    connection = None if stream is None else stream.connection or description.connection
    return (audio_direction(description) in ("sendonly", "inactive")
            or (connection is not None and connection.address == "0.0.0.0"))


def mirrored(direction: str) -> str:
    """The direction that answers an offered `direction` (RFC 3264 6.1): sendonly is answered
    recvonly, recvonly sendonly, the others with themselves."""
    return _MIRRORED[direction]


def with_audio_direction(description: Sdp, direction: str) -> Sdp:
    """`description` with the first audio stream's direction set to `direction` (a session
    direction attribute is dropped, so it cannot override the stream's)."""
    audio = next((m for m in description.media if m.media == "audio"), None)
    if audio is None:
        return description
    kept = tuple(a for a in audio.attributes if not (a.name in DIRECTIONS and a.value is None))
    stream = replace(audio, attributes=(*kept, Attribute(direction)))
    session = tuple(a for a in description.attributes
                    if not (a.name in DIRECTIONS and a.value is None))
    media = tuple(stream if m is audio else m for m in description.media)
    return replace(description, attributes=session, media=media)


def declining(offer: Sdp | None, local_address: str, session_id: int) -> Sdp:
    """An answer that refuses every offered stream (port 0, RFC 3264 6): the call is accepted
    but carries no media, as for a feature code until prompts are played."""
    address_type = "IP6" if ":" in local_address else "IP4"
    return Sdp(
        origin=Origin("ccbox", session_id, session_id, local_address, "IN", address_type),
        connection=Connection(local_address, "IN", address_type),
        timing=((0, 0),) if offer is None else offer.timing,
        media=() if offer is None else tuple(_rejected(offered) for offered in offer.media),
    )
