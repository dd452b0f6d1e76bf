"""Call park and pickup on the SIP side: an agent's phone parks its caller by a blind REFER to
the park number (what a phone's Park key does: `transfer.py` hands it here), and any agent's
phone takes a parked call by dialling its slot, or a call ringing at another phone by dialling
a pickup code (the group code, or the directed prefix and that phone's agent).

A parker by REFER hears nothing: our BYE follows the NOTIFY whose sipfrag says "200 Parked
701", the slot's number for the phone to show (a parker by in-call code, whose phone shows
nothing, hears the slot first: `incall.py`). The parked caller hears music (as after a transfer)
until it is picked up or its timeout rings the parker back (call control: `Parking`).

The picking-up phone's INVITE becomes a `PickupLeg`, the agent leg of the call: call control
rings and answers the agent at once, and this part answers the INVITE, with the relay port
that faces the agent when the media is anchored, else with the caller's SDP (the caller then
gets the phone's SDP in a re-INVITE, as after a transfer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from appliance.media import sdp
from appliance.media.relay import AGENT
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.ending import UNAVAILABLE, LegEnding
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import Leg

if TYPE_CHECKING:
    from appliance.config.live import FeatureCodes

NOT_PARKED = (404, "Nothing Parked There")
NOT_RINGING = (404, "Nothing To Pick Up")
FREE = frozenset({"ready", "wrap_up"})  # agent states that may pick up (a wrap-up ends)


@dataclass(frozen=True, slots=True)
class Claim:
    """A phone dialled a number that takes a call: the call (0: none there), and how - from
    park slot `slot`, else from the phones it rings (`directed`: one named agent's)."""

    call: int
    slot: int | None = None
    directed: bool = False


class ParkCalls:
    """Parks by REFER, pickups by INVITE."""

    def __init__(self, dialogs: Dialogs, ending: LegEnding, anchor: MediaAnchor | None,
                 cc: CallControl) -> None:
        self.dialogs, self.ending, self.anchor, self.cc = dialogs, ending, anchor, cc
        self.legs = dialogs.legs
        self._picking: set[tuple[int, str]] = set()  # (call, agent): rung by their pickup
        self._group_code, self._directed_prefix = "*8", "**"  # the site's: `apply`

    def park(self, leg: Leg, now: float) -> int | None:
        """Park the call of `leg` (an agent's, in conversation): the slot, or None."""
        return self.cc.agent_park(now, leg.agent)

    def apply(self, codes: FeatureCodes) -> None:
        self._group_code, self._directed_prefix = codes.pickup, codes.directed_pickup

    def claim(self, number: str, agent: str) -> Claim | None:
        """What `agent` dialling `number` takes; None if `number` is no slot nor pickup code."""
        cc = self.cc
        lot = cc.parking.lot
        if number.isdigit() and lot.holds(int(number)):
            entry = lot.parked(int(number))
            return Claim(0 if entry is None else entry.call, int(number))
        directed = number.startswith(self._directed_prefix) and number != self._directed_prefix
        if number != self._group_code and not directed:
            return None
        target = number[len(self._directed_prefix):] if directed else None
        return Claim(cc.pickup_target(agent, target) or 0, None, directed)

    def refusal(self, claim: Claim, agent: str) -> tuple[int, str] | None:
        """Why `agent` cannot take the call claimed now (nothing there: 404; an agent neither
        ready nor wrapping up: 480)."""
        if not claim.call:
            return NOT_RINGING if claim.slot is None else NOT_PARKED
        status = self.cc.agent_status(agent)
        return None if status is not None and status.state in FREE else UNAVAILABLE

    def pick_up(self, leg: Leg, offer: sdp.Sdp | None, agent: str, claim: Claim,
                now: float) -> None:
        """`leg` (a `PickupLeg`, not answered) dialled for `claim`: it takes the call."""
        call = claim.call
        leg.call, leg.agent = call, agent
        leg.answer_body = leg.invite.body  # what `MediaAnchor.bridge` reads the phone's from
        self.legs.rings[(call, agent)] = leg
        self._picking.add((call, agent))
        if not self._take(agent, claim, now):
            self._picking.discard((call, agent))
            self.ending.hang_up(leg, now, refusal=UNAVAILABLE)
            return
        self.dialogs.answer(leg, self._answer(leg, offer, now), now)

    def _take(self, agent: str, claim: Claim, now: float) -> bool:
        if claim.slot is not None:
            return self.cc.park_pick_up(now, claim.slot, agent) is not None
        return self.cc.agent_pick_up(now, agent, claim.call, claim.directed)

    def rung_by_pickup(self, call: int, agent: str) -> bool:
        """Whether call control's `RingAgent` for `agent` is their own pickup (no ring)."""
        if (call, agent) not in self._picking:
            return False
        self._picking.discard((call, agent))
        return True

    def _answer(self, leg: Leg, offer: sdp.Sdp | None, now: float) -> bytes:
        caller = self.legs.callers[leg.call]
        anchor = self.anchor
        if anchor is None or offer is None:
            return caller.invite.body
        leg.sdp_session = anchor.rng.getrandbits(31)
        port = anchor.media.relay.sessions[leg.call].sides[AGENT].local_port
        # The relay copies bytes: the phone must take the codec the caller's side has.
        codec = "PCMU" if anchor.media.calls[leg.call].payload_type == 0 else "PCMA"
        supported = {codec: 0 if codec == "PCMU" else 8, sdp.TELEPHONE_EVENT: None}
        return bytes(sdp.answer(offer, anchor.media_host, port, supported,
                                session_id=leg.sdp_session))
