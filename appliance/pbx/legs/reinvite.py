"""A re-INVITE (hold, resume, a new offer) relayed from one leg of a call to the other: from
the moment we pass it on until the party that sent it has its answer.

Its race, one row below: the sender's BYE while its re-INVITE is being relayed ends the relay,
and the re-INVITE is answered 487 Request Terminated (RFC 3261 15.1.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from appliance.pbx.legs.leg import Leg
from appliance.pbx.legs.machine import next_state
from appliance.pbx.sip.layer import Key
from appliance.pbx.sip.message import Request


class RelayState(Enum):
    RELAYING = "relaying"  # ours is out to the other party
    ANSWERED = "answered"  # the other party took the offer: its answer goes back, anchored
    REFUSED = "refused"  # it refused (or never answered: 408): so is the sender's
    TERMINATED = "terminated"  # the sender's dialog ended first: 487


class RelayEvent(Enum):
    ANSWER = "answer"  # a 2xx to the re-INVITE we relayed
    REFUSAL = "refusal"  # a final response >= 300 to it
    NO_RESPONSE = "no_response"  # our re-INVITE timed out
    SENDER_ENDED = "sender_ended"  # the sender hung up (its BYE) or was lost


R, V = RelayState, RelayEvent

RELAY_TABLE: Mapping[RelayState, Mapping[RelayEvent, RelayState]] = {
    R.RELAYING: {
        V.ANSWER: R.ANSWERED,
        V.REFUSAL: R.REFUSED,
        V.NO_RESPONSE: R.REFUSED,
        V.SENDER_ENDED: R.TERMINATED,  # BYE during re-INVITE
    },
}


class Relay:
    """One relayed re-INVITE: who sent it (`sender`), what it was, the key of ours that
    relays it (`key`), and how far it got."""

    __slots__ = ("key", "request", "sender", "state")

    def __init__(self, sender: Leg, request: Request, key: Key) -> None:
        self.sender = sender
        self.request = request
        self.key = key
        self.state = RelayState.RELAYING

    def fire(self, event: RelayEvent) -> RelayState:
        """Move on by `event`: the state it leads to. Raises `LegStateError` if the table
        does not allow it (a relay is over once it has left RELAYING)."""
        self.state = next_state(RELAY_TABLE, self.state, event)
        return self.state
