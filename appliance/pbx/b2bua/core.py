"""The appliance's SIP face: a back-to-back user agent in front of call control.

A call from a trunk is one leg (the appliance is its UAS); call control routes and queues it,
the ACD picks an agent, and the appliance rings the agent's registered phone on a second leg
(as UAC). With a media plane the appliance anchors the call's RTP (`anchor.py`): the caller
is answered when queued and hears prompts and music, and each party sees only the relay's
ports. Without one (SIP-fidelity simulation) the caller hears ringing and gets the agent's SDP
in its 200. Everything call control decides arrives as its actions (RingAgent, StopRinging,
Connect, Announce, HangUp*), so a live call and a simulated one leave the same call records
in the event log.

Sans-I/O like the rest of the PBX: datagrams and `now` in, datagrams out (`take_datagrams`),
one timer heap shared with call control and the transaction layer.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from random import Random
from typing import TYPE_CHECKING

from appliance.clock import Deadlines
from appliance.eventlog import EventLog
from appliance.events import AgentState
from appliance.media.dtmf import info_digit
from appliance.pbx.b2bua.agents import AgentSide
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.legs import Address, Key, Leg, Role
from appliance.pbx.b2bua.peers import TrunkPeers
from appliance.pbx.b2bua.phones import PhoneSide
from appliance.pbx.b2bua.probe import PeerStatus, probe_targets
from appliance.pbx.b2bua.sdp import declining_answer
from appliance.pbx.b2bua.session import uas_session_terms
from appliance.pbx.b2bua.upkeep import DialogUpkeep
from appliance.pbx.b2bua.wire import (
    ACCEPT,
    ALLOW,
    SUPPORTED_METHODS,
    allowed,
    content_refusal,
    user_of,
    user_of_uri,
)
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.sip.dialog import new_tag
from appliance.pbx.sip.endpoint import Endpoint
from appliance.pbx.sip.layer import CancelRequested
from appliance.pbx.sip.message import Request, Response, SipError, parse_name_addr
from appliance.pbx.sip.transaction import make_response, transaction_key

if TYPE_CHECKING:
    from appliance.config import Site
    from appliance.media.plane import MediaPlane

logger = logging.getLogger(__name__)


class B2bua(AgentSide, PhoneSide, DialogUpkeep, MediaAnchor, Endpoint):
    """The SIP side of the appliance. Satisfies `appliance.live.core.DatagramCore`.

    With a `MediaPlane` (`media_for(deadlines)` builds it on the core's timer heap) the
    appliance anchors every call's RTP: callers are answered when queued and hear prompts and
    music, calls are recorded. Without one, signalling only: callers hear ringing (180) until
    an agent answers, and the two parties' SDP pass through (as in SIP-fidelity simulation).
    """

    def __init__(self, site: Site, log: EventLog, rng: Random, secret: bytes,
                 local: Address = ("127.0.0.1", 5060),
                 media_for: Callable[[Deadlines], MediaPlane] | None = None) -> None:
        self.log = log
        self.rng = rng
        self.cc = CallControl(site, log, rng)
        super().__init__(self.cc.deadlines, SUPPORTED_METHODS, frozenset({"timer"}))
        self.media = None if media_for is None else media_for(self.cc.deadlines)
        self.media_host = local[0] if self.media is None else self.media.host
        self._now = 0.0  # of the input being handled, for clean-ups that do not carry it
        self.secret = secret
        self._source: Address = ("", 0)
        self._callers: dict[int, Leg] = {}
        self._agent_legs: dict[tuple[int, str], Leg] = {}
        self._by_dialog: dict[tuple[str, str], Leg] = {}  # (Call-ID, our tag)
        # INVITE transactions by key: the peers' (we answer) and ours (we ring agents). Two
        # tables, since a forged request can carry the key of one of ours.
        self._invites_in: dict[Key, Leg] = {}
        self._invites_out: dict[Key, Leg] = {}
        self._requests: dict[Key, tuple[Leg, str]] = {}  # our in-dialog requests -> purpose
        # Our relayed re-INVITE -> the leg and re-INVITE it relays, answered when ours is.
        self._pending_relay: dict[Key, tuple[Leg, Request]] = {}
        self._expiry_timer = None
        self._probes: dict[Key, Address] = {}  # our OPTIONS to trunk peers
        # Answers that start or end a call wait for the log to be durable (`_hold`): those
        # of the input being handled, then each behind the log mark that covers it.
        self._unmarked: list[Response] = []
        self._held: deque[tuple[int, Response]] = deque()
        self.shutting_down = False
        self.overloaded = False
        self.local = local
        self.apply_site(site)
        # The first probe waits a moment so that the driver can bind and name the address.
        self.deadlines.schedule(1.0, self._probe_peers)
        if self.sip.agent_login == "static":
            for agent in sorted(self._agents):
                self.cc.agent_login(0.0, agent)
        elif self.sip.agent_login == "register":
            self._log_in_static_phones(0.0)

    # --- configuration -------------------------------------------------------------------

    def apply_site(self, site: Site) -> None:
        """Take the SIP settings of `site` (phones, trunk peers, limits)."""
        self.site = site
        self.sip = site.sip
        self._apply_phones(site.sip)
        self.peers = TrunkPeers(site.trunk_groups)
        self.peer_status = PeerStatus(probe_targets(site.trunk_groups))
        self._agents = {agent.id for agent in site.expanded_agents()}
        codes = site.sip.feature_codes
        self._features = {codes.login: "login", codes.logout: "logout",
                          codes.ready: "ready", codes.not_ready: "not_ready"}

    def reload(self, site: Site, now: float) -> None:
        """A validated new configuration, for new calls: SIP settings and phones at once,
        and call control's queues, agents, skills, routes and trunk groups (`CallControl.
        reload`); calls up keep going. An agent added whose phone is registered already is
        logged in as if it had just registered (with `agent_login: static`, at once); the
        others keep the state they are in."""
        before = self._agents
        self.apply_site(site)
        self.cc.reload(site, now)
        for agent in sorted(self._agents - before):
            if self.sip.agent_login == "static" or (
                    self.sip.agent_login == "register" and self.registrar.lookup(agent, now)):
                self.cc.agent_login(now, agent)
        if self.sip.agent_login == "register":
            self._log_in_static_phones(now)
        self._pump(now)

    def bind(self, local: Address) -> None:
        """The address the transport listens on (used in Via and Contact)."""
        self.local = local

    @property
    def _via(self) -> str:
        return f"SIP/2.0/UDP {self._hostport}"

    @property
    def _hostport(self) -> str:
        host, port = self.local
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def _contact(self) -> str:
        return f"<sip:ccbox@{self._hostport}>"

    # --- the driver's side -----------------------------------------------------------------

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        self._source = source  # read by the handlers of what this datagram delivers
        self._now = now
        super().receive_datagram(data, source, now)

    def on_deadline(self, now: float) -> None:
        self._now = now
        super().on_deadline(now)

    def receive_media(self, local_port: int, data: bytes, source: Address, now: float) -> None:
        """One RTP datagram on a relay port; call `media_done` after a batch of them."""
        assert self.media is not None
        self.media.relay.receive(local_port, data, source, now)

    def media_done(self, now: float) -> None:
        """Act on what the media received (digits, ...); then drain both outboxes."""
        if self.media is not None and self.media.has_events:
            self._now = now
            self._pump(now)

    def shutdown(self, now: float) -> None:
        """Refuse new calls and end every call in the appliance."""
        self.shutting_down = True
        for call in list(self._callers):
            self.cc.caller_hangup(now, call)
            leg = self._callers.get(call)
            if leg is not None:
                self._end_caller_leg(leg, 503, "Service Unavailable", now)
        for leg in list(self._by_dialog.values()):
            if leg.role is Role.FEATURE:
                self._send_bye(leg, now)
        self._pump(now)

    def log_durable(self, mark: int, now: float) -> None:
        """The event log is durable up to `mark` (see `EventLog.durability`): send the answers
        that waited for it."""
        held = self._held
        while held and held[0][0] <= mark:
            self.layer.send_response(held.popleft()[1], now)
        self._pump(now)

    def set_overloaded(self, overloaded: bool) -> None:
        """The driver finds the appliance short of CPU: new calls get 503 with Retry-After
        until it says otherwise; calls in progress and OPTIONS are served as before."""
        self.overloaded = overloaded

    @property
    def retry_after(self) -> int:
        """Seconds a refused caller is asked to wait (Retry-After of our 503s)."""
        return self.sip.retry_after

    def is_idle(self) -> bool:
        # Keep-alive probes do not count: a dead gateway must not hold up a shutdown.
        return (not self._by_dialog and not self._invites_in and not self._invites_out
                and not self._requests and not self._held and not self._unmarked)

    @property
    def active_calls(self) -> int:
        return len(self._callers)

    # --- plumbing ----------------------------------------------------------------------------

    def _pump(self, now: float) -> None:
        """Carry out call control's actions and the layer's effects until both are quiet."""
        cc = self.cc
        layer = self.layer
        media = self.media
        while True:
            actions = cc.take_actions()
            if actions:
                for action in actions:
                    self._act(action, now)
                continue
            if media is not None and media.has_events:
                for event in media.take_events():
                    self._media_event(event, now)
                continue
            effects = layer.take_effects()
            if not effects:
                break
            self._carry_out(effects, now)
        if self._unmarked:
            self._mark_held()

    def _still_held(self, response: Response) -> bool:
        """Whether `response` waits for the log to be durable (not sent even once yet)."""
        return (any(held is response for held in self._unmarked)
                or any(held is response for _, held in self._held))

    def _mark_held(self) -> None:
        """The input is handled and its records are in the log: one mark covers them all."""
        durability = self.log.durability
        assert durability is not None
        mark = durability.mark()
        self._held.extend((mark, response) for response in self._unmarked)
        self._unmarked.clear()

    def _deliver(self, message: object, now: float) -> None:
        try:
            if type(message) is Request:
                self._on_request(message, now)
            elif type(message) is Response:
                self._on_response(message, now)
            elif type(message) is CancelRequested:
                self._on_cancel(message.invite_key, now)
        except (SipError, ValueError) as error:
            # A message the layer accepted but a dialog cannot use (e.g. no Contact).
            logger.info("dropped a %s: %s", type(message).__name__, error)

    def _respond(self, request: Request, status: int, reason: str, now: float,
                 extra: list[tuple[str, str]] | None = None, body: bytes = b"",
                 tag: str | None = None) -> Response:
        response = make_response(request, status, reason, to_tag=tag, extra=extra or (),
                                  sdp=body)
        if 200 <= status < 300 and request.method == "INVITE" and _initial(request):
            self._hold(response, now)  # a call is answered: its record must exist first
        else:
            self.layer.send_response(response, now)
        return response

    def _respond_once_durable(self, request: Request, status: int, reason: str, now: float,
                              tag: str | None = None) -> None:
        """A final answer that tells the peer its call has ended (see `_hold`)."""
        self._hold(make_response(request, status, reason, to_tag=tag), now)

    def _hold(self, response: Response, now: float) -> None:
        """Send `response` once everything the log holds at the end of this input (the call's
        answer or end included) is durable, so that a peer never hears of an answer or an end
        the records could lose. Meanwhile the transaction layer absorbs the request's
        retransmissions. Sent at once when the log has no durable store (simulation)."""
        if self.log.durability is None:
            self.layer.send_response(response, now)
        else:
            self._unmarked.append(response)

    def _send(self, leg: Leg, request: Request, purpose: str, now: float) -> None:
        key = self.layer.send_request(request, leg.peer, now)
        self._requests[key] = (leg, purpose)

    # --- requests ------------------------------------------------------------------------------

    def _on_request(self, request: Request, now: float) -> None:
        method = request.method
        refusal = content_refusal(request)
        if refusal is not None:
            self._respond(request, *refusal, now, [("Accept", ACCEPT)], tag=new_tag(self.rng))
            return
        to_tag = parse_name_addr(request.headers.get("To") or "").tag
        if to_tag is not None:
            self._in_dialog(request, to_tag, now)
        elif method == "INVITE":
            self._new_invite(request, now)
        elif method == "REGISTER":
            self._register(request, now)
        elif method == "OPTIONS":
            self._respond(request, 200, "OK", now, self._capabilities(), tag=new_tag(self.rng))
        elif method != "ACK":
            self._respond(request, 481, "Call/Transaction Does Not Exist", now)

    def _capabilities(self) -> list[tuple[str, str]]:
        return [("Allow", ALLOW), ("Accept", ACCEPT), ("Supported", "timer")]

    def _register(self, request: Request, now: float) -> None:
        result = self._authenticate(request, now)
        if result is None:
            return
        response = self.registrar.handle(request, self._source, now, auth=result)
        self.layer.send_response(response, now)
        self._registrations_changed(now)

    def _registrations_changed(self, now: float) -> None:
        for user, registered in self.registrar.take_changes():
            if self.sip.agent_login != "register" or user not in self._agents:
                continue
            if user in self._static_contacts:
                continue  # reachable at its static contact with or without a registration
            if registered:
                self.cc.agent_login(now, user, ready=True)
            else:
                self.cc.agent_logout(now, user)
        self._arm_expiry()

    def _arm_expiry(self) -> None:
        when = self.registrar.next_expiry()
        timer = self._expiry_timer
        if timer is not None and not timer.cancelled and when is not None and timer.when <= when:
            return
        if timer is not None:
            timer.cancel()
        self._expiry_timer = None if when is None else self.deadlines.schedule(
            when, self._expire_registrations)

    def _expire_registrations(self, now: float) -> None:
        self._expiry_timer = None
        self.registrar.expire(now)
        self._registrations_changed(now)

    def _new_invite(self, request: Request, now: float) -> None:
        if self.shutting_down or self.overloaded or self.active_calls >= self.sip.max_calls:
            self._respond(request, 503, "Service Unavailable", now,
                          [("Retry-After", str(self.sip.retry_after))])
            return
        group = None if self._from_phone(request) else self.peers.group_for(self._source)
        if group is None:
            self._station_call(request, now)  # authenticated before anything else is read
        elif self._has_contact(request, now):
            self._trunk_call(request, group, now)

    def _has_contact(self, request: Request, now: float) -> bool:
        """RFC 3261 8.1.1.8: an INVITE must say where to reach its sender; 400 if it does not."""
        if _usable_contact(request):
            return True
        self._respond(request, 400, "Bad Request: missing or malformed Contact", now)
        return False

    def _trunk_call(self, request: Request, group: str, now: float) -> None:
        terms = uas_session_terms(request, self.sip.session_expires, self.sip.min_se)
        if terms.refusal is not None:
            self._respond(request, terms.refusal, "Session Interval Too Small", now,
                          [("Min-SE", str(self.sip.min_se))])
            return
        offer = None
        if self.media is not None:
            if not self.media.has_room():
                self._respond(request, 503, "Service Unavailable", now,
                              [("Retry-After", str(self.sip.retry_after))])
                return
            offer = self._acceptable_offer(request.body)
            if offer is None:  # no offer (RFC 3264 late offer is not supported) or no G.711
                self._respond(request, 488, "Not Acceptable Here", now)
                return
        ani = user_of(request.headers.get("From"))
        dnis = user_of_uri(request.uri) if self.site.trunk_group(group).carries_dnis else ""
        leg = self._incoming_leg(Role.CALLER, request, now)
        self._set_session(leg, terms)
        call = self.cc.offer_call(now, group, ani, dnis)
        leg.call = call
        self._callers[call] = leg
        if call not in self.cc.calls:
            return  # blocked or refused: call control's HangUpCaller answers it
        if offer is None:
            self._respond(request, 180, "Ringing", now, tag=leg.local_tag)
            return
        # The caller hears the welcome prompt and music while queued: answered at once, or
        # as early media until an agent answers.
        analog = self.site.trunk_group(group).kind == "analog"
        body = self._caller_answer(leg, offer, analog, now)
        if self.site.media.queued_callers == "answer":
            self._answer(leg, body, now)
            self._start_session_timer(leg, now)
        else:
            leg.sent_body = body
            self.media.relay.watch(call, 0, False, now)  # gateways may not send before 200
            self._respond(request, 183, "Session Progress", now, [("Contact", self._contact)],
                          body, tag=leg.local_tag)
        self._welcome(call, now)

    def _incoming_leg(self, role: Role, request: Request, now: float) -> Leg:
        key = transaction_key(request)
        leg = Leg(role, 0, "", request, key, new_tag(self.rng), self._source)
        leg.allows_update = "UPDATE" in allowed(request)
        self._invites_in[key] = leg
        self._by_dialog[(leg.sip_call_id, leg.local_tag)] = leg
        return leg

    def _station_call(self, request: Request, now: float) -> None:
        result = self._authenticate(request, now)
        if result is None:
            return
        if result.user is None:
            self.layer.send_response(result.response, now)
            return
        if not self._has_contact(request, now):
            return
        feature = self._features.get(user_of_uri(request.uri))
        if feature is None:
            self._respond(request, 404, "Not Found", now)
            return
        user = result.user
        if user not in self._agents or not self._apply_feature(user, feature, now):
            self._respond(request, 403, "Forbidden", now)
            return
        leg = self._incoming_leg(Role.FEATURE, request, now)
        body = declining_answer(request.body, self.local[0], self.rng.getrandbits(31))
        self._answer(leg, body, now)

    def _apply_feature(self, agent: str, feature: str, now: float) -> bool:
        """Carry out a feature code; False if the agent's state does not allow it. Asking
        for the state one is already in succeeds (a second *41 is not an error)."""
        cc = self.cc
        status = cc.agent_status(agent)
        state = AgentState.LOGGED_OUT if status is None else status.state
        if feature == "login":
            return cc.agent_login(now, agent, ready=True) or state is not AgentState.LOGGED_OUT
        if feature == "logout":
            return cc.agent_logout(now, agent) or state is AgentState.LOGGED_OUT
        if feature == "ready":
            return cc.agent_ready(now, agent) or state is AgentState.READY
        return cc.agent_not_ready(now, agent, "phone") or state is AgentState.NOT_READY

    def _in_dialog(self, request: Request, to_tag: str, now: float) -> None:
        leg = self._by_dialog.get((request.headers.get("Call-ID") or "", to_tag))
        method = request.method
        if leg is None or leg.dialog is None:
            if method != "ACK":
                self._respond(request, 481, "Call/Transaction Does Not Exist", now)
            return
        if method == "ACK":
            self._on_ack(leg, now)
            return
        if not leg.dialog.receive_request(request):
            self._respond(request, 500, "Server Internal Error", now,
                          [("Retry-After", "1")])
            return
        if method == "BYE":
            self._peer_hung_up(leg, now)  # first: the 200 waits for the call's end record
            self._respond_once_durable(request, 200, "OK", now)
        elif method == "INVITE":
            self._reinvite(leg, request, now)
        elif method == "UPDATE":
            leg.peer_refresh_seen = True
            self._respond(request, 200, "OK", now, self._session_headers(leg))
        elif method == "INFO":
            self._respond(request, 200, "OK", now)
            digit = info_digit(request.headers.get("Content-Type") or "", request.body)
            if digit is not None:
                self._info_digit(leg, digit, now)
        else:  # OPTIONS
            self._respond(request, 200, "OK", now)

    def _on_ack(self, leg: Leg, now: float) -> None:
        if leg.ok_timer is not None:
            leg.ok_timer.cancel()
            leg.ok_timer = None
        leg.ok_response = None
        if leg.role is Role.FEATURE and not leg.ended:
            self._send_bye(leg, now)

    def _peer_hung_up(self, leg: Leg, now: float) -> None:
        connected = leg.partner is not None
        self._forget(leg)
        if leg.role is Role.CALLER:
            self.cc.caller_hangup(now, leg.call)
        elif leg.role is Role.AGENT and connected:
            self.cc.agent_hangup(now, leg.agent)

    def _on_cancel(self, invite_key: Key, now: float) -> None:
        leg = self._invites_in.get(invite_key)
        if leg is None or leg.dialog is not None:
            return
        self._forget(leg)
        if leg.role is Role.CALLER:
            self.cc.caller_hangup(now, leg.call)
        self._respond_once_durable(leg.invite, 487, "Request Terminated", now, tag=leg.local_tag)

    def _lost(self, leg: Leg, now: float) -> None:
        """The peer of `leg` is gone (no ACK, no refresh): end the call as if it hung up."""
        if leg.ended:
            return
        self._send_bye(leg, now)
        if leg.role is Role.CALLER:
            self.cc.caller_hangup(now, leg.call)
        elif leg.role is Role.AGENT:
            self.cc.agent_hangup(now, leg.agent)

    def _forget(self, leg: Leg) -> None:
        leg.ended = True
        self._by_dialog.pop((leg.sip_call_id, leg.local_tag), None)
        invites = self._invites_out if leg.role is Role.AGENT else self._invites_in
        invites.pop(leg.invite_key, None)
        if self.media is not None:
            self._media_leg_ended(leg, self._now)
        if leg.role is Role.CALLER:
            self._callers.pop(leg.call, None)
        elif leg.role is Role.AGENT and self._agent_legs.get((leg.call, leg.agent)) is leg:
            # Only this leg: the agent may already ring again for the same call on a new one.
            del self._agent_legs[(leg.call, leg.agent)]
        self._end_pending_requests(leg, self._now)
        for timer in (leg.ok_timer, leg.session_timer, leg.cancel_timer):
            if timer is not None:
                timer.cancel()
        leg.ok_timer = leg.session_timer = leg.cancel_timer = None
        leg.partner = None  # the two legs of a call must not keep each other alive




def _initial(request: Request) -> bool:
    """Whether `request` starts a dialog (its To has no tag)."""
    return parse_name_addr(request.headers.get("To") or "").tag is None


def _usable_contact(message: Request | Response) -> bool:
    """Whether the message has a Contact a dialog can use as its remote target."""
    try:
        return bool(parse_name_addr(message.headers.get("Contact") or "").uri)
    except (SipError, ValueError):
        return False
