"""Keeping the B2BUA's dialogs alive and in step: re-INVITEs relayed between the legs (hold,
resume), our 2xx retransmitted until ACKed, RFC 4028 session timers, and OPTIONS probes of
trunk peers. A part of `B2bua`, which provides the layer, timers and legs it uses."""

from __future__ import annotations

import logging

from appliance.media.sdp import is_hold
from appliance.pbx.b2bua.session import SessionTerms, expiry_margin
from appliance.pbx.b2bua.wire import ALLOW
from appliance.pbx.legs import Leg, LegEvent, Role
from appliance.pbx.sip.dialog import Dialog
from appliance.pbx.sip.message import Request, Response
from appliance.pbx.sip.transaction import T1, T2, transaction_key

logger = logging.getLogger(__name__)


class DialogUpkeep:
    """Re-INVITE relay, 2xx retransmission, session timers and peer probes of `B2bua`."""

    # --- re-INVITE: hold and resume, relayed to the other leg --------------------------------

    def _reinvite(self, leg: Leg, request: Request, now: float) -> None:
        leg.peer_refresh_seen = True
        other = leg.partner
        anchored = self.media is not None
        if anchored and request.body:
            self._media_update(leg, request.body, now, offer=True)
        if other is None or not other.confirmed or not request.body:
            # A refresh with no offer, or nobody to relay to (a queued caller): answer with
            # what we last sent, or answer the new offer from the same relay port.
            body = leg.sent_body
            if anchored and request.body:
                body = self._queued_reoffer(leg, request.body)
            self._answer(leg, body, now, request)
            return
        if leg.reinvite_key is not None or other.reinvite_key is not None:
            self.answers.respond(request, 491, "Request Pending", now)
            return
        leg.reinvite_key = transaction_key(request)
        offer = self._anchored(other, request.body) if anchored else request.body
        relayed = self._in_dialog_request(other, "INVITE", now, offer)
        self._send(other, relayed, "relay", now)
        other.reinvite_key = transaction_key(relayed)
        self._pending_relay[transaction_key(relayed)] = (leg, request)

    def _finish_relay(self, other: Leg, response: Response | None, now: float) -> None:
        key = other.reinvite_key
        other.reinvite_key = None
        origin_entry = self._pending_relay.pop(key, None) if key else None
        if origin_entry is None:
            return
        leg, request = origin_entry
        leg.reinvite_key = None
        if leg.ended:
            return
        if response is None or response.status >= 300:
            status, reason = (408, "Request Timeout") if response is None else (
                response.status, response.reason)
            self.answers.respond(request, status, reason, now)
            return
        body = response.body
        if self.media is not None:
            self._media_update(other, body, now, offer=False)
            body = self._anchored(leg, body)
        self._answer(leg, body, now, request)
        if leg.role is Role.AGENT:
            if is_hold(request.body):
                self.cc.agent_hold(now, leg.agent)
            else:
                self.cc.agent_resume(now, leg.agent)

    def _end_pending_requests(self, leg: Leg, now: float) -> None:
        """`leg`'s dialog is over: a re-INVITE of its peer that we are still relaying gets
        487 (RFC 3261 15.1.2), so that its transaction ends on both sides."""
        for key, (origin, request) in list(self._pending_relay.items()):
            if origin is leg:
                del self._pending_relay[key]
                self.answers.respond(request, 487, "Request Terminated", now)

    # --- our 2xx to an INVITE, retransmitted until ACKed (RFC 3261 13.3.1.4) ----------------

    def _answer(self, leg: Leg, body: bytes, now: float, request: Request | None = None) -> None:
        if request is None:
            leg.fire(LegEvent.ANSWER)  # the dialog-creating INVITE; else a re-INVITE
        request = request or leg.invite
        extra = [("Contact", self.here.contact), ("Allow", ALLOW), *self._session_headers(leg)]
        if leg.dialog is None:
            leg.dialog = Dialog.from_uas(request, leg.local_tag, local_via=self.here.via)
        ok = self.answers.respond(request, 200, "OK", now, extra, body, tag=leg.local_tag)
        leg.sent_body = body
        leg.ok_response = ok
        leg.ok_wait = T1
        if leg.ok_timer is not None:
            leg.ok_timer.cancel()
        leg.ok_timer = self.deadlines.schedule(now + T1, self._retransmit_ok, leg, now + 64 * T1)

    def _retransmit_ok(self, now: float, leg: Leg, give_up: float) -> None:
        leg.ok_timer = None
        if leg.ok_response is None or leg.ended:
            return
        if now >= give_up:
            logger.info("no ACK for our 200 on %r: ending the call", leg)
            self._lost(leg, LegEvent.ACK_TIMEOUT, now)
            return
        if self.answers.still_held(leg.ok_response):  # type: ignore[attr-defined]
            # Not sent yet: its call's records are not durable. Retransmitting it now would
            # announce an answer a kill could still lose.
            leg.ok_timer = self.deadlines.schedule(now + leg.ok_wait, self._retransmit_ok, leg,
                                                   give_up)
            return
        self.layer.send_response(leg.ok_response, now)
        leg.ok_wait = min(2 * leg.ok_wait, T2)
        leg.ok_timer = self.deadlines.schedule(now + leg.ok_wait, self._retransmit_ok, leg,
                                               give_up)

    # --- session timers (RFC 4028) -------------------------------------------------------------

    def _set_session(self, leg: Leg, terms: SessionTerms) -> None:
        leg.session_interval = terms.interval
        leg.we_refresh = terms.we_refresh

    def _session_headers(self, leg: Leg) -> list[tuple[str, str]]:
        if not leg.session_interval:
            return []
        ours = "uas" if leg.role is not Role.AGENT else "uac"
        theirs = "uac" if ours == "uas" else "uas"
        refresher = ours if leg.we_refresh else theirs
        return [("Session-Expires", f"{leg.session_interval};refresher={refresher}"),
                ("Supported", "timer")]

    def _start_session_timer(self, leg: Leg, now: float) -> None:
        if not leg.session_interval or leg.ended:
            return
        if leg.session_timer is not None:
            leg.session_timer.cancel()
        interval = leg.session_interval
        if leg.we_refresh:
            leg.session_timer = self.deadlines.schedule(now + interval / 2, self._refresh, leg)
        else:
            leg.peer_refresh_seen = False
            wait = interval - expiry_margin(interval)
            leg.session_timer = self.deadlines.schedule(now + wait, self._check_refreshed, leg)

    def _refresh(self, now: float, leg: Leg) -> None:
        leg.session_timer = None
        if not leg.confirmed:
            return
        method = "UPDATE" if leg.allows_update else "INVITE"
        body = b"" if method == "UPDATE" else leg.sent_body
        self._send(leg, self._in_dialog_request(leg, method, now, body), "refresh", now)

    def _check_refreshed(self, now: float, leg: Leg) -> None:
        leg.session_timer = None
        if not leg.confirmed:
            return
        if leg.peer_refresh_seen:
            self._start_session_timer(leg, now)
        else:
            logger.info("session expired on %r: ending the call", leg)
            self._lost(leg, LegEvent.LOST, now)


