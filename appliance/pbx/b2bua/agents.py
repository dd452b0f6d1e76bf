"""The B2BUA's side towards agents: call control's actions carried out as SIP (ring, stop
ringing, bridge, hang up), and what agents' phones and other peers answer to our requests.
A part of `B2bua`, which provides the layer, timers and legs it uses."""

from __future__ import annotations

import logging

from appliance.events import EndCause
from appliance.media.prompts import position_announcement, wait_announcement
from appliance.pbx.acd.core import (
    REASON_BUSY,
    REASON_DECLINED,
    REASON_UNAVAILABLE,
    REASON_UNREACHABLE,
)
from appliance.pbx.actions import (
    Announce,
    Connect,
    HangUpAgent,
    HangUpCaller,
    RingAgent,
    StopRinging,
)
from appliance.pbx.b2bua.session import parse_session_expires
from appliance.pbx.b2bua.wire import (
    ALLOW,
    DIALOG_GONE,
    REFUSALS,
    URI_USER,
    allowed,
    user_of,
)
from appliance.pbx.legs import AgentLeg, Leg, LegEvent, LegState, Role
from appliance.pbx.legs.agent import GIVEN_UP
from appliance.pbx.sip.dialog import Dialog, new_branch, new_tag
from appliance.pbx.sip.headers import Headers
from appliance.pbx.sip.layer import Key
from appliance.pbx.sip.message import Request, Response, SipError, parse_cseq, parse_name_addr
from appliance.pbx.sip.transaction import T1, make_cancel, transaction_key

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


class AgentSide:
    """Call control's actions as SIP, and the answers to our requests, for `B2bua`."""

    # --- call control's actions ---------------------------------------------------------------

    def _act(self, action: object, now: float) -> None:
        kind = type(action)
        if kind is RingAgent:
            self._ring(action.call, action.agent, now)  # type: ignore[attr-defined]
        elif kind is StopRinging:
            self._stop_ringing(action.call, action.agent, now)  # type: ignore[attr-defined]
        elif kind is Connect:
            self._connect(action.call, action.agent, now)  # type: ignore[attr-defined]
        elif kind is HangUpCaller:
            self._hang_up_caller(action.call, action.cause, now)  # type: ignore[attr-defined]
        elif kind is HangUpAgent:
            leg = self._agent_legs.get((action.call, action.agent))  # type: ignore[attr-defined]
            if leg is not None:
                self._hang_up(leg, now)
        elif kind is Announce and self.media is not None:
            names = (position_announcement(action.position)  # type: ignore[attr-defined]
                     + wait_announcement(action.expected_wait))  # type: ignore[attr-defined]
            self.media.play(action.call, names, now)  # type: ignore[attr-defined]
        # WrapUp needs no signalling.

    def _ring(self, call: int, agent: str, now: float) -> None:
        caller = self._callers.get(call)
        target = self.phones.target(agent, now)
        if caller is None or target is None:
            self.cc.agent_decline(now, agent, call, REASON_UNREACHABLE)
            return
        contact, address = target
        ani = caller_ani = user_of(caller.invite.headers.get("From"))
        if not URI_USER.fullmatch(caller_ani):
            ani = "anonymous"
        tag = new_tag(self.rng)
        call_id = f"{self.rng.getrandbits(64):016x}@{self.here.address[0]}"
        headers = [
            ("Via", f"{self.here.via};branch={new_branch(self.rng)}"),
            ("Max-Forwards", "70"),
            ("From", f'"{caller_ani}" <sip:{ani}@{self.here.hostport}>;tag={tag}'),
            ("To", f"<sip:{agent}@{self.here.hostport}>"),
            ("Call-ID", call_id),
            ("CSeq", "1 INVITE"),
            ("Contact", self.here.contact),
            ("Allow", ALLOW),
            ("Supported", "timer"),
            ("Session-Expires", f"{self.sip.session_expires};refresher=uac"),
            ("Min-SE", str(self.sip.min_se)),
        ]
        leg = AgentLeg(call, agent, caller.invite, ("", "", 0, ""), tag, address)
        body = caller.invite.body if self.media is None else self._agent_offer(call, leg)
        if body:
            headers.append(("Content-Type", "application/sdp"))
        invite = Request("INVITE", contact, Headers(headers), body)
        key = transaction_key(invite)
        leg.invite, leg.invite_key, leg.sip_call_id = invite, key, call_id
        leg.sent_body = body
        leg.session_interval = self.sip.session_expires
        self._agent_legs[(call, agent)] = leg
        self._invites_out[key] = leg
        self._by_dialog[(call_id, tag)] = leg
        self.layer.send_request(invite, address, now)

    def _stop_ringing(self, call: int, agent: str, now: float) -> None:
        leg = self._agent_legs.get((call, agent))
        if leg is None:
            return
        leg.fire(LegEvent.STOP)
        # Call control is done with this ring: the leg lives on (through its INVITE) only
        # until the phone's final response, and the agent may be rung again for the call.
        del self._agent_legs[(call, agent)]
        if leg.state is LegState.CANCELLING:
            self._send_cancel(leg, now)

    def _send_cancel(self, leg: Leg, now: float) -> None:
        self._send(leg, make_cancel(leg.invite), "cancel", now)
        # RFC 3261 9.1: with no final response 64*T1 after the CANCEL, the INVITE is over.
        leg.cancel_timer = self.deadlines.schedule(now + 64 * T1, self._cancel_unanswered, leg)

    def _cancel_unanswered(self, now: float, leg: Leg) -> None:
        leg.cancel_timer = None
        leg.fire(LegEvent.CANCEL_UNANSWERED)
        logger.info("no final response to our CANCELled INVITE on %r: forgotten", leg)
        self._forget(leg, now)

    def _connect(self, call: int, agent: str, now: float) -> None:
        caller = self._callers.get(call)
        agent_leg = self._agent_legs.get((call, agent))
        if caller is None or agent_leg is None:
            return
        caller.partner, agent_leg.partner = agent_leg, caller
        if self.media is None:
            self._answer(caller, agent_leg.answer_body, now)
            self._start_session_timer(caller, now)
        else:
            if caller.state is LegState.INVITED:  # early media while queued: answer now
                self._answer(caller, caller.sent_body, now)
                self._start_session_timer(caller, now)
            self._media_bridge(call, agent_leg, now)
        self._start_session_timer(agent_leg, now)

    def _hang_up_caller(self, call: int, cause: EndCause, now: float) -> None:
        leg = self._callers.get(call)
        if leg is None:
            return
        refusal = REFUSALS.get(cause, (480, "Temporarily Unavailable"))
        self._hang_up(leg, now, refusal=refusal)

    def _in_dialog_request(self, leg: Leg, method: str, now: float, body: bytes = b"") -> Request:
        assert leg.dialog is not None
        request = leg.dialog.make_request(method, self.rng)
        headers = request.headers
        if method in ("INVITE", "UPDATE"):
            headers = headers.add("Contact", self.here.contact)
            for name, value in self._session_headers(leg):
                headers = headers.add(name, value)
        if body:
            headers = headers.add("Content-Type", "application/sdp")
            leg.sent_body = body
        return Request(method, request.uri, headers, body)

    # --- responses to our requests --------------------------------------------------------------

    def _on_response(self, response: Response, now: float) -> None:
        key = transaction_key(response)
        if self.probes.answered(key, response):
            return
        leg = self._invites_out.get(key)
        if leg is not None and leg.role is Role.AGENT:
            self._agent_invite_response(leg, response, now)
            return
        entry = self._requests.get(key)
        if entry is not None:
            if response.status >= 200:
                del self._requests[key]
                self._request_answered(entry[0], entry[1], response, now)
            return
        if 200 <= response.status < 300 and key[3] == "INVITE":
            self._stray_ok(response, now)

    def _stray_ok(self, response: Response, now: float) -> None:
        """A retransmitted 2xx: the ACK we sent was lost; send it again (RFC 3261 13.2.2.4)."""
        from_tag = parse_name_addr(response.headers.get("From") or "").tag or ""
        leg = self._by_dialog.get((response.headers.get("Call-ID") or "", from_tag))
        if leg is not None and leg.ack is not None:
            self.layer.send_request(leg.ack, leg.peer, now)

    def _agent_invite_response(self, leg: Leg, response: Response, now: float) -> None:
        status = response.status
        if status < 200:
            # Any provisional response, 100 included, allows a CANCEL (RFC 3261 9.1).
            if leg.fire(LegEvent.PROVISIONAL) is LegState.CANCEL_PENDING:
                self._send_cancel(leg, now)
            return
        del self._invites_out[leg.invite_key]
        if status >= 300:
            self._agent_refused(leg, refusal_reason(status), now)
        else:
            self._agent_answered(leg, response, now)

    def _agent_refused(self, leg: Leg, reason: str, now: float,
                       event: LegEvent = LegEvent.PEER_REFUSAL) -> None:
        """Our INVITE to the phone of `leg` failed (`event`): a decline for the ACD, unless
        call control had given the ring up already (a 487 after our CANCEL, say)."""
        before = leg.fire(event)
        self._forget(leg, now)
        if before not in GIVEN_UP:
            self.cc.agent_decline(now, leg.agent, leg.call, reason)

    def _agent_answered(self, leg: Leg, response: Response, now: float) -> None:
        try:
            dialog = Dialog.from_uac(leg.invite, response)
        except (SipError, ValueError) as error:
            # A 2xx we cannot build a dialog from (no Contact, no To tag): we cannot even
            # ACK or BYE it, so the phone will give up; for the ACD it is a decline.
            logger.warning("unusable 200 from %s's phone (%s): taken as a decline",
                           leg.agent, error)
            self._agent_refused(leg, REASON_UNREACHABLE, now)
            return
        leg.fire(LegEvent.PEER_ANSWER)
        leg.dialog = dialog
        leg.answer_body = response.body
        leg.allows_update = "UPDATE" in allowed(response)
        expires = parse_session_expires(response.headers.get("Session-Expires"))
        if expires is None:
            leg.session_interval = 0  # the phone does not do session timers
        else:
            leg.session_interval, refresher = expires
            leg.we_refresh = refresher != "uas"
        leg.ack = dialog.make_ack(1, self.rng)
        self.layer.send_request(leg.ack, leg.peer, now)
        if leg.ended:
            self._close(leg, now)  # the 200 crossed our CANCEL
        elif not self.cc.agent_answer(now, leg.agent, leg.call):
            self._hang_up(leg, now)  # the call went elsewhere

    def _request_answered(self, leg: Leg, purpose: str, response: Response | None,
                          now: float) -> None:
        status = 408 if response is None else response.status
        if purpose == "relay":
            if response is not None and 200 <= status < 300 and leg.dialog is not None:
                self._ack_in_dialog(leg, response, now)
            self._finish_relay(leg, response, now)
        elif purpose == "refresh":
            if response is not None and 200 <= status < 300:
                if (response.headers.get("CSeq") or "").endswith("INVITE"):
                    self._ack_in_dialog(leg, response, now)
                self._start_session_timer(leg, now)
            elif status in DIALOG_GONE:
                logger.info("session refresh failed (%s) on %r: ending the call", status, leg)
                self._lost(leg, LegEvent.LOST, now)
            else:
                self._start_session_timer(leg, now)  # e.g. 491: try again next interval

    def _ack_in_dialog(self, leg: Leg, response: Response, now: float) -> None:
        assert leg.dialog is not None
        number, _ = parse_cseq(response.headers.get("CSeq") or "")
        leg.ack = leg.dialog.make_ack(number, self.rng)
        self.layer.send_request(leg.ack, leg.peer, now)

    def _timed_out(self, key: Key, now: float) -> None:
        if self.probes.timed_out(key):
            return
        leg = self._invites_out.get(key)
        if leg is not None and leg.role is Role.AGENT and leg.dialog is None:
            del self._invites_out[key]
            self._agent_refused(leg, REASON_UNREACHABLE, now, LegEvent.NO_RESPONSE)
            return
        entry = self._requests.pop(key, None)
        if entry is not None:
            self._request_answered(entry[0], entry[1], None, now)

