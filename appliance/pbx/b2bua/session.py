"""Session timers (RFC 4028): the interval a dialog is refreshed at, and who refreshes it.

The appliance refreshes whenever the peer leaves it the choice, so that a dialog whose peer
vanished (its BYE lost) is found dead by a refresh that fails rather than left up for ever.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.pbx.sip.headers import split_values
from appliance.pbx.sip.message import Request


@dataclass(frozen=True)
class SessionTerms:
    interval: int  # seconds; 0: no session timer
    we_refresh: bool
    too_small: bool = False  # the request asked for less than our Min-SE: answer 422

    @property
    def refusal(self) -> int | None:
        return 422 if self.too_small else None


def parse_session_expires(value: str | None) -> tuple[int, str | None] | None:
    """`"1800;refresher=uac"` -> (1800, "uac"); None if absent or unreadable."""
    if not value:
        return None
    delta, *params = (part.strip() for part in value.split(";"))
    if not delta.isdigit():
        return None
    refresher = None
    for param in params:
        name, _, text = param.partition("=")
        if name.strip().lower() == "refresher" and text.strip().lower() in ("uac", "uas"):
            refresher = text.strip().lower()
    return int(delta), refresher


def uas_session_terms(request: Request, default: int, min_se: int) -> SessionTerms:
    """The terms for a dialog an INVITE we answer creates (RFC 4028 9)."""
    asked = parse_session_expires(request.headers.get("Session-Expires"))
    if asked is None:
        return SessionTerms(default, True)
    interval, refresher = asked
    if interval < min_se:
        return SessionTerms(0, True, too_small=True)
    supported = {option.strip().lower() for value in request.headers.get_all("Supported")
                 for option in split_values(value)}
    # Only a UAC that supports timers can refresh; otherwise the UAS must (RFC 4028 9).
    return SessionTerms(interval, not (refresher == "uac" and "timer" in supported))


def expiry_margin(interval: int) -> float:
    """How long before expiry the side that does not refresh gives up (RFC 4028 10)."""
    return min(32.0, interval / 3)
