"""A phone dialling a feature code (login, logout, ready, not ready): answered at once with an
SDP answer that declines every stream, and hung up by us as soon as the ACK comes."""

from __future__ import annotations

from appliance.pbx.legs.leg import Leg, Role
from appliance.pbx.legs.machine import ENDED_ROWS, LegEvent, LegState, Table

S, E = LegState, LegEvent

FEATURE_TABLE: Table = {
    S.INVITED: {E.ANSWER: S.ANSWERED},
    S.ANSWERED: {
        E.ACK: S.CONFIRMED,  # then we send the BYE
        E.PEER_BYE: S.ENDED,  # the phone hung up before its ACK
        E.ACK_TIMEOUT: S.ENDED,
        E.HANG_UP: S.ENDED,  # the appliance shuts down
        E.CANCEL: S.ANSWERED,  # crossed our 200: too late
    },
    S.CONFIRMED: {
        E.HANG_UP: S.ENDED,
        E.PEER_BYE: S.ENDED,
        E.CANCEL: S.CONFIRMED,
    },
    S.ENDED: ENDED_ROWS,
}


class FeatureLeg(Leg, role=Role.FEATURE, table=FEATURE_TABLE, initial=S.INVITED):
    """A feature-code call: it lives from its INVITE until our BYE after the ACK."""

    __slots__ = ()
