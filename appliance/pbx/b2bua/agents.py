"""The B2BUA's side towards agents' phones: ringing them (our INVITE), giving a ring up (our
CANCEL, RFC 3261 9.1), and what the phones answer to our INVITEs. Each answer moves the agent
leg along its table (`appliance.pbx.legs.agent`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from appliance.net import Address
from appliance.pbx.acd.core import (
    REASON_BUSY,
    REASON_DECLINED,
    REASON_UNAVAILABLE,
    REASON_UNREACHABLE,
)
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.ending import LegEnding
from appliance.pbx.b2bua.internal import InternalCalls
from appliance.pbx.b2bua.phones import Phones
from appliance.pbx.b2bua.screenpop import screen_pop_headers
from appliance.pbx.b2bua.session import parse_session_expires
from appliance.pbx.b2bua.wire import ALLOW, URI_USER, allowed, user_of
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import AgentLeg, CustomerLeg, Leg, LegEvent, LegState
from appliance.pbx.legs.agent import GIVEN_UP
from appliance.pbx.sip.credentials import CHALLENGES
from appliance.pbx.sip.dialog import Dialog, new_branch, new_tag
from appliance.pbx.sip.headers import Headers
from appliance.pbx.sip.layer import Key
from appliance.pbx.sip.message import Request, Response, SipError
from appliance.pbx.sip.transaction import T1, make_cancel, transaction_key

if TYPE_CHECKING:
    from appliance.config.live import Sip

logger = logging.getLogger(__name__)

# What an agent's phone means by its final refusal of our INVITE, for the queue's autopause:
# busy on another line or rejected is not "away from the desk"; 408/480 is the phone's own
# no-answer (or do-not-disturb). Anything else: the phone cannot take calls.
_REFUSAL_REASONS = {
    486: REASON_BUSY, 600: REASON_BUSY, 603: REASON_DECLINED,
    408: REASON_UNAVAILABLE, 480: REASON_UNAVAILABLE,
}


def refusal_reason(status: int) -> str:
    """The ACD's reason code for an agent phone's final response ``status`` (>= 300)."""
    return _REFUSAL_REASONS.get(status, REASON_UNREACHABLE)


def new_invite_headers(side: AgentSide, from_: str, to: str,
                       call_id: str) -> list[tuple[str, str]]:
    """The headers of a dialog-creating INVITE the appliance sends (as `side` sends them to
    phones): From (with our tag) and To as given, session timers as the site says."""
    here, sip = side.here, side.sip
    return [
        ("Via", f"{here.via};branch={new_branch(side.rng)}"),
        ("Max-Forwards", "70"),
        ("From", from_),
        ("To", to),
        ("Call-ID", call_id),
        ("CSeq", "1 INVITE"),
        ("Contact", here.contact),
        ("Allow", ALLOW),
        ("Supported", "timer"),
        ("Session-Expires", f"{sip.session_expires};refresher=uac"),
        ("Min-SE", str(sip.min_se)),
    ]


class AgentSide:
    """Rings agents' phones for call control and reads their answers."""

    def __init__(self, dialogs: Dialogs, ending: LegEnding, phones: Phones,
                 anchor: MediaAnchor | None, cc: CallControl, sip: Sip) -> None:
        self.dialogs = dialogs
        self.layer, self.deadlines, self.rng = dialogs.layer, dialogs.deadlines, dialogs.rng
        self.here, self.legs = dialogs.here, dialogs.legs
        self.ending = ending
        self.phones = phones
        self.anchor = anchor
        self.cc = cc
        self.sip = sip
        # The B2BUA's own calls (between phones, out through a trunk): their legs' answers
        # go there, not to call control.
        self.internal: InternalCalls | None = None
        # Our offer to an agent rung for a callback before its customer is on the line.
        self.callback_offer: Callable[[int, Leg, float], bytes] = lambda call, leg, now: b""

    def apply(self, sip: Sip) -> None:
        self.sip = sip

    # --- ringing ----------------------------------------------------------------------------

    def ring(self, call: int, agent: str, now: float, media: int | None = None) -> None:
        """Ring `agent` for `call`: a caller's, or a callback whose customer is not on the
        line yet (agent first); `media`: the call whose caller (and media) the phone is
        offered, if not `call`'s (a caller transferred out: `transferout.py`)."""
        caller = self.legs.callers.get(call if media is None else media)
        target = self.phones.target(agent, now)
        if (caller is None and not self._callback_number(call)) or target is None:
            self.cc.agent_decline(now, agent, call, REASON_UNREACHABLE)
            return
        offered = call if media is None else media
        self._invite(call, agent, target,
                     lambda tag, call_id: self._invite_headers(call, caller, agent, tag, call_id),
                     lambda leg: self._offer(offered, caller, leg, now), now)

    def ring_from(self, call: int, agent: str, caller: str, offer: Callable[[Leg], bytes],
                  now: float) -> bool:
        """Ring `agent`'s phone for one of the B2BUA's own calls placed by the phone of user
        `caller` (shown as the caller), with `offer` (our SDP for the leg); False if the
        phone is not registered (nothing sent)."""
        target = self.phones.target(agent, now)
        if target is None:
            return False
        here = self.here
        self._invite(call, agent, target, lambda tag, call_id: new_invite_headers(
            self, f'"{caller}" <sip:{caller}@{here.hostport}>;tag={tag}',
            f"<sip:{agent}@{here.hostport}>", call_id), offer, now)
        return True

    def _invite(self, call: int, agent: str, target: tuple[str, Address],
                headers_for: Callable[[str, str], list[tuple[str, str]]],
                offer: Callable[[Leg], bytes], now: float) -> None:
        """Send our INVITE to the phone at `target` (contact, address) on a new agent leg."""
        contact, address = target
        tag = new_tag(self.rng)
        call_id = f"{self.rng.getrandbits(64):016x}@{self.here.address[0]}"
        headers = headers_for(tag, call_id)
        leg = AgentLeg(call, agent, Request("INVITE", contact, Headers(headers)),
                       ("", "", 0, ""), tag, address)
        body = offer(leg)
        if body:
            headers.append(("Content-Type", "application/sdp"))
        invite = Request("INVITE", contact, Headers(headers), body)
        leg.invite, leg.invite_key, leg.sip_call_id = invite, transaction_key(invite), call_id
        leg.sent_body = body
        leg.session_interval = self.sip.session_expires
        self.legs.add_ring(leg, phone=agent)
        if self.phones.seats is not None:
            self.phones.seats.rung(agent, leg, user_of(dict(headers).get("From")), now)
        self.layer.send_request(invite, address, now)

    def _offer(self, call: int, caller: Leg | None, leg: Leg, now: float) -> bytes:
        """Our SDP offer to the agent's phone of `leg`."""
        if caller is None:  # a callback's agent, on the line before the customer
            return self.callback_offer(call, leg, now)
        if self.anchor is not None:
            return self.anchor.agent_offer(call, leg)
        return caller.answer_body if isinstance(caller, CustomerLeg) else caller.invite.body

    def _callback_number(self, call: int) -> str:
        """The number a callback of `call` calls; "" if it is not a callback."""
        found = self.cc.calls.get(call)
        return "" if found is None or found.callback is None else found.callback.number

    def _invite_headers(self, call: int, caller: Leg | None, agent: str, tag: str,
                        call_id: str) -> list[tuple[str, str]]:
        here = self.here
        # The agent's display shows whom they will talk to: the number a callback calls.
        ani = caller_ani = self._callback_number(call) or (
            "" if caller is None else user_of(caller.invite.headers.get("From")))
        if not URI_USER.fullmatch(caller_ani):
            ani = "anonymous"
        return [
            *new_invite_headers(self, f'"{caller_ani}" <sip:{ani}@{here.hostport}>;tag={tag}',
                                f"<sip:{agent}@{here.hostport}>", call_id),
            *screen_pop_headers(self.cc.call_data(call)),
        ]

    def stop_ringing(self, call: int, agent: str, now: float) -> None:
        leg = self.legs.rings.get((call, agent))
        if leg is None:
            return
        leg.fire(LegEvent.STOP)
        # Call control is done with this ring: the leg lives on (through its INVITE) only
        # until the phone's final response, and the agent may be rung again for the call.
        del self.legs.rings[(call, agent)]
        if leg.state is LegState.CANCELLING:
            self._send_cancel(leg, now)

    def _send_cancel(self, leg: Leg, now: float) -> None:
        self.dialogs.send(leg, make_cancel(leg.invite), "cancel", now)
        # RFC 3261 9.1: with no final response 64*T1 after the CANCEL, the INVITE is over.
        leg.cancel_timer = self.deadlines.schedule(now + 64 * T1, self._cancel_unanswered, leg)

    def _cancel_unanswered(self, now: float, leg: Leg) -> None:
        leg.cancel_timer = None
        leg.fire(LegEvent.CANCEL_UNANSWERED)
        logger.info("no final response to our CANCELled INVITE on %r: forgotten", leg)
        self.ending.forget(leg, now)
        self.layer.give_up(leg.invite_key, now)

    # --- the phones' answers to our INVITEs ---------------------------------------------------

    def invite_response(self, leg: Leg, response: Response, now: float) -> None:
        status = response.status
        if status < 200:
            # Any provisional response, 100 included, allows a CANCEL (RFC 3261 9.1).
            if leg.fire(LegEvent.PROVISIONAL) is LegState.CANCEL_PENDING:
                self._send_cancel(leg, now)
            return
        if status in CHALLENGES and self._sent_again(leg, response, now):
            return
        del self.legs.invites_out[leg.invite_key]
        if status >= 300:
            leg.refusal = response  # its Reason header may say more (a gateway's Q.850 cause)
            self._refused(leg, refusal_reason(status), now, status=status)
        else:
            self._answered(leg, response, now)

    def _sent_again(self, leg: Leg, challenge: Response, now: float) -> bool:
        """Whether a challenged INVITE went again with credentials (a gateway's, answered
        by the outside calls; phones are never asked)."""
        return (self.internal is not None and self.internal.owns(leg.call)
                and self.internal.challenged(leg, challenge, now))

    def timed_out(self, key: Key, now: float) -> bool:
        """Whether `key` was our INVITE to a phone that never answered (Timer B)."""
        leg = self.legs.invites_out.get(key)
        if leg is None or leg.dialog is not None:
            return False
        del self.legs.invites_out[key]
        self._refused(leg, REASON_UNREACHABLE, now, LegEvent.NO_RESPONSE)
        return True

    def _refused(self, leg: Leg, reason: str, now: float,
                 event: LegEvent = LegEvent.PEER_REFUSAL, status: int = 0) -> None:
        """Our INVITE on `leg` failed (`event`, with the final `status` if one came): a
        decline for the ACD, unless call control had given the ring up already (a 487 after
        our CANCEL, say)."""
        before = leg.fire(event)
        self.ending.forget(leg, now)
        if before in GIVEN_UP:
            return
        if self.internal is not None and self.internal.owns(leg.call):
            self.internal.refused(leg, status, reason, now)
        else:
            self.cc.agent_decline(now, leg.agent, leg.call, reason)

    def _answered(self, leg: Leg, response: Response, now: float) -> None:
        try:
            dialog = Dialog.from_uac(leg.invite, response)
        except (SipError, ValueError) as error:
            # A 2xx we cannot build a dialog from (no Contact, no To tag): we cannot even
            # ACK or BYE it, so the phone will give up; for the ACD it is a decline.
            logger.warning("unusable 200 from %s's phone (%s): taken as a decline",
                           leg.agent, error)
            self._refused(leg, REASON_UNREACHABLE, now)
            return
        leg.fire(LegEvent.PEER_ANSWER)
        if self.phones.seats is not None:
            self.phones.seats.answered(leg.agent, leg, now)
        leg.dialog = dialog
        leg.answer_body = response.body
        leg.allows_update = "UPDATE" in allowed(response)
        expires = parse_session_expires(response.headers.get("Session-Expires"))
        if expires is None:
            leg.session_interval = 0  # the phone does not do session timers
        else:
            leg.session_interval, refresher = expires
            leg.we_refresh = refresher != "uas"
        self.dialogs.ack(leg, response, now)
        if leg.ended:
            self.ending.close(leg, now)  # the 200 crossed our CANCEL
        elif not self._taken(leg, now):
            self.ending.hang_up(leg, now)  # the call went elsewhere

    def _taken(self, leg: Leg, now: float) -> bool:
        if self.internal is not None and self.internal.owns(leg.call):
            return self.internal.answered(leg, now)
        return self.cc.agent_answer(now, leg.agent, leg.call)
