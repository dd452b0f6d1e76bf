"""Re-INVITEs (hold, resume, a new offer) relayed from one leg of a call to the other, each
answered when the other party answers ours (`appliance.pbx.legs.reinvite` has its table),
or refused while another is in progress in either dialog (`appliance.pbx.legs.offer`);
with the media anchored, each SDP is rewritten to the relay's address on the side it goes
to, and a caller the agent holds hears music on hold (the caller is offered sendonly
whichever way the agent's phone held it) until the agent resumes. Only a re-INVITE that
changes whether the agent's phone holds holds or resumes: a session refresh with the same
SDP leaves a hold by `*0` (`incall.py`) as it is."""

from __future__ import annotations

from appliance.media.sdp import is_hold
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.answers import Answers
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import Leg, Role
from appliance.pbx.legs.offer import OfferEvent, OfferState, next_offer, over
from appliance.pbx.legs.reinvite import Relay, RelayEvent, RelayState
from appliance.pbx.sip.layer import Key
from appliance.pbx.sip.message import Request, Response
from appliance.pbx.sip.transaction import T1


class ReinviteRelay:
    """The re-INVITEs we relayed, by the leg each went to, until that leg's final answer;
    each leg's `offer` says whose re-INVITE is in progress in its dialog."""

    def __init__(self, dialogs: Dialogs, answers: Answers, anchor: MediaAnchor | None,
                 cc: CallControl) -> None:
        self.dialogs = dialogs
        self.answers = answers
        self.anchor = anchor
        self.cc = cc
        self.pending: dict[Leg, Relay] = {}
        # The agents' legs whose phone's last re-INVITE held: a re-INVITE that changes
        # that holds or resumes, a refresh with the same SDP does not (a hold by `*0` stays).
        self.holding: set[Leg] = set()

    def reinvite(self, leg: Leg, request: Request, now: float) -> None:
        """The peer of `leg` sent `request`, a re-INVITE in its dialog: refused while another
        is in progress (`appliance.pbx.legs.offer`), answered here, or relayed."""
        leg.peer_refresh_seen = True
        ours = self._step(request, leg.offer, OfferEvent.PEER_REINVITE, now)
        if ours is None:
            return
        other = leg.partner
        if other is None or not other.confirmed or not request.body:
            self._answer_here(leg, request, now)
            return
        theirs = self._step(request, other.offer, OfferEvent.OUR_REINVITE, now)
        if theirs is not None:
            leg.offer, other.offer = ours, theirs
            self._relay(leg, other, request, now)

    def _step(self, request: Request, state: OfferState, event: OfferEvent,
              now: float) -> OfferState | None:
        """Where `event` takes a dialog's re-INVITE exchange in `state`; None if its table
        refuses `request` instead (then answered as the row says)."""
        step = next_offer(state, event)
        if isinstance(step, OfferState):
            return step
        self.answers.respond(request, step.status, step.reason, now, list(step.headers))
        return None

    def _relay(self, leg: Leg, other: Leg, request: Request, now: float) -> None:
        offer = request.body
        if self.anchor is not None:
            self.anchor.update(leg, offer, now, offer=True)
            offer = self.anchor.anchored(other, self.anchor.to_held_caller(leg, offer))
        relayed = self.dialogs.request(other, "INVITE", now, offer)
        key = self.dialogs.send(other, relayed, "relay", now)
        self.pending[other] = Relay(leg, request, key)

    def _answer_here(self, leg: Leg, request: Request, now: float) -> None:
        """A refresh with no offer, or nobody to relay to (a queued caller): answer with what
        we last sent, or answer the new offer from the same relay port."""
        body = leg.sent_body
        anchor = self.anchor
        if anchor is not None and request.body:
            anchor.update(leg, request.body, now, offer=True)
            body = anchor.queued_reoffer(leg, request.body)
        self.dialogs.answer(leg, body, now, request)

    def answered(self, other: Leg, response: Response | None, now: float) -> None:
        """`other`'s answer to the re-INVITE we relayed to it (None: it timed out)."""
        if response is not None and 200 <= response.status < 300 and other.dialog is not None:
            self.dialogs.ack(other, response, now)
        other.offer = over(other.offer)
        relay = self.pending.pop(other)
        if relay.state is not RelayState.RELAYING:
            return  # its sender is gone, and has had its 487
        relay.sender.offer = over(relay.sender.offer)
        if relay.fire(_event(response)) is RelayState.ANSWERED:
            assert response is not None
            self._relay_answer(relay, other, response, now)
        else:
            # A 491 too: the sender retries (RFC 3261 14.1), and finds both dialogs idle.
            status, reason = (408, "Request Timeout") if response is None else (
                response.status, response.reason)
            self.answers.respond(relay.request, status, reason, now)

    def _relay_answer(self, relay: Relay, other: Leg, response: Response, now: float) -> None:
        leg, request = relay.sender, relay.request
        body = response.body
        anchor = self.anchor
        if anchor is not None:
            anchor.update(other, body, now, offer=False)
            body = anchor.anchored(leg, anchor.to_holding_agent(leg, request.body, body))
        self.dialogs.answer(leg, body, now, request)
        held = is_hold(request.body)
        if leg.role is Role.AGENT and held != (leg in self.holding):
            self._phone_held(leg, held, now)

    def _phone_held(self, leg: Leg, held: bool, now: float) -> None:
        """The agent's phone held (`held`) or resumed, and the caller took it (a refused
        hold holds nothing): the ACD's hold and the caller's music follow."""
        if held:
            self.holding.add(leg)
            self.cc.agent_hold(now, leg.agent)
        else:
            self.holding.discard(leg)
            self.cc.agent_resume(now, leg.agent)
        if self.anchor is not None:
            self.anchor.media.hold_caller(leg.call, held, now)

    def leg_ended(self, leg: Leg, now: float) -> None:
        """`leg`'s dialog is over: a re-INVITE of its peer that we are still relaying gets
        487, so that its transaction ends on both sides; and one we relayed to `leg` is
        given up 64*T1 later if `leg` never answers it (RFC 3261 15.1.2 has a party that
        takes a BYE answer its pending requests 487; not every party does)."""
        self.holding.discard(leg)
        if leg.offer is OfferState.PEER_OFFER:
            relay = next(relay for relay in self.pending.values() if relay.sender is leg)
            relay.fire(RelayEvent.SENDER_ENDED)
            leg.offer = over(leg.offer)
            self.answers.respond(relay.request, 487, "Request Terminated", now)
        elif leg.offer is OfferState.OUR_OFFER:  # relayed, a refresh or a re-offer of ours
            for key, (owner, _) in list(self.dialogs.requests.items()):
                if owner is leg and key[3] == "INVITE":
                    self.dialogs.deadlines.schedule(now + 64 * T1, self._give_up, key)

    def _give_up(self, now: float, key: Key) -> None:
        self.dialogs.layer.give_up(key, now)


def _event(response: Response | None) -> RelayEvent:
    if response is None:
        return RelayEvent.NO_RESPONSE
    return RelayEvent.REFUSAL if response.status >= 300 else RelayEvent.ANSWER
