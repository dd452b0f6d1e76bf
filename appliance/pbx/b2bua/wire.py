"""What the B2BUA's parts share: the methods it speaks and small readers of messages."""

from __future__ import annotations

import re

from appliance.events import EndCause
from appliance.pbx.sip.headers import split_values
from appliance.pbx.sip.message import Request, Response, SipError, parse_name_addr
from appliance.pbx.sip.uri import parse_uri

SUPPORTED_METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER",
                               "INFO", "UPDATE", "REFER", "SUBSCRIBE"})
ALLOW = ", ".join(sorted(SUPPORTED_METHODS))
URI_USER = re.compile(r"[A-Za-z0-9+*#._-]+")

# What a caller not yet answered hears when call control lets the call go.
REFUSALS: dict[EndCause, tuple[int, str]] = {
    EndCause.BLOCKED: (486, "Busy Here"),
    EndCause.BUSY: (486, "Busy Here"),
    EndCause.NO_ROUTE: (404, "Not Found"),
    EndCause.VOICEMAIL: (480, "Temporarily Unavailable"),
    # A blacklisted caller hears busy, as from any busy line. Closed and an unreachable duty
    # agent are "try again later" (480), not 603 Decline, which tells a carrier that the
    # number refuses calls altogether and may stop it trying alternatives.
    EndCause.BLACKLISTED: (486, "Busy Here"),
    EndCause.CLOSED: (480, "Temporarily Unavailable"),
    EndCause.AGENT_UNREACHABLE: (480, "Temporarily Unavailable"),
}
# Responses to our requests that mean the dialog is gone (RFC 3261 12.2.1.2, RFC 4028 10).
DIALOG_GONE = frozenset({408, 481})


def user_of(name_addr: str | None) -> str:
    try:
        return user_of_uri(parse_name_addr(name_addr or "").uri)
    except (SipError, ValueError):
        return ""


def user_of_uri(uri: str) -> str:
    try:
        return parse_uri(uri).user or ""
    except (SipError, ValueError, AttributeError):
        return ""


def allowed(message: Request | Response) -> set[str]:
    return {method.strip().upper() for value in message.headers.get_all("Allow")
            for method in split_values(value)}



# The one body type the appliance reads in INVITE, UPDATE and OPTIONS (RFC 3261 8.2.3).
ACCEPT = "application/sdp"
_BODY_READ_BY = frozenset({"INVITE", "UPDATE", "OPTIONS"})
_ANSWERS_WE_CAN_GIVE = frozenset({"application/sdp", "application/*", "*/*"})


def media_type(value: str | None) -> str:
    """"application/SDP; charset=x" -> "application/sdp"."""
    return (value or "").split(";", 1)[0].strip(" \t").lower()


def content_refusal(request: Request) -> tuple[int, str] | None:
    """415 for a body we cannot read (answered with Accept), 406 for an INVITE whose Accept
    leaves out the SDP our answer would carry (RFC 3261 8.2.3, 21.4.7); None when fine."""
    if request.method not in _BODY_READ_BY:
        return None
    if request.body and media_type(request.headers.get("Content-Type")) != ACCEPT:
        return 415, "Unsupported Media Type"
    accepts = request.headers.get_all("Accept")
    if (request.method == "INVITE" and accepts
            and not any(media_type(value) in _ANSWERS_WE_CAN_GIVE for value in accepts)):
        return 406, "Not Acceptable"
    return None
