"""The agent phone's leg: the appliance rings an agent's phone, as its UAC.

Its races, each one row below: call control may stop the ring before the phone said anything
(the CANCEL waits for the first 1xx, RFC 3261 9.1); a 200 that crosses our CANCEL is ACKed and
BYE'd at once; a refusal (486, 487 ...) after our CANCEL is no decline for the ACD; a CANCEL no
final response follows is given up after 64*T1.
"""

from __future__ import annotations

from appliance.pbx.legs.leg import Leg, Role
from appliance.pbx.legs.machine import ENDED_ROWS, LegEvent, LegState, Table

S, E = LegState, LegEvent

AGENT_TABLE: Table = {
    S.CALLING: {
        E.PROVISIONAL: S.PROCEEDING,
        E.STOP: S.CANCEL_PENDING,
        E.PEER_ANSWER: S.CONFIRMED,
        E.PEER_REFUSAL: S.ENDED,  # a decline for the ACD
        E.NO_RESPONSE: S.ENDED,  # unreachable
    },
    S.PROCEEDING: {
        E.PROVISIONAL: S.PROCEEDING,
        E.STOP: S.CANCELLING,  # CANCEL sent
        E.PEER_ANSWER: S.CONFIRMED,
        E.PEER_REFUSAL: S.ENDED,
        E.NO_RESPONSE: S.ENDED,
    },
    S.CANCEL_PENDING: {
        E.PROVISIONAL: S.CANCELLING,  # now the CANCEL may go
        E.STOP: S.CANCEL_PENDING,
        E.PEER_ANSWER: S.ENDED,  # 200 before any 1xx, after we gave up: ACK and BYE
        E.PEER_REFUSAL: S.ENDED,
        E.NO_RESPONSE: S.ENDED,
    },
    S.CANCELLING: {
        E.PROVISIONAL: S.CANCELLING,
        E.STOP: S.CANCELLING,
        E.PEER_ANSWER: S.ENDED,  # CANCEL crossing the phone's 200: ACK and BYE
        E.PEER_REFUSAL: S.ENDED,  # 487 (or a 486 sent before our CANCEL came): no decline
        E.NO_RESPONSE: S.ENDED,
        E.CANCEL_UNANSWERED: S.ENDED,
    },
    S.CONFIRMED: {
        E.ACK: S.CONFIRMED,  # for our 2xx to the phone's re-INVITE
        E.PEER_BYE: S.ENDED,
        E.ACK_TIMEOUT: S.ENDED,
        E.HANG_UP: S.ENDED,  # the caller left, or call control refused the answer
        E.LOST: S.ENDED,
    },
    S.ENDED: ENDED_ROWS,
}

# Where call control has given this ring up: only the phone's final response is awaited.
GIVEN_UP = frozenset({S.CANCEL_PENDING, S.CANCELLING})


class AgentLeg(Leg, role=Role.AGENT, table=AGENT_TABLE, initial=S.CALLING):
    """Our INVITE to an agent's phone and, once answered, the dialog with it."""

    __slots__ = ()
