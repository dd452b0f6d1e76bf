"""Whose re-INVITE is in progress in a leg's dialog, if any: none, the peer's (its offer is being
relayed to the other leg, or answered here), or ours (an offer we relayed from the other leg,
waiting for the peer's final answer). RFC 3261 14 allows one at a time in a dialog.

Its races, each one row below: the peer's re-INVITE crossing ours (glare) is answered 491
Request Pending (RFC 3261 14.1); a second re-INVITE of the peer's before we answered its first
gets 500 with a Retry-After (14.2); and an offer of the other leg's cannot be relayed to a
dialog where one is in progress: the re-INVITE that brought it gets 491 too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from appliance.pbx.legs.machine import next_state


class OfferState(Enum):
    IDLE = "idle"  # no re-INVITE in progress
    PEER_OFFER = "peer_offer"  # the peer's re-INVITE is in; our final answer is not out yet
    OUR_OFFER = "our_offer"  # our re-INVITE is out; its final answer has not come


class OfferEvent(Enum):
    PEER_REINVITE = "peer_reinvite"  # the peer sends us a re-INVITE
    OUR_REINVITE = "our_reinvite"  # we would send one (relaying the other leg's offer)
    ANSWERED = "answered"  # the re-INVITE in progress has its final answer (or none will come)


@dataclass(frozen=True)
class Refusal:
    """A row that refuses the re-INVITE: the leg's state stays as it was, and the re-INVITE
    (the peer's, or the other leg's we would relay) is answered `status` with `headers`."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = ()


GLARE = Refusal(491, "Request Pending")
# RFC 3261 14.2 asks for a random Retry-After of 0-10 s; one party's own second re-INVITE is
# no race with another party, so a fixed second does.
STILL_ANSWERING = Refusal(500, "Server Internal Error", (("Retry-After", "1"),))

Step = OfferState | Refusal
OS, OE = OfferState, OfferEvent

OFFER_TABLE: Mapping[OfferState, Mapping[OfferEvent, Step]] = {
    OS.IDLE: {
        OE.PEER_REINVITE: OS.PEER_OFFER,
        OE.OUR_REINVITE: OS.OUR_OFFER,
    },
    OS.PEER_OFFER: {
        OE.PEER_REINVITE: STILL_ANSWERING,
        OE.OUR_REINVITE: GLARE,  # the peer's offer is in: the other leg's must wait
        OE.ANSWERED: OS.IDLE,
    },
    OS.OUR_OFFER: {
        OE.PEER_REINVITE: GLARE,  # re-INVITEs crossing: ours is out, the peer's gets 491
        OE.OUR_REINVITE: GLARE,
        OE.ANSWERED: OS.IDLE,
    },
}


def over(state: OfferState) -> OfferState:
    """`state` once the re-INVITE in progress has its final answer (or none will come)."""
    after = next_offer(state, OfferEvent.ANSWERED)
    assert isinstance(after, OfferState)  # the table refuses no final answer
    return after


def next_offer(state: OfferState, event: OfferEvent) -> Step:
    """Where `event` takes a leg whose re-INVITE exchange is in `state`, or the `Refusal` the
    re-INVITE gets instead. Raises `LegStateError` if the table does not allow `event`."""
    return next_state(OFFER_TABLE, state, event)
