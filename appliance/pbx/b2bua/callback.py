"""The B2BUA's side of callbacks keeping the caller's place (`appliance.pbx.acd.callback`):
what call control's callback actions become on the wire and in the media.

- `OfferCallback`: the waiting caller hears "callback-offer" and the key, then the music
  again. Without a media plane (SIP-fidelity simulation) the caller, still unanswered, is
  answered as an IVR caller is (`IvrCalls.answer`): their keys need a confirmed dialog, and
  the agent who answers later reaches them by re-INVITE.
- `ReleaseCaller`: the caller hears "callback-booked" and is sent a BYE. From then on their
  leg is one of the B2BUA's own calls (their hanging up first ends nothing of call
  control's); the call's media closes with it.
- `PlaceCallback`: an outside call (`outside.py`, purpose "callback") to the number through
  the trunk group's route out, on the channel call control seized for it, logged as
  `CallbackDialled` beside the call. Answered, its leg becomes the call's caller leg (a
  `CustomerLeg`): media anchored on the call's caller side, bridged to the agent on
  `Connect`, recorded and ended as an inbound caller's; call control hears
  `callback_answered`. Refused or not answered by the route's ring timeout: `callback_failed`.
- `CancelCallback`: the outside call is given up (CANCEL). `ReleaseAgent`: the agent who
  waited on the line for a customer who was not reached is sent a BYE.

An agent rung for a callback before its customer is on the line (agent first) is offered the
call's media, opened for it with the codec the customer will be offered (G.711 mu-law).
Without a media plane that offer is a placeholder on the discard port, and the customer is
offered the agent's answer; the agent is not re-INVITEd with the customer's SDP (the
SIP-fidelity simulation does not carry callbacks yet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.eventlog import EventLog
from appliance.events import CallbackDialled, new
from appliance.media import sdp
from appliance.media.speech import say
from appliance.pbx.acd.callback import unserved
from appliance.pbx.actions import PlaceCallback
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.ending import LegEnding
from appliance.pbx.b2bua.internal import InternalCalls, NothingRung
from appliance.pbx.b2bua.ivr import DISCARD_PORT, IvrCalls
from appliance.pbx.b2bua.outside import OutsideCall, OutsideCalls
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.dialplan import RouteOut, route_through
from appliance.pbx.legs import CustomerLeg, Leg

if TYPE_CHECKING:
    from appliance.clock import TimerHandle
    from appliance.config import Site

PURPOSE = "callback"  # `OutsideCallStarted.purpose` of a callback's outside call
BOOKED = ("callback-booked",)


class Goodbye:
    """A caller who booked a callback, hearing "callback-booked" before our BYE."""

    __slots__ = ("call", "leg", "timer")

    def __init__(self, call: int, leg: Leg) -> None:
        self.call, self.leg = call, leg  # call control's call; the leg has an id of ours
        self.timer: TimerHandle | None = None


class CallbackCalls(NothingRung):
    """Callers saying goodbye, customers being called, and those answered, by call id."""

    def __init__(self, dialogs: Dialogs, ending: LegEnding, outside: OutsideCalls,
                 anchor: MediaAnchor | None, cc: CallControl, internal: InternalCalls,
                 ivr: IvrCalls, log: EventLog) -> None:
        self.dialogs, self.ending, self.outside = dialogs, ending, outside
        self.anchor, self.cc, self.internal, self.ivr, self.log = anchor, cc, internal, ivr, log
        self.legs = dialogs.legs
        self.goodbyes: dict[int, Goodbye] = {}  # by call control's call
        self.dialling: dict[int, OutsideCall] = {}  # by call control's call
        self.calls_of: dict[int, int] = {}  # call control's call, by its outside call's id
        self.customers: dict[int, OutsideCall] = {}  # answered, by call control's call

    def apply(self, site: Site) -> None:
        self.groups = {group.name: group for group in site.trunk_groups}

    # --- the waiting caller ----------------------------------------------------------------

    def offer(self, call: int, key: str, now: float) -> None:
        """`OfferCallback`: the offer and the key, over the music (which resumes after)."""
        if self.anchor is None:
            self.ivr.answer(call, now)
        else:
            language = self.ivr.language(call)
            names = ["callback-offer", *say(key, "digits", language)]
            self.anchor.media.play(call, names, now, language)

    def release(self, call: int, now: float) -> None:
        """`ReleaseCaller`: goodbye, then our BYE; the leg is no longer the call's."""
        leg = self.legs.callers.pop(call, None)
        if leg is None:
            return
        leg.call = self.internal.open(self)
        goodbye = self.goodbyes[call] = Goodbye(call, leg)
        if self.anchor is None:
            self._end_goodbye(goodbye, now)
            return
        language = self.ivr.language(call)
        media = self.anchor.media
        media.silence(call)
        media.play(call, BOOKED, now, language)
        goodbye.timer = self.dialogs.deadlines.schedule(
            now + self.cc.prompt_seconds(BOOKED, language), self._said, goodbye)

    def _said(self, now: float, goodbye: Goodbye) -> None:
        goodbye.timer = None
        self._end_goodbye(goodbye, now)

    def _end_goodbye(self, goodbye: Goodbye, now: float) -> None:
        """The goodbye is over (or cut short: the call needs its media for the callback)."""
        if self.goodbyes.get(goodbye.call) is not goodbye:
            return
        del self.goodbyes[goodbye.call]
        if goodbye.timer is not None:
            goodbye.timer.cancel()
        self.internal.close(goodbye.leg.call)
        self.ending.hang_up(goodbye.leg, now)
        if self.anchor is not None:
            self.anchor.media.close(goodbye.call, now)

    # --- the released caller's leg (`InternalParty`, routed by `InternalCalls`) ----------------

    def leg_ended(self, leg: Leg, now: float) -> None:
        """The caller hung up during the goodbye."""
        goodbye = next((g for g in self.goodbyes.values() if g.leg is leg), None)
        if goodbye is not None:
            self._end_goodbye(goodbye, now)

    # --- calling the customer -----------------------------------------------------------------

    def agent_offer(self, call: int, leg: Leg, now: float) -> bytes:
        """Our offer to an agent rung for `call` before its customer is on the line."""
        if self.anchor is None:
            return self._placeholder(leg)
        self._cut_goodbye(call, now)
        self.anchor.open_callback(call, now)
        return self.anchor.agent_offer(call, leg)

    def place(self, action: PlaceCallback, now: float) -> None:
        """`PlaceCallback`: call the customer through the trunk group's route out."""
        route = self._route(action)
        if route is None:  # the group has no route out (`ccbox check` says so)
            self.cc.callback_failed(now, action.call)
            return
        self._cut_goodbye(action.call, now)
        if self.anchor is not None:
            self.anchor.open_callback(action.call, now)
        outside_id = self.internal.open(self)
        self.calls_of[outside_id] = action.call
        self.log.append(new(CallbackDialled, (now, action.call, outside_id)))
        placed_by = action.agent or self.cc.calls[action.call].queue
        placed = self.outside.place(outside_id, route, placed_by, PURPOSE, self._offer, self,
                                    now, held=True, leg_type=CustomerLeg)
        if outside_id in self.calls_of:
            self.dialling[action.call] = placed

    def _route(self, action: PlaceCallback) -> RouteOut | None:
        return route_through(self.groups.get(action.trunk_group), action.number)

    def _offer(self, leg: Leg) -> bytes:
        call = self.calls_of[leg.call]
        if self.anchor is None:
            return self._agent_sdp(call) or self._placeholder(leg)
        return self.anchor.customer_offer(call, leg)

    def _agent_sdp(self, call: int) -> bytes:
        """Without media: the SDP of the agent on the line (agent first), if any."""
        agent = self.cc.calls[call].agent
        leg = self.legs.rings.get((call, agent)) if agent else None
        return b"" if leg is None else leg.answer_body

    def cancel(self, call: int, now: float) -> None:
        """`CancelCallback`: give the outside call up."""
        placed = self.dialling.pop(call, None)
        if placed is not None:
            self.calls_of.pop(placed.id, None)
            self.internal.close(placed.id)
            self.outside.hang_up(placed, now)
        self._close_media(call, now)

    def release_agent(self, call: int, agent: str, now: float) -> None:
        """`ReleaseAgent`: the agent who waited for a customer not reached."""
        leg = self.legs.rings.get((call, agent))
        if leg is not None:
            self.ending.hang_up(leg, now)
        self._close_media(call, now)

    # --- the outside call's outcome (`OutsideRequester`) ---------------------------------------

    def outside_answered(self, placed: OutsideCall, now: float) -> bool:
        call = self.calls_of.pop(placed.id, None)
        leg = placed.leg
        self.internal.close(placed.id)
        if call is None or leg is None or self.dialling.pop(call, None) is not placed:
            return False
        anchor = self.anchor
        if anchor is not None and not anchor.customer_answered(call, leg, now):
            self.cc.callback_failed(now, call)
            return False
        self.outside.take_leg(placed)
        self.legs.rings.pop((leg.call, leg.agent), None)
        leg.call = call
        self.legs.callers[call] = leg
        self.customers[call] = placed
        self.dialogs.start_session_timer(leg, now)
        if not self.cc.callback_answered(now, call):
            self.ending.hang_up(leg, now)
        elif anchor is not None and call in self.cc.calls and not self.cc.calls[call].agent:
            anchor.media.play_music(call, now)  # caller first: they wait for an agent
        return True

    def outside_failed(self, placed: OutsideCall, now: float) -> None:
        call = self.calls_of.pop(placed.id, None)
        self.internal.close(placed.id)
        if call is None or self.dialling.pop(call, None) is not placed:
            return
        self.cc.callback_failed(now, call, busy=placed.cause == "busy")
        self._close_media(call, now)

    def outside_ended(self, placed: OutsideCall, now: float) -> None:
        """Not heard: the answered leg is handed over to the call at once (`take_leg`)."""

    def customer_ended(self, leg: Leg, now: float) -> None:
        """The customer's leg (the call's caller leg) has ended: so has its outside call."""
        placed = self.customers.pop(leg.call, None)
        if placed is not None:
            cause = "far_hangup" if leg.call in self.cc.calls else "caller_hangup"
            self.outside.ended(placed, cause, now)

    # --- the box shutting down ------------------------------------------------------------

    def stop(self, now: float) -> None:
        """The box shuts down: every callback no agent has served yet loses its legs (the
        customer called first gets our BYE, the agent on the line or rung for it a BYE or
        CANCEL), call control told nothing. The call stays pending in the records, and the
        next start carries it over without counting the attempt cut off
        (`appliance.records.recovery`). Outside calls still ringing are the B2BUA's to end."""
        for goodbye in list(self.goodbyes.values()):
            self._end_goodbye(goodbye, now)
        for call in [call.id for call in self.cc.calls.values() if unserved(call)]:
            placed = self.customers.pop(call, None)
            if placed is not None:
                self.outside.ended(placed, "caller_hangup", now)
            customer = self.legs.callers.get(call)
            if customer is not None:
                self.ending.hang_up(customer, now)
            self._free_agents(call, now)

    def _free_agents(self, call: int, now: float) -> None:
        for (rung, agent), leg in list(self.legs.rings.items()):
            if rung != call:
                continue
            if leg.dialog is None:
                self.outside.agent_side.stop_ringing(call, agent, now)
            else:
                self.ending.hang_up(leg, now)

    # --- helpers ----------------------------------------------------------------------------

    def _cut_goodbye(self, call: int, now: float) -> None:
        goodbye = self.goodbyes.get(call)
        if goodbye is not None:
            self._end_goodbye(goodbye, now)

    def _close_media(self, call: int, now: float) -> None:
        """The attempt is over without a customer: the call's media waits for the next one
        closed (no ports held meanwhile)."""
        if self.anchor is not None and call not in self.legs.callers:
            self.anchor.media.close(call, now)

    def _placeholder(self, leg: Leg) -> bytes:
        return placeholder_offer(self.dialogs, leg)


def placeholder_offer(dialogs: Dialogs, leg: Leg) -> bytes:
    """An SDP offer for `leg` on the discard port, for a B2BUA without a media plane: nothing
    to hear until the other party is on the line."""
    leg.sdp_session = session = dialogs.rng.getrandbits(31)
    return _discard_offer(dialogs.here.address[0], session)


def _discard_offer(host: str, session: int) -> bytes:
    offer = sdp.Sdp(
        origin=sdp.Origin("ccbox", session, 0, host, "IN", "IP4"), session_name="-",
        connection=sdp.Connection(host, "IN", "IP4"),
        media=(sdp.Media("audio", DISCARD_PORT, "RTP/AVP", ("0",),
                         attributes=(sdp.Attribute("rtpmap", "0 PCMU/8000"),
                                     sdp.Attribute("sendrecv"))),))
    return bytes(offer)
