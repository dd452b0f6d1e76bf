"""What every leg's state machine is made of: the states a SIP leg can be in, the events that
move it, and the table lookup that refuses an event its role's table does not allow.

Everything that decides a leg's next state lives in the role tables (`trunk.py`, `agent.py`,
`feature.py`) and in those of its re-INVITEs (`offer.py`, `reinvite.py`); the B2BUA carries
out what a transition means (send a BYE, tell call control).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar


class LegState(Enum):
    INVITED = "invited"  # the peer's INVITE is in; no final answer sent yet
    ANSWERED = "answered"  # our 2xx to the dialog-creating INVITE is out; no ACK yet
    CALLING = "calling"  # our INVITE is out; nothing heard
    PROCEEDING = "proceeding"  # a 1xx to our INVITE came: a CANCEL may be sent (RFC 3261 9.1)
    CANCEL_PENDING = "cancel_pending"  # given up before any 1xx: CANCEL goes with the first
    CANCELLING = "cancelling"  # our CANCEL is out; waiting for the INVITE's final response
    CONFIRMED = "confirmed"  # the dialog is up (ACK received, or our ACK sent)
    ENDED = "ended"


class LegEvent(Enum):
    ANSWER = "answer"  # we answer the peer's INVITE with a 2xx
    ACK = "ack"  # the peer ACKs a 2xx of ours
    CANCEL = "cancel"  # the peer CANCELs its INVITE
    PROVISIONAL = "provisional"  # a 1xx to our INVITE
    PEER_ANSWER = "peer_answer"  # a 2xx to our INVITE
    PEER_REFUSAL = "peer_refusal"  # a final response >= 300 to our INVITE
    NO_RESPONSE = "no_response"  # Timer B: our INVITE had no final response
    CHALLENGED = "challenged"  # a 401/407 to our INVITE: it goes again with credentials
    STOP = "stop"  # call control gives up ringing this leg
    CANCEL_UNANSWERED = "cancel_unanswered"  # 64*T1 after our CANCEL, still no final response
    PEER_BYE = "peer_bye"
    ACK_TIMEOUT = "ack_timeout"  # 64*T1 of retransmitting our 2xx, and no ACK
    LOST = "lost"  # the peer is gone: session expired, refresh failed or no RTP
    HANG_UP = "hang_up"  # we end the leg (BYE, or a final refusal before the answer)


Table = Mapping[LegState, Mapping[LegEvent, LegState]]
S = TypeVar("S", bound=Enum)
E = TypeVar("E", bound=Enum)
T = TypeVar("T")


class LegStateError(Exception):
    """An event the leg's table does not allow in its state: a peer's message out of order,
    or a bug in what drives the leg. The leg's state is left as it was."""


def next_state(table: Mapping[S, Mapping[E, T]], state: S, event: E) -> T:
    """What `table` says `event` does in `state` (the next state, for most tables); raises
    `LegStateError` if not allowed."""
    try:
        return table[state][event]
    except KeyError:
        raise LegStateError(f"{event.name} is not allowed in {state.name}") from None


# Every role ends the same way: once ENDED, our own late decisions to end it change nothing.
ENDED_ROWS: Mapping[LegEvent, LegState] = {
    LegEvent.HANG_UP: LegState.ENDED,
    LegEvent.LOST: LegState.ENDED,
    LegEvent.ACK_TIMEOUT: LegState.ENDED,
    LegEvent.STOP: LegState.ENDED,
}
