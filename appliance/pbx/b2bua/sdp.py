"""The little of SDP (RFC 4566) the signalling needs before media is anchored: the direction
a party asks for (hold and resume, RFC 3264 8.4) and an answer that declines every stream."""

from __future__ import annotations

_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


def direction(body: bytes) -> str | None:
    """The media direction of the first audio stream: its own attribute, else the session's,
    else "sendrecv". None if `body` has no audio stream."""
    session_level: str | None = None
    media_level: str | None = None
    section = "session"
    for line in body.decode("utf-8", errors="replace").splitlines():
        if line.startswith("m="):
            if section == "audio":
                break
            section = "audio" if line.startswith("m=audio") else "other"
        elif line.startswith("a=") and line[2:].strip() in _DIRECTIONS:
            if section == "session":
                session_level = line[2:].strip()
            elif section == "audio":
                media_level = line[2:].strip()
    if section != "audio":
        return None
    return media_level or session_level or "sendrecv"


def is_hold(body: bytes) -> bool:
    """Whether an offer puts the other party on hold (sendonly or inactive)."""
    return direction(body) in ("sendonly", "inactive")


def declining_answer(offer: bytes, host: str, session_id: int) -> bytes:
    """An answer that refuses every offered stream (port 0, RFC 3264 6): the call is accepted
    but carries no media, as for a feature code until prompts are played."""
    text = offer.decode("utf-8", errors="replace")
    lines = [
        "v=0",
        f"o=ccbox {session_id} {session_id} IN IP4 {host}",
        "s=ccbox",
        f"c=IN IP4 {host}",
        "t=0 0",
    ]
    for line in text.splitlines():
        if line.startswith("m="):
            kind, _port, proto, *formats = line[2:].split()
            lines.append(f"m={kind} 0 {proto} {formats[0] if formats else '0'}")
    return ("\r\n".join(lines) + "\r\n").encode()
