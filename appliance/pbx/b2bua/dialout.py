"""A phone dials an outside number: the route's prefix and the number (`dialplan.py`). The
phone may dial it (else 403), a channel of the route's trunk group is seized and the number
is called through the route's gateway (`outside.py`); the phone hears ringing, and is bridged
to the far end once it answers (media anchored when there is a media plane, and recorded if
the site records: an outside call is a customer call). The far end's refusal reaches the
phone: its own status (486 busy, 404 ...), 480 when it never answered within the route's
ring timeout, 503 when every channel is busy, 504 when the gateway said nothing.

Like a call between phones (`extensions.py`), the call is the B2BUA's, not call control's:
the dialling phone's leg is a caller leg with the call's id, and an agent who dials out is
paused for the ACD (`internal_call`) until the call ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.media import sdp
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.ending import UNAVAILABLE, LegEnding
from appliance.pbx.b2bua.internal import InternalCalls, NothingRung
from appliance.pbx.b2bua.outside import OutsideCall, OutsideCalls
from appliance.pbx.b2bua.pauses import InternalPauses
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.dialplan import RouteOut, may_dial, route_out
from appliance.pbx.legs import Leg

if TYPE_CHECKING:
    from appliance.config import Site

FORBIDDEN = (403, "Forbidden")
# What the phone hears when the outside call is not answered, by `OutsideCall.cause`; a
# refusal by the far end passes its own status when it has one here.
_FAR_REFUSALS = {
    486: "Busy Here", 600: "Busy Everywhere", 404: "Not Found", 484: "Address Incomplete",
    604: "Does Not Exist Anywhere", 403: "Forbidden", 603: "Decline", 480: UNAVAILABLE[1],
    408: "Request Timeout", 410: "Gone", 488: "Not Acceptable Here", 500: "Server Internal Error",
    502: "Bad Gateway", 503: "Service Unavailable",
}
_CAUSE_REFUSALS = {"no_channel": (503, "Service Unavailable"), "no_answer": UNAVAILABLE}
_NO_ANSWER_AT_ALL = (504, "Server Time-out")


class DialOut(NothingRung):
    """Phones' calls to outside numbers in progress, by call id (the phone's leg)."""

    def __init__(self, dialogs: Dialogs, ending: LegEnding, outside: OutsideCalls,
                 anchor: MediaAnchor | None, cc: CallControl, internal: InternalCalls,
                 pauses: InternalPauses) -> None:
        self.dialogs, self.ending, self.outside, self.pauses = dialogs, ending, outside, pauses
        self.anchor, self.cc, self.internal = anchor, cc, internal
        self.legs = dialogs.legs
        self.phone_legs: dict[int, Leg] = {}
        self.calls: dict[int, OutsideCall] = {}
        self.paused: dict[int, str] = {}  # the agent paused for each call

    def apply(self, site: Site) -> None:
        self.groups = site.trunk_groups
        self.permissions = {phone.user: phone.dial for phone in site.sip.phones}
        self.plan = site.sip.dial_plan

    def route(self, dialled: str) -> RouteOut | None:
        """The route out `dialled` takes, None if it is no outside number."""
        return route_out(dialled, self.groups)

    def permits(self, user: str, route: RouteOut) -> bool:
        """Whether phone `user` may dial `route.number`."""
        return may_dial(self.permissions.get(user, "internal"), route.number, self.plan)

    def refusal(self, user: str, route: RouteOut, now: float) -> tuple[int, str] | None:
        """403 if phone `user` may not dial `route.number` (the attempt is recorded, cause
        `barred`); None if it may."""
        if self.permits(user, route):
            return None
        call = self.internal.open(self)
        self.internal.close(call)
        self.outside.barred(call, route, user, "dialled", now)
        return FORBIDDEN

    def start(self, leg: Leg, offer: sdp.Sdp | None, user: str, route: RouteOut,
              now: float) -> None:
        """Call `route` for the phone of `leg` (an unanswered caller leg, `refusal` None)."""
        call = leg.call = self.internal.open(self)
        self.legs.callers[call] = leg
        if self.anchor is not None and offer is not None:
            leg.sent_body = self.anchor.caller_answer(leg, offer, False, now)
        self.dialogs.answers.respond(leg.invite, 180, "Ringing", now, tag=leg.local_tag)
        paused = self.pauses.pause(user, now)
        self._place(leg, user if paused else None, user, route, "dialled", now)

    def take_over(self, leg: Leg, paused: str | None, placed_by: str, route: RouteOut,
                  now: float) -> None:
        """Carry on the call of `leg` (a phone's unanswered caller leg, told it rings, its
        media answered) as a call to `route`, placed by `placed_by` (a call forwarded out);
        `paused`: the agent already paused for the call, now ended with it."""
        self.internal.hand_over(leg.call, self)
        self._place(leg, paused, placed_by, route, "forwarded", now)

    def _place(self, leg: Leg, paused: str | None, placed_by: str, route: RouteOut,
               purpose: str, now: float) -> None:
        call = leg.call
        self.phone_legs[call] = leg
        if paused is not None:
            self.paused[call] = paused
        placed = self.outside.place(call, route, placed_by, purpose, self._offer, self, now)
        if call in self.phone_legs:  # not refused at once (every channel busy)
            self.calls[call] = placed

    def _offer(self, outside_leg: Leg) -> bytes:
        phone = self.phone_legs[outside_leg.call]
        if self.anchor is None:
            return phone.invite.body
        return self.anchor.agent_offer(outside_leg.call, outside_leg)

    # --- the outside call's outcome (`OutsideRequester`) ---------------------------------------

    def outside_answered(self, call: OutsideCall, now: float) -> bool:
        phone, far = self.phone_legs.get(call.id), call.leg
        if phone is None or phone.ended or far is None:
            return False
        phone.partner, far.partner = far, phone
        if self.anchor is None:
            self.dialogs.answer(phone, far.answer_body, now)
        else:
            self.dialogs.answer(phone, phone.sent_body, now)
            self.anchor.bridge(call.id, far, now)
        self.dialogs.start_session_timer(phone, now)
        self.dialogs.start_session_timer(far, now)
        return True

    def outside_failed(self, call: OutsideCall, now: float) -> None:
        phone = self.phone_legs.get(call.id)
        if phone is not None:
            self.ending.hang_up(phone, now, refusal=_refusal_of(call))
        self._close(call.id, now)

    def outside_ended(self, call: OutsideCall, now: float) -> None:
        phone = self.phone_legs.get(call.id)
        if phone is not None:
            self.ending.hang_up(phone, now)
        self._close(call.id, now)

    # --- the phone's side (`InternalParty`, routed by `InternalCalls`) -----------------------

    def leg_ended(self, leg: Leg, now: float) -> None:
        """The phone hung up (BYE, CANCEL, found gone, shutdown): the far end is let go."""
        call = self.calls.get(leg.call)
        if call is not None and self.phone_legs.get(leg.call) is leg:
            self.outside.hang_up(call, now)
            self._close(call.id, now)

    # --- helpers --------------------------------------------------------------------------------

    def _close(self, call: int, now: float) -> None:
        self.phone_legs.pop(call, None)
        self.calls.pop(call, None)
        self.internal.close(call)
        agent = self.paused.pop(call, None)
        if agent is not None:
            self.pauses.give_back(agent, now)


def _refusal_of(call: OutsideCall) -> tuple[int, str]:
    """What the phone hears for an outside call that was not answered."""
    refusal = _CAUSE_REFUSALS.get(call.cause)
    if refusal is not None:
        return refusal
    reason = _FAR_REFUSALS.get(call.status)
    if reason is not None:
        return call.status, reason
    return _NO_ANSWER_AT_ALL if call.status == 0 else (502, "Bad Gateway")
