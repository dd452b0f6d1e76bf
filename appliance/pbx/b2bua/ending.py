"""How a leg ends, whoever ends it: our BYE (or a final refusal before the answer), the
peer's BYE, or the peer found gone; the leg leaves every index and its timers, media and
pending re-INVITEs are let go, and call control hears what it must."""

from __future__ import annotations

from collections.abc import Callable

from appliance.pbx.acd.callback import pending
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.answers import Answers
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.legbook import LegBook
from appliance.pbx.b2bua.relay import ReinviteRelay
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import CustomerLeg, Leg, LegEvent, LegState, Role

UNAVAILABLE = (480, "Temporarily Unavailable")


class LegEnding:
    """Ends legs; each end is an event of the leg's table (`Leg.fire`)."""

    def __init__(self, legs: LegBook, dialogs: Dialogs, answers: Answers,
                 relay: ReinviteRelay, anchor: MediaAnchor | None, cc: CallControl) -> None:
        self.legs = legs
        self.dialogs = dialogs
        self.answers = answers
        self.relay = relay
        self.anchor = anchor
        self.cc = cc
        # Where a leg of one of the B2BUA's own calls goes when its peer leaves (`internal.py`).
        self.internal_ended: Callable[[Leg, float], None] | None = None
        # Told when a customer called back, the caller of call control's call, has left.
        self.customer_ended: Callable[[Leg, float], None] = lambda leg, now: None
        # Told when a caller's leg has ended (call, now): the gateway port it came on is free.
        self.caller_ended: Callable[[int, float], None] = lambda call, now: None
        # Told when an agent's leg has ended: the seat's gateway port it rang is free.
        self.agent_ended: Callable[[Leg, float], None] = lambda leg, now: None
        # Told when an agent's phone hangs up a call: True if that completed a consultation
        # (`consultation.py`), which call control is not to hear of as a hang-up.
        self.agent_hung_up: Callable[[Leg, float], bool] = lambda leg, now: False
        # Whether a leg's call is one of the B2BUA's own, or one a part of it took over.
        self.owned: Callable[[int], bool] = lambda call: call < 0
        # Seconds the party of a leg we end hears a last word before our BYE (a parker told
        # the slot, `incall.py`); it starts playing when asked.
        self.farewell: Callable[[Leg, float], float] = lambda leg, now: 0.0

    def hang_up(self, leg: Leg, now: float, event: LegEvent = LegEvent.HANG_UP,
                refusal: tuple[int, str] = UNAVAILABLE) -> bool:
        """End `leg` on our side: a BYE, or `refusal` to an INVITE not answered yet. False if
        it had ended already."""
        before = leg.fire(event)
        if before is LegState.ENDED:
            return False
        if before is LegState.INVITED:
            # A final answer that ends the call: it waits for the call's end to be durable.
            self.answers.respond_once_durable(leg.invite, *refusal, now, tag=leg.local_tag)
            self.forget(leg, now)
        else:
            self.close(leg, now)
        return True

    def lost(self, leg: Leg, event: LegEvent, now: float) -> None:
        """The peer of `leg` is gone (`event`: no ACK, no refresh, no RTP): end the call as if
        it hung up."""
        if leg.ended:
            return
        completed = leg.partner is not None and self._completes(leg, now)
        self.hang_up(leg, now, event)
        if completed or self._internal(leg, now):
            return
        if leg.role is Role.CALLER:
            self.cc.caller_hangup(now, leg.call)
        elif leg.role is Role.AGENT:
            self.cc.agent_hangup(now, leg.agent)

    def peer_hung_up(self, leg: Leg, now: float) -> None:
        leg.fire(LegEvent.PEER_BYE)
        connected = leg.partner is not None
        # Asked before the leg is taken apart: completing a consultation hands on the
        # caller it still points at.
        completed = connected and self._completes(leg, now)
        self.forget(leg, now)
        if completed or self._internal(leg, now):
            return
        if leg.role is Role.CALLER:
            self.cc.caller_hangup(now, leg.call)
        elif leg.role is Role.AGENT and (connected or self._awaits_customer(leg)):
            self.cc.agent_hangup(now, leg.agent)

    def _completes(self, leg: Leg, now: float) -> bool:
        """Whether `leg`, an agent's phone gone from its caller's call, completed a
        consultation (call control is not to hear of it as a hang-up)."""
        internal = self.internal_ended is not None and self.owned(leg.call)
        return leg.role is Role.AGENT and not internal and self.agent_hung_up(leg, now)

    def _awaits_customer(self, leg: Leg) -> bool:
        """Whether `leg` is the agent on the line while a callback calls the customer."""
        call = self.cc.calls.get(leg.call)
        return call is not None and call.agent == leg.agent and pending(call)

    def _internal(self, leg: Leg, now: float) -> bool:
        """Whether `leg` belongs to one of the B2BUA's own calls (told of its end)."""
        if self.internal_ended is None or not self.owned(leg.call):
            return False
        self.internal_ended(leg, now)
        return True

    def close(self, leg: Leg, now: float) -> None:
        """BYE the dialog of an ended `leg` (if it has one), and forget the leg."""
        if leg.dialog is not None:
            self.dialogs.bye(leg, now, self.farewell(leg, now))
        self.forget(leg, now)

    def forget(self, leg: Leg, now: float) -> None:
        """`leg` has ended: nothing finds it or keeps it alive any more."""
        self.legs.drop(leg)
        if isinstance(leg, CustomerLeg) and leg.call > 0:
            self.customer_ended(leg, now)
        if leg.role is Role.CALLER and leg.call > 0:
            self.caller_ended(leg.call, now)  # a gateway port it held is released
        elif leg.role is Role.AGENT:
            self.agent_ended(leg, now)
        if self.anchor is not None:
            self.anchor.leg_ended(leg, now)
        self.relay.leg_ended(leg, now)
        for timer in (leg.ok_timer, leg.session_timer, leg.cancel_timer):
            if timer is not None:
                timer.cancel()
        leg.ok_timer = leg.session_timer = leg.cancel_timer = None
        # The two legs of a call must not keep each other alive, nor may a caller whose
        # agent left (a transfer) still point at them.
        partner = leg.partner
        if partner is not None and partner.partner is leg:
            partner.partner = None
        leg.partner = None
