"""Re-INVITEs (hold, resume, a new offer) relayed from one leg of a call to the other, each
answered when the other party answers ours (`appliance.pbx.legs.reinvite` has its table);
with the media anchored, each SDP is rewritten to the relay's address on the side it goes
to."""

from __future__ import annotations

from appliance.media.sdp import is_hold
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.answers import Answers
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import Leg, Role
from appliance.pbx.legs.reinvite import Relay, RelayEvent, RelayState
from appliance.pbx.sip.layer import Key
from appliance.pbx.sip.message import Request, Response
from appliance.pbx.sip.transaction import T1, transaction_key


class ReinviteRelay:
    """The re-INVITEs in flight, by the key of the one we relayed."""

    def __init__(self, dialogs: Dialogs, answers: Answers, anchor: MediaAnchor | None,
                 cc: CallControl) -> None:
        self.dialogs = dialogs
        self.answers = answers
        self.anchor = anchor
        self.cc = cc
        self.pending: dict[Key, Relay] = {}

    def reinvite(self, leg: Leg, request: Request, now: float) -> None:
        """The peer of `leg` sent `request`, a re-INVITE in its dialog."""
        leg.peer_refresh_seen = True
        other = leg.partner
        anchor = self.anchor
        if anchor is not None and request.body:
            anchor.update(leg, request.body, now, offer=True)
        if other is None or not other.confirmed or not request.body:
            # A refresh with no offer, or nobody to relay to (a queued caller): answer with
            # what we last sent, or answer the new offer from the same relay port.
            body = leg.sent_body
            if anchor is not None and request.body:
                body = anchor.queued_reoffer(leg, request.body)
            self.dialogs.answer(leg, body, now, request)
            return
        if leg.reinvite_key is not None or other.reinvite_key is not None:
            self.answers.respond(request, 491, "Request Pending", now)  # glare (RFC 3261 14.1)
            return
        leg.reinvite_key = transaction_key(request)
        offer = request.body if anchor is None else anchor.anchored(other, request.body)
        relayed = self.dialogs.request(other, "INVITE", now, offer)
        key = self.dialogs.send(other, relayed, "relay", now)
        other.reinvite_key = key
        self.pending[key] = Relay(leg, request)

    def answered(self, other: Leg, response: Response | None, now: float) -> None:
        """`other`'s answer to the re-INVITE we relayed to it (None: it timed out)."""
        if response is not None and 200 <= response.status < 300 and other.dialog is not None:
            self.dialogs.ack(other, response, now)
        key = other.reinvite_key
        other.reinvite_key = None
        relay = self.pending.pop(key, None) if key else None
        if relay is None:
            return
        relay.sender.reinvite_key = None
        if relay.fire(_event(response)) is RelayState.ANSWERED:
            assert response is not None
            self._relay_answer(relay, other, response, now)
        else:
            status, reason = (408, "Request Timeout") if response is None else (
                response.status, response.reason)
            self.answers.respond(relay.request, status, reason, now)

    def _relay_answer(self, relay: Relay, other: Leg, response: Response, now: float) -> None:
        leg, request = relay.sender, relay.request
        body = response.body
        if self.anchor is not None:
            self.anchor.update(other, body, now, offer=False)
            body = self.anchor.anchored(leg, body)
        self.dialogs.answer(leg, body, now, request)
        if leg.role is Role.AGENT:
            if is_hold(request.body):
                self.cc.agent_hold(now, leg.agent)
            else:
                self.cc.agent_resume(now, leg.agent)

    def leg_ended(self, leg: Leg, now: float) -> None:
        """`leg`'s dialog is over: a re-INVITE of its peer that we are still relaying gets
        487, so that its transaction ends on both sides; and one we relayed to `leg` is
        given up 64*T1 later if `leg` never answers it (RFC 3261 15.1.2 has a party that
        takes a BYE answer its pending requests 487; not every party does)."""
        for key, relay in list(self.pending.items()):
            if relay.sender is leg:
                del self.pending[key]
                relay.fire(RelayEvent.SENDER_ENDED)
                self.answers.respond(relay.request, 487, "Request Terminated", now)
        ours = leg.reinvite_key
        if ours is not None and ours in self.dialogs.requests:
            self.dialogs.deadlines.schedule(now + 64 * T1, self._give_up, ours)

    def _give_up(self, now: float, key: Key) -> None:
        self.dialogs.layer.give_up(key, now)


def _event(response: Response | None) -> RelayEvent:
    if response is None:
        return RelayEvent.NO_RESPONSE
    return RelayEvent.REFUSAL if response.status >= 300 else RelayEvent.ANSWER
