"""Signalling inside the legs' dialogs: our in-dialog requests and what each is for, our 2xx
retransmitted until ACKed (RFC 3261 13.3.1.4), ACKs for the peers' 2xx, and RFC 4028 session
timers. A peer found gone (no ACK, no refresh) is reported to `on_lost`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from random import Random

from appliance.clock import Deadlines
from appliance.pbx.b2bua.answers import Answers
from appliance.pbx.b2bua.legbook import LegBook
from appliance.pbx.b2bua.local import LocalAddress
from appliance.pbx.b2bua.session import SessionTerms, expiry_margin
from appliance.pbx.b2bua.wire import ALLOW, DIALOG_GONE
from appliance.pbx.legs import Leg, LegEvent, Role
from appliance.pbx.legs.offer import OfferEvent, OfferState, next_offer, over
from appliance.pbx.sip.dialog import Dialog
from appliance.pbx.sip.layer import Key, TransactionLayer
from appliance.pbx.sip.message import Request, Response, parse_cseq, parse_name_addr
from appliance.pbx.sip.transaction import T1, T2

logger = logging.getLogger(__name__)

Lost = Callable[[Leg, LegEvent, float], None]


class Dialogs:
    """In-dialog requests, 2xx retransmission and session timers of the legs in `legs`."""

    def __init__(self, layer: TransactionLayer, deadlines: Deadlines, answers: Answers,
                 here: LocalAddress, rng: Random, legs: LegBook, on_lost: Lost) -> None:
        self.layer = layer
        self.deadlines = deadlines
        self.answers = answers
        self.here = here
        self.rng = rng
        self.legs = legs
        self.on_lost = on_lost
        self.requests: dict[Key, tuple[Leg, str]] = {}  # our in-dialog requests -> purpose
        # Dialogs we sent BYE in, by (Call-ID, our tag), until the BYE is answered: a BYE
        # of the peer's that crosses ours finds its dialog ending, not unknown.
        self.closing: set[tuple[str, str]] = set()

    # --- our requests ---------------------------------------------------------------------

    def send(self, leg: Leg, request: Request, purpose: str, now: float) -> Key:
        key = self.layer.send_request(request, leg.peer, now)
        self.requests[key] = (leg, purpose)
        return key

    def request(self, leg: Leg, method: str, now: float, body: bytes = b"") -> Request:
        """A request in `leg`'s dialog (with our Contact and session terms where they go)."""
        assert leg.dialog is not None
        request = leg.dialog.make_request(method, self.rng)
        headers = request.headers
        if method in ("INVITE", "UPDATE"):
            headers = headers.add("Contact", self.here.contact)
            for name, value in self.session_headers(leg):
                headers = headers.add(name, value)
        if body:
            headers = headers.add("Content-Type", "application/sdp")
            leg.sent_body = body
        return Request(method, request.uri, headers, body)

    def our_offer(self, leg: Leg) -> bool:
        """Whether we may send `leg`'s peer a re-INVITE of our own now (RFC 3261 14.1: one at a
        time in a dialog); if so the dialog's exchange is ours until `offer_answered`."""
        step = next_offer(leg.offer, OfferEvent.OUR_REINVITE)
        if not isinstance(step, OfferState):
            return False
        leg.offer = step
        return True

    def offer_answered(self, leg: Leg) -> None:
        """Our re-INVITE on `leg` has its final answer (or timed out)."""
        leg.offer = over(leg.offer)

    def retry_after_glare(self) -> float:
        """How long to wait before sending again a re-INVITE that got 491 (RFC 3261 14.1: 2.1
        to 4 s for the owner of the Call-ID, which the appliance is towards phones, and
        which does for callers too)."""
        return 2.1 + 1.9 * self.rng.random()

    def bye(self, leg: Leg, now: float, after: float = 0.0) -> None:
        """Our BYE in `leg`'s dialog, `after` seconds from now (a last word to the party
        first); the dialog counts as closing from now on."""
        self.closing.add((leg.sip_call_id, leg.local_tag))
        if after > 0:
            self.deadlines.schedule(now + after, self._bye, leg)
        else:
            self._bye(now, leg)

    def _bye(self, now: float, leg: Leg) -> None:
        self.send(leg, self.request(leg, "BYE", now), "bye", now)

    def is_closing(self, call_id: str, tag: str) -> bool:
        """Whether our BYE in the dialog (Call-ID, our tag) awaits its answer."""
        return (call_id, tag) in self.closing

    def answered(self, key: Key, final: bool) -> tuple[Leg, str] | None:
        """The leg and purpose of our request `key`; forgotten once its answer is final (or
        it timed out)."""
        if not final:
            return self.requests.get(key)
        entry = self.requests.pop(key, None)
        if entry is not None and entry[1] == "bye":
            self.closing.discard((entry[0].sip_call_id, entry[0].local_tag))
        return entry

    def ack(self, leg: Leg, response: Response, now: float) -> None:
        """ACK a 2xx of the peer's to our (re-)INVITE; kept to re-send on retransmissions."""
        assert leg.dialog is not None
        number, _ = parse_cseq(response.headers.get("CSeq") or "")
        leg.ack = leg.dialog.make_ack(number, self.rng)
        self.layer.send_request(leg.ack, leg.peer, now)

    def stray_ok(self, response: Response, now: float) -> None:
        """A retransmitted 2xx: the ACK we sent was lost; send it again (RFC 3261 13.2.2.4)."""
        from_tag = parse_name_addr(response.headers.get("From") or "").tag or ""
        leg = self.legs.dialog(response.headers.get("Call-ID") or "", from_tag)
        if leg is not None and leg.ack is not None:
            self.layer.send_request(leg.ack, leg.peer, now)

    # --- our 2xx to an INVITE, retransmitted until ACKed (RFC 3261 13.3.1.4) ----------------

    def answer(self, leg: Leg, body: bytes, now: float, request: Request | None = None) -> None:
        """Answer the INVITE that creates `leg`'s dialog (or `request`, a re-INVITE) with a
        2xx carrying `body`, retransmitted until the ACK comes."""
        if request is None:
            leg.fire(LegEvent.ANSWER)
        request = request or leg.invite
        extra = [("Contact", self.here.contact), ("Allow", ALLOW), *self.session_headers(leg)]
        if leg.dialog is None:
            leg.dialog = Dialog.from_uas(request, leg.local_tag, local_via=self.here.via)
        ok = self.answers.respond(request, 200, "OK", now, extra, body, tag=leg.local_tag)
        leg.sent_body = body
        leg.ok_response = ok
        leg.ok_wait = T1
        if leg.ok_timer is not None:
            leg.ok_timer.cancel()
        leg.ok_timer = self.deadlines.schedule(now + T1, self._retransmit_ok, leg, now + 64 * T1)

    def acked(self, leg: Leg) -> None:
        if leg.ok_timer is not None:
            leg.ok_timer.cancel()
            leg.ok_timer = None
        leg.ok_response = None

    def _retransmit_ok(self, now: float, leg: Leg, give_up: float) -> None:
        leg.ok_timer = None
        if leg.ok_response is None or leg.ended:
            return
        if now >= give_up:
            logger.info("no ACK for our 200 on %r: ending the call", leg)
            self.on_lost(leg, LegEvent.ACK_TIMEOUT, now)
            return
        if self.answers.still_held(leg.ok_response):
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

    def set_session(self, leg: Leg, terms: SessionTerms) -> None:
        leg.session_interval = terms.interval
        leg.we_refresh = terms.we_refresh

    def session_headers(self, leg: Leg) -> list[tuple[str, str]]:
        if not leg.session_interval:
            return []
        ours = "uas" if leg.role is not Role.AGENT else "uac"
        theirs = "uac" if ours == "uas" else "uas"
        refresher = ours if leg.we_refresh else theirs
        return [("Session-Expires", f"{leg.session_interval};refresher={refresher}"),
                ("Supported", "timer")]

    def start_session_timer(self, leg: Leg, now: float) -> None:
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

    def refresh_answered(self, leg: Leg, response: Response | None, now: float,
                         reinvite: bool) -> None:
        """The answer to our refresh (None: it timed out), a re-INVITE or an UPDATE."""
        status = 408 if response is None else response.status
        if reinvite:
            self.offer_answered(leg)
        if response is not None and 200 <= status < 300:
            if reinvite:
                self.ack(leg, response, now)
            self.start_session_timer(leg, now)
        elif status in DIALOG_GONE:
            logger.info("session refresh failed (%s) on %r: ending the call", status, leg)
            self.on_lost(leg, LegEvent.LOST, now)
        elif status == 491:  # crossed a re-INVITE of the peer's (RFC 3261 14.1)
            self._refresh_soon(leg, now)
        else:
            self.start_session_timer(leg, now)

    def _refresh(self, now: float, leg: Leg) -> None:
        leg.session_timer = None
        if not leg.confirmed:
            return
        if leg.allows_update:
            self.send(leg, self.request(leg, "UPDATE", now), "refresh", now)
        elif self.our_offer(leg):
            self.send(leg, self.request(leg, "INVITE", now, leg.sent_body), "refresh_offer", now)
        else:  # a re-INVITE is in progress in the dialog: it refreshes it too, if answered
            self._refresh_soon(leg, now)

    def _refresh_soon(self, leg: Leg, now: float) -> None:
        leg.session_timer = self.deadlines.schedule(now + self.retry_after_glare(), self._refresh,
                                                    leg)

    def _check_refreshed(self, now: float, leg: Leg) -> None:
        leg.session_timer = None
        if not leg.confirmed:
            return
        if leg.peer_refresh_seen:
            self.start_session_timer(leg, now)
        else:
            logger.info("session expired on %r: ending the call", leg)
            self.on_lost(leg, LegEvent.LOST, now)
