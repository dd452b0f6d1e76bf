"""New calls into the B2BUA: a trunk's INVITE becomes a caller leg and a call for call control
(answered at once, as early media or with ringing, as the media and the site say; a call routed
to an IVR flow is answered by the flow's `AnswerCaller`, `ivr.py`); a phone's INVITE, once
authenticated, a feature code carried out on a feature leg, a call to another phone
(`extensions.py`), to a ring group (`ringgroups.py`) or to an outside number (`dialout.py`),
or a pickup of a parked or ringing call (`parking.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.hw import PortState
from appliance.media import sdp
from appliance.net import Address
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.answers import Answers
from appliance.pbx.b2bua.conference import Conferences
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.dialout import DialOut
from appliance.pbx.b2bua.extensions import ExtensionCalls
from appliance.pbx.b2bua.features import FeatureCodes
from appliance.pbx.b2bua.forwarding import Forwarding
from appliance.pbx.b2bua.gatewayports import GatewayPorts, PortRef
from appliance.pbx.b2bua.logins import AgentLogins
from appliance.pbx.b2bua.peers import TrunkPeers
from appliance.pbx.b2bua.phones import Phones
from appliance.pbx.b2bua.retrieval import Retrievals
from appliance.pbx.b2bua.session import SessionTerms, uas_session_terms
from appliance.pbx.b2bua.supervision import FORCE_OFF, Supervision
from appliance.pbx.b2bua.wire import allowed, user_of, user_of_uri
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import CallerLeg, FeatureLeg, Leg, PickupLeg
from appliance.pbx.sip.dialog import new_tag
from appliance.pbx.sip.message import Request, Response, SipError, parse_name_addr
from appliance.pbx.sip.transaction import transaction_key

if TYPE_CHECKING:
    from appliance.config import Site
    from appliance.pbx.b2bua.parking import Claim, ParkCalls
    from appliance.pbx.b2bua.ringgroups import RingGroupCalls


class CallIntake:
    """Takes the INVITEs that start calls, once the B2BUA has admitted them."""

    def __init__(self, dialogs: Dialogs, phones: Phones, logins: AgentLogins,
                 features: FeatureCodes, extensions: ExtensionCalls, dialout: DialOut,
                 anchor: MediaAnchor | None, cc: CallControl, forwarding: Forwarding,
                 supervision: Supervision, conferences: Conferences) -> None:
        self.dialogs = dialogs
        self.answers: Answers = dialogs.answers
        self.legs, self.here, self.layer, self.rng = (dialogs.legs, dialogs.here, dialogs.layer,
                                                      dialogs.rng)
        self.phones, self.logins, self.features = phones, logins, features
        self.extensions, self.dialout = extensions, dialout
        self.anchor = anchor
        self.cc, self.forwarding = cc, forwarding
        self.supervision, self.conferences = supervision, conferences
        self.parking: ParkCalls | None = None  # call park: slots a phone may dial
        self.retrieval: Retrievals | None = None  # voicemail by phone, set by the B2BUA
        self.ring_groups: RingGroupCalls | None = None  # set by the B2BUA
        self.ports = GatewayPorts(dialogs.deadlines)  # the site's, from `apply`

    def apply(self, site: Site) -> None:
        self.site = site
        self.peers = TrunkPeers(site.trunk_groups)
        self.ports.apply(site.gateways, site.sip.span_retry)

    def invite(self, request: Request, source: Address, now: float) -> None:
        """An INVITE that starts a call: a phone's (authenticated first: a feature code), a
        gateway port's or another trunk's (a caller for call control)."""
        from_phone = self.phones.from_phone(request, source)
        senders = [user_of(request.headers.get(name)) for name in ("Contact", "From")]
        port = None if from_phone else self.ports.port_of(source, user_of_uri(request.uri),
                                                          senders)
        group = None if from_phone else self.peers.group_for(source)
        if port is not None and self._has_contact(request, now):
            self._port_call(request, port, source, now)
        elif port is not None:
            return
        elif group is None:
            self._station_call(request, source, now)  # authenticated before anything is read
        elif self._has_contact(request, now):
            self._trunk_call(request, group, source, now)

    def _port_call(self, request: Request, port: PortRef, source: Address, now: float) -> None:
        """A call on a gateway's trunk port: refused (486) while the port has a call or is out
        of service; routed by its line where it brings no called number."""
        if self.ports.state(port) is not PortState.IDLE:
            self.answers.respond(request, 486, "Busy Here", now)
            return
        self._trunk_call(request, port.group, source, now, port)

    def _has_contact(self, request: Request, now: float) -> bool:
        """RFC 3261 8.1.1.8: an INVITE must say where to reach its sender; 400 if it does not."""
        if _usable_contact(request):
            return True
        self.answers.respond(request, 400, "Bad Request: missing or malformed Contact", now)
        return False

    def _trunk_call(self, request: Request, group: str, source: Address, now: float,
                    port: PortRef | None = None) -> None:
        terms = self._session_terms(request, now)
        if terms is None:
            return
        taken, offer = self._media_offer(request, now)
        if not taken:
            return
        ani = user_of(request.headers.get("From"))
        dnis = user_of_uri(request.uri) if _carries_dnis(self.site, group, port) else ""
        leg = self._incoming_leg(CallerLeg, request, source)
        self.dialogs.set_session(leg, terms)
        line = "" if port is None else port.line
        call = leg.call = self.cc.offer_call(now, group, ani, dnis, line=line)
        self.legs.callers[call] = leg
        if port is not None:
            self.ports.take_in(port, call, ani, dnis, now)
        found = self.cc.calls.get(call)
        if found is None or found.ivr_answered or found.ivr is not None:
            # Refused: its HangUpCaller answers. Sent to a flow (even one that has already
            # sent it on to a queue) or a closed prompt: its AnswerCaller does. Sent to a
            # ring group: the group's ringing does (`HuntRingGroup`).
            return
        if offer is None:
            self.answers.respond(request, 180, "Ringing", now, tag=leg.local_tag)
        else:
            self._queue_with_media(leg, offer, group, now)

    def _session_terms(self, request: Request, now: float) -> SessionTerms | None:
        """The session timer terms of `request` (RFC 4028); None when refused (422)."""
        terms = uas_session_terms(request, self.site.sip.session_expires, self.site.sip.min_se)
        if terms.refusal is None:
            return terms
        self.answers.respond(request, terms.refusal, "Session Interval Too Small", now,
                             [("Min-SE", str(self.site.sip.min_se))])
        return None

    def _media_offer(self, request: Request, now: float,
                     room: bool = True) -> tuple[bool, sdp.Sdp | None]:
        """The caller's SDP offer when the media is anchored (None without a media plane);
        False when the call is refused here for its media: 503 with no room, 488 with no
        offer we can take (a late offer, RFC 3264, is not supported; or no G.711)."""
        if self.anchor is None:
            return True, None
        if room and not self.anchor.media.has_room():  # a pickup joins a call's media
            self.answers.respond(request, 503, "Service Unavailable", now,
                                 [("Retry-After", str(self.site.sip.retry_after))])
            return False, None
        offer = self.anchor.acceptable_offer(request.body)
        if offer is None:
            self.answers.respond(request, 488, "Not Acceptable Here", now)
        return offer is not None, offer

    def _queue_with_media(self, leg: Leg, offer: sdp.Sdp, group: str, now: float) -> None:
        """The caller hears the welcome prompt and music while queued: answered at once, or
        as early media until an agent answers."""
        anchor = self.anchor
        assert anchor is not None
        analog = self.site.trunk_group(group).kind == "analog"
        leg.sent_body = anchor.caller_answer(leg, offer, analog, now)
        self.wait_in_queue(leg, now)

    def wait_in_queue(self, leg: Leg, now: float) -> None:
        """A caller, its media anchored (`leg.sent_body`), now queued: answered, or on early
        media; the welcome prompt and music follow. Nothing without a media plane."""
        anchor = self.anchor
        if anchor is None or leg.ended:
            return
        body = leg.sent_body
        if self.site.media.queued_callers == "answer":
            self.dialogs.answer(leg, body, now)
            self.dialogs.start_session_timer(leg, now)
        else:
            anchor.media.relay.watch(leg.call, 0, False, now)  # gateways send after 200 only
            self.answers.respond(leg.invite, 183, "Session Progress", now,
                                 [("Contact", self.here.contact)], body, tag=leg.local_tag)
        anchor.welcome(leg.call, now)

    def _incoming_leg(self, kind: type[Leg], request: Request, source: Address,
                      phone: str = "") -> Leg:
        """A leg for `request`; `phone`: the user of the phone that sent it (a line of its
        in use while the leg lives)."""
        key = transaction_key(request)
        leg = kind(0, "", request, key, new_tag(self.rng), source)
        leg.allows_update = "UPDATE" in allowed(request)
        self.legs.add_incoming(leg, phone)
        return leg

    def _station_call(self, request: Request, source: Address, now: float) -> None:
        result = self.phones.authenticate(request, source, now)
        if result is None:
            return
        if result.user is None:
            self.layer.send_response(result.response, now)
            return
        if not self._has_contact(request, now):
            return
        number = user_of_uri(request.uri)
        feature = self.features.dialled(number)
        user = result.user
        claim = None if self.parking is None or feature else self.parking.claim(number, user)
        if claim is not None:
            self._pickup_call(request, source, user, claim, now)
            return
        change = self.features.forwarding(number)
        if change is not None:
            self._forwarding_code(request, source, user, *change, now)
            return
        if self.retrieval is not None and self.retrieval.dialled(number):
            self._retrieval_call(request, source, user, number, now)
            return
        if feature is None and self.extensions.dialled(number):
            self._extension_call(request, source, user, number, now)
            return
        if feature is None and self.ring_groups is not None and self.ring_groups.dialled(number):
            self._ring_group_call(request, source, user, number, now)
            return
        supervision = None if feature is not None else self.supervision.dialled(number)
        if supervision is not None:
            self._supervision_call(request, source, user, *supervision, now)
            return
        if feature is None and self.conferences.dialled(number):
            self._conference_call(request, source, user, number, now)
            return
        if feature is None:
            self._outside_call(request, source, user, number, now)
            return
        if user not in self.logins.agents or not self.features.carry_out(user, feature, now):
            self.answers.respond(request, 403, "Forbidden", now)
            return
        self._feature_done(request, source, now)

    def _feature_done(self, request: Request, source: Address, now: float) -> None:
        """Answer a feature code carried out (its call has no media: the phone hangs up)."""
        leg = self._incoming_leg(FeatureLeg, request, source)
        declined = sdp.declining(sdp.readable(request.body), self.here.address[0],
                                 self.rng.getrandbits(31))
        self.dialogs.answer(leg, bytes(declined), now)

    def _supervision_call(self, request: Request, source: Address, user: str, action: str,
                          agent: str, now: float) -> None:
        """A supervisor dials a supervision code and an agent: forced off at once (a feature
        leg), or the supervisor joins the agent's call."""
        refusal = self.supervision.refusal(user, agent, action)
        if refusal is not None:
            self.answers.respond(request, *refusal, now)
            return
        if action == FORCE_OFF:
            self.supervision.force_off(user, agent, now)
            self._feature_done(request, source, now)
            return
        answered = self._media_leg(request, source, user, now)
        if answered is not None:
            self.supervision.start(*answered, user, agent, action, now)

    def _media_leg(self, request: Request, source: Address, user: str,
                   now: float) -> tuple[Leg, sdp.Sdp] | None:
        """A caller leg for a phone's call the B2BUA answers with media itself, and the
        phone's offer; None when refused (every line in use, session terms, no room, no
        usable offer)."""
        if self._lines_full(request, user, now):
            return None
        terms = self._session_terms(request, now)
        taken, offer = (False, None) if terms is None else self._media_offer(request, now)
        if not taken or offer is None or terms is None:
            return None
        leg = self._incoming_leg(CallerLeg, request, source, user)
        self.dialogs.set_session(leg, terms)
        return leg, offer

    def _conference_call(self, request: Request, source: Address, user: str, room: str,
                         now: float) -> None:
        """A phone dials a conference room: answered with media, then let in."""
        refusal = self.conferences.refusal()
        if refusal is not None:
            self.answers.respond(request, *refusal, now)
            return
        answered = self._media_leg(request, source, user, now)
        if answered is not None:
            self.conferences.join(*answered, user, room, now)

    def _retrieval_call(self, request: Request, source: Address, user: str, number: str,
                        now: float) -> None:
        """A phone dials a voicemail retrieval code: answered, with the menu, or refused."""
        assert self.retrieval is not None
        refusal = self.retrieval.refusal(user, number)
        if refusal is not None:
            self.answers.respond(request, *refusal, now)
            return
        answered = self._media_leg(request, source, user, now)
        if answered is not None:
            self.retrieval.start(*answered, user, number, now)

    def _pickup_call(self, request: Request, source: Address, agent: str, claim: Claim,
                     now: float) -> None:
        """A phone dials a park slot or a pickup code: refused at once if there is no call to
        take or the phone's agent cannot take a call now."""
        assert self.parking is not None
        refusal = self.parking.refusal(claim, agent)
        if refusal is not None:
            self.answers.respond(request, *refusal, now)
            return
        terms = None if self._lines_full(request, agent, now) else self._session_terms(
            request, now)
        if terms is None:
            return
        taken, offer = self._media_offer(request, now, room=False)
        if taken:
            leg = self._incoming_leg(PickupLeg, request, source, agent)
            self.dialogs.set_session(leg, terms)
            self.parking.pick_up(leg, offer, agent, claim, now)

    def _forwarding_code(self, request: Request, source: Address, user: str, condition: str,
                         target: str, now: float) -> None:
        """Any phone sets or clears its own forwarding: 404 for a target that is no phone
        and no outside number, 403 for one it may not dial."""
        refusal = None if not target else self.extensions.forward_refusal(user, target)
        if refusal is not None:
            self.answers.respond(request, *refusal, now)
            return
        self.forwarding.change(user, condition, target, now)
        self._feature_done(request, source, now)

    def _extension_call(self, request: Request, source: Address, caller: str, callee: str,
                        now: float) -> None:
        """A phone dials another phone: refused at once if that one is busy or nowhere and
        does not forward the call (`ExtensionCalls.admit`)."""
        refusal, forward = self.extensions.admit(caller, callee, now)
        if refusal is not None:
            self.answers.respond(request, *refusal, now)
            return
        taken = self._phone_leg(request, source, caller, now)
        if taken is not None:
            self.extensions.start(*taken, caller, callee, now, forward)

    def _ring_group_call(self, request: Request, source: Address, caller: str, number: str,
                         now: float) -> None:
        """A phone dials a ring group: its members ring (`RingGroupCalls`)."""
        assert self.ring_groups is not None
        taken = self._phone_leg(request, source, caller, now)
        if taken is not None:
            self.ring_groups.start(*taken, caller, number, now)

    def _outside_call(self, request: Request, source: Address, user: str, dialled: str,
                      now: float) -> None:
        """A phone dials an outside number: 404 if no route out takes it, 403 if the phone
        may not dial it (`dialout.py`)."""
        route = self.dialout.route(dialled)
        if route is None:
            self.answers.respond(request, 404, "Not Found", now)
            return
        refusal = self.dialout.refusal(user, route, now)
        if refusal is not None:
            self.answers.respond(request, *refusal, now)
            return
        taken = self._phone_leg(request, source, user, now)
        if taken is not None:
            self.dialout.start(*taken, user, route, now)

    def _phone_leg(self, request: Request, source: Address, user: str,
                   now: float) -> tuple[Leg, sdp.Sdp | None] | None:
        """The caller leg of a phone's call and its SDP offer (None without a media plane);
        None when refused here for its lines, its session timer or its media."""
        if self._lines_full(request, user, now):
            return None
        terms = self._session_terms(request, now)
        if terms is None:
            return None
        taken, offer = self._media_offer(request, now)
        if not taken:
            return None
        leg = self._incoming_leg(CallerLeg, request, source, user)
        self.dialogs.set_session(leg, terms)
        return leg, offer


    def _lines_full(self, request: Request, user: str, now: float) -> bool:
        """Whether every line appearance of `user`'s phone is in use: then its new call is
        refused (486), as the call it would ring is."""
        if self.legs.lines_in_use[user] < self.phones.lines(user):
            return False
        self.answers.respond(request, 486, "Busy Here", now)
        return True


def _carries_dnis(site: Site, group: str, port: PortRef | None) -> bool:
    """Whether calls on `group` (on gateway port `port`, if any) bring a called number."""
    if port is not None:
        return port.capabilities.has_called_number
    return site.trunk_group(group).carries_dnis


def _usable_contact(message: Request | Response) -> bool:
    """Whether the message has a Contact a dialog can use as its remote target."""
    try:
        return bool(parse_name_addr(message.headers.get("Contact") or "").uri)
    except (SipError, ValueError):
        return False
