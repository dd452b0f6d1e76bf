"""Call park on the SIP side: an agent's phone parks its caller by a blind REFER to the park
number (what a phone's Park key does: `transfer.py` hands it here), and any phone takes a
parked call by dialling its slot.

The parker hears nothing: our BYE follows the NOTIFY whose sipfrag says "200 Parked 701",
the slot's number for the phone to show. The parked caller hears music (as after a transfer)
until it is picked up or its timeout rings the parker back (call control: `Parking`).

The picking-up phone's INVITE becomes a `PickupLeg`, the agent leg of the call: call control
rings and answers the agent at once, and this part answers the INVITE, with the relay port
that faces the agent when the media is anchored, else with the caller's SDP (the caller then
gets the phone's SDP in a re-INVITE, as after a transfer).
"""

from __future__ import annotations

from appliance.media import sdp
from appliance.media.relay import AGENT
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.ending import UNAVAILABLE, LegEnding
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import Leg

NOT_PARKED = (404, "Nothing Parked There")


class ParkCalls:
    """Parks by REFER, pickups by INVITE."""

    def __init__(self, dialogs: Dialogs, ending: LegEnding, anchor: MediaAnchor | None,
                 cc: CallControl) -> None:
        self.dialogs, self.ending, self.anchor, self.cc = dialogs, ending, anchor, cc
        self.legs = dialogs.legs
        self._picking: set[tuple[int, str]] = set()  # (call, agent): rung by their pickup

    def park(self, leg: Leg, now: float) -> int | None:
        """Park the call of `leg` (an agent's, in conversation): the slot, or None."""
        return self.cc.agent_park(now, leg.agent)

    def slot(self, number: str) -> int | None:
        """The park slot `number` is (parked in or not), or None."""
        lot = self.cc.parking.lot
        return int(number) if number.isdigit() and lot.holds(int(number)) else None

    def refusal(self, slot: int, agent: str) -> tuple[int, str] | None:
        """Why `agent` cannot take `slot` now (nothing there: 404; not a ready agent: 480)."""
        if self.cc.parking.lot.parked(slot) is None:
            return NOT_PARKED
        status = self.cc.agent_status(agent)
        return None if status is not None and status.state == "ready" else UNAVAILABLE

    def pick_up(self, leg: Leg, offer: sdp.Sdp | None, agent: str, slot: int,
                now: float) -> None:
        """`leg` (a `PickupLeg`, not answered) dialled `slot`: it takes the parked call."""
        entry = self.cc.parking.lot.parked(slot)
        if entry is None:
            self.ending.hang_up(leg, now, refusal=NOT_PARKED)
            return
        leg.call, leg.agent = entry.call, agent
        leg.answer_body = leg.invite.body  # what `MediaAnchor.bridge` reads the phone's from
        self.legs.rings[(entry.call, agent)] = leg
        self._picking.add((entry.call, agent))
        if self.cc.park_pick_up(now, slot, agent) is None:
            self._picking.discard((entry.call, agent))
            self.ending.hang_up(leg, now, refusal=UNAVAILABLE)
            return
        self.dialogs.answer(leg, self._answer(leg, offer, now), now)

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
