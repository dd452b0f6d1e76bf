"""The trunk caller's leg: a call that came in on a trunk, the appliance its UAS.

Its races, each one row below: a CANCEL that crosses our 200 is too late and changes nothing
(RFC 3261 9.2); a BYE before the ACK of our 200 ends the call; an ACK that never comes ends it
after 64*T1 of retransmitting the 200 (RFC 3261 13.3.1.4).
"""

from __future__ import annotations

from appliance.pbx.legs.leg import Leg, Role
from appliance.pbx.legs.machine import ENDED_ROWS, LegEvent, LegState, Table

S, E = LegState, LegEvent

CALLER_TABLE: Table = {
    S.INVITED: {
        E.ANSWER: S.ANSWERED,
        E.CANCEL: S.ENDED,  # answered 487 Request Terminated
        E.HANG_UP: S.ENDED,  # call control let it go: a final refusal (486, 404, 503 ...)
        E.LOST: S.ENDED,  # no RTP while in early media: a final refusal too
    },
    S.ANSWERED: {
        E.ACK: S.CONFIRMED,
        E.CANCEL: S.ANSWERED,  # CANCEL crossing our 200: too late, the call goes on
        E.PEER_BYE: S.ENDED,  # BYE before the ACK
        E.ACK_TIMEOUT: S.ENDED,  # lost ACK: BYE, and the call ends
        E.HANG_UP: S.ENDED,
        E.LOST: S.ENDED,
    },
    S.CONFIRMED: {
        E.ACK: S.CONFIRMED,  # a retransmitted ACK, or one for a re-INVITE's 2xx
        E.CANCEL: S.CONFIRMED,
        E.PEER_BYE: S.ENDED,
        E.ACK_TIMEOUT: S.ENDED,  # a re-INVITE's 2xx never ACKed
        E.HANG_UP: S.ENDED,
        E.LOST: S.ENDED,
    },
    S.ENDED: ENDED_ROWS,
}


class CallerLeg(Leg, role=Role.CALLER, table=CALLER_TABLE, initial=S.INVITED):
    """A trunk caller's dialog, from its INVITE to its end."""

    __slots__ = ()
