"""The appliance's SIP face: a back-to-back user agent in front of call control.

A call from a trunk is one leg (the appliance is its UAS); call control routes and queues it,
the ACD picks an agent, and the appliance rings the agent's registered phone on a second leg
(as UAC). When the agent answers, the caller gets a 200 with the agent's SDP: media flows
between the two ends until the appliance anchors it. Everything call control decides arrives
as its actions (RingAgent, StopRinging, Connect, HangUp*), so a live call and a simulated one
leave the same records in the event log.

Sans-I/O like the rest of the PBX: datagrams and `now` in, datagrams out (`take_datagrams`),
one timer heap shared with call control and the transaction layer.
"""

from __future__ import annotations

import logging
import re
from random import Random
from typing import TYPE_CHECKING

from appliance.eventlog import EventLog
from appliance.events import AgentState, EndCause
from appliance.pbx.actions import Connect, HangUpAgent, HangUpCaller, RingAgent, StopRinging
from appliance.pbx.b2bua.legs import Address, Key, Leg, Role
from appliance.pbx.b2bua.peers import TrunkPeers
from appliance.pbx.b2bua.probe import PeerStatus, probe_targets
from appliance.pbx.b2bua.sdp import declining_answer, is_hold
from appliance.pbx.b2bua.session import (
    SessionTerms,
    expiry_margin,
    parse_session_expires,
    uas_session_terms,
)
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.sip.dialog import Dialog, new_branch, new_tag
from appliance.pbx.sip.digest import DigestAuthenticator
from appliance.pbx.sip.endpoint import Endpoint
from appliance.pbx.sip.headers import Headers, split_values
from appliance.pbx.sip.layer import CancelRequested
from appliance.pbx.sip.message import Request, Response, SipError, parse_cseq, parse_name_addr
from appliance.pbx.sip.registrar import Registrar
from appliance.pbx.sip.transaction import T1, T2, make_response, transaction_key
from appliance.pbx.sip.uri import parse_uri

if TYPE_CHECKING:
    from appliance.config import Site

logger = logging.getLogger(__name__)

SUPPORTED_METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER",
                               "INFO", "UPDATE"})
ALLOW = ", ".join(sorted(SUPPORTED_METHODS))
_URI_USER = re.compile(r"[A-Za-z0-9+*#._-]+")

# What a caller not yet answered hears when call control lets the call go.
_REFUSALS: dict[EndCause, tuple[int, str]] = {
    EndCause.BLOCKED: (486, "Busy Here"),
    EndCause.BUSY: (486, "Busy Here"),
    EndCause.NO_ROUTE: (404, "Not Found"),
    EndCause.VOICEMAIL: (480, "Temporarily Unavailable"),
}
# Responses to our requests that mean the dialog is gone (RFC 3261 12.2.1.2, RFC 4028 10).
_DIALOG_GONE = frozenset({408, 481})


class B2bua(Endpoint):
    """The SIP side of the appliance. Satisfies `appliance.live.core.DatagramCore`."""

    def __init__(self, site: Site, log: EventLog, rng: Random, secret: bytes,
                 local: Address = ("127.0.0.1", 5060)) -> None:
        self.log = log
        self.rng = rng
        self.cc = CallControl(site, log, rng)
        super().__init__(self.cc.deadlines, SUPPORTED_METHODS, frozenset({"timer"}))
        self.secret = secret
        self._source: Address = ("", 0)
        self._callers: dict[int, Leg] = {}
        self._agent_legs: dict[tuple[int, str], Leg] = {}
        self._by_dialog: dict[tuple[str, str], Leg] = {}  # (Call-ID, our tag)
        self._by_invite: dict[Key, Leg] = {}  # INVITE transactions, ours and theirs
        self._requests: dict[Key, tuple[Leg, str]] = {}  # our in-dialog requests -> purpose
        # Our relayed re-INVITE -> the leg and re-INVITE it relays, answered when ours is.
        self._pending_relay: dict[Key, tuple[Leg, Request]] = {}
        self._expiry_timer = None
        self._probes: dict[Key, Address] = {}  # our OPTIONS to trunk peers
        self.shutting_down = False
        self.overloaded = False
        self.local = local
        self.apply_site(site)
        # The first probe waits a moment so that the driver can bind and name the address.
        self.deadlines.schedule(1.0, self._probe_peers)
        if self.sip.agent_login == "static":
            for agent in sorted(self._agents):
                self.cc.agent_login(0.0, agent)

    # --- configuration -------------------------------------------------------------------

    def apply_site(self, site: Site) -> None:
        """Take the SIP settings of `site` (phones, trunk peers, limits)."""
        self.site = site
        self.sip = site.sip
        credentials = {phone.user: phone.ha1_by_algorithm() for phone in site.sip.phones}
        authenticator = DigestAuthenticator(site.sip.realm, credentials, self.secret, self.rng,
                                            algorithms=site.sip.digest_algorithms)
        if hasattr(self, "registrar"):
            # Bindings survive a reload; the same secret keeps issued nonces valid.
            self.registrar.authenticator = authenticator
        else:
            self.registrar = Registrar(authenticator)
        self.peers = TrunkPeers(site.trunk_groups)
        self.peer_status = PeerStatus(probe_targets(site.trunk_groups))
        self._agents = {agent.id for agent in site.expanded_agents()}
        codes = site.sip.feature_codes
        self._features = {codes.login: "login", codes.logout: "logout",
                          codes.ready: "ready", codes.not_ready: "not_ready"}

    def reload(self, site: Site, now: float) -> None:
        """A validated new configuration: SIP settings and phones apply at once. Queues,
        agents and routes in call control keep their old shape until a restart (calls in
        progress hold references into them)."""
        self.apply_site(site)
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
        super().receive_datagram(data, source, now)

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

    def set_overloaded(self, overloaded: bool) -> None:
        """The driver finds the appliance short of CPU: new calls get 503 with Retry-After
        until it says otherwise; calls in progress and OPTIONS are served as before."""
        self.overloaded = overloaded

    def is_idle(self) -> bool:
        # Keep-alive probes do not count: a dead gateway must not hold up a shutdown.
        return not self._by_dialog and not self._by_invite and not self._requests

    @property
    def active_calls(self) -> int:
        return len(self._callers)

    # --- plumbing ----------------------------------------------------------------------------

    def _pump(self, now: float) -> None:
        """Carry out call control's actions and the layer's effects until both are quiet."""
        cc = self.cc
        layer = self.layer
        while True:
            if cc.outbox:
                for action in cc.take_actions():
                    self._act(action, now)
                continue
            effects = layer.take_effects()
            if not effects:
                return
            self._carry_out(effects, now)

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
        response = make_response(request, status, reason)
        headers = response.headers
        if tag is not None and status > 100:
            to = parse_name_addr(headers.get("To") or "")
            if to.tag is None:
                headers = headers.replace("To", f"{headers.get('To')};tag={tag}")
        for name, value in extra or ():
            headers = headers.add(name, value)
        if body:
            headers = headers.add("Content-Type", "application/sdp")
        response = Response(status, reason, headers, body)
        self.layer.send_response(response, now)
        return response

    def _send(self, leg: Leg, request: Request, purpose: str, now: float) -> None:
        key = self.layer.send_request(request, leg.peer, now)
        self._requests[key] = (leg, purpose)

    # --- requests ------------------------------------------------------------------------------

    def _on_request(self, request: Request, now: float) -> None:
        method = request.method
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
        return [("Allow", ALLOW), ("Accept", "application/sdp"), ("Supported", "timer")]

    def _register(self, request: Request, now: float) -> None:
        response = self.registrar.handle(request, self._source, now)
        self.layer.send_response(response, now)
        self._registrations_changed(now)

    def _registrations_changed(self, now: float) -> None:
        for user, registered in self.registrar.take_changes():
            if self.sip.agent_login != "register" or user not in self._agents:
                continue
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
        group = self.peers.group_for(self._source)
        if group is not None:
            self._trunk_call(request, group, now)
        else:
            self._station_call(request, now)

    def _trunk_call(self, request: Request, group: str, now: float) -> None:
        terms = uas_session_terms(request, self.sip.session_expires, self.sip.min_se)
        if terms.refusal is not None:
            self._respond(request, terms.refusal, "Session Interval Too Small", now,
                          [("Min-SE", str(self.sip.min_se))])
            return
        ani = _user_of(request.headers.get("From"))
        dnis = _user_of_uri(request.uri) if self.site.trunk_group(group).carries_dnis else ""
        leg = self._incoming_leg(Role.CALLER, request, now)
        self._set_session(leg, terms)
        call = self.cc.offer_call(now, group, ani, dnis)
        leg.call = call
        self._callers[call] = leg
        if call in self.cc.calls:
            self._respond(request, 180, "Ringing", now, tag=leg.local_tag)
        # Otherwise it was blocked or refused: call control's HangUpCaller answers it.

    def _incoming_leg(self, role: Role, request: Request, now: float) -> Leg:
        key = transaction_key(request)
        leg = Leg(role, 0, "", request, key, new_tag(self.rng), self._source)
        leg.allows_update = "UPDATE" in _allowed(request)
        self._by_invite[key] = leg
        self._by_dialog[(leg.sip_call_id, leg.local_tag)] = leg
        return leg

    def _station_call(self, request: Request, now: float) -> None:
        result = self.registrar.authenticator.verify(request, now)
        if result.user is None:
            self.layer.send_response(result.response, now)
            return
        feature = self._features.get(_user_of_uri(request.uri))
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
        state = cc.acd.agents[agent].state
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
            self._respond(request, 200, "OK", now)
            self._peer_hung_up(leg, now)
        elif method == "INVITE":
            self._reinvite(leg, request, now)
        elif method == "UPDATE":
            leg.peer_refresh_seen = True
            self._respond(request, 200, "OK", now, self._session_headers(leg))
        else:  # OPTIONS, INFO: nothing to relay until media and DTMF are anchored
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
        leg = self._by_invite.get(invite_key)
        if leg is None or leg.dialog is not None:
            return
        self._respond(leg.invite, 487, "Request Terminated", now, tag=leg.local_tag)
        self._forget(leg)
        if leg.role is Role.CALLER:
            self.cc.caller_hangup(now, leg.call)

    # --- re-INVITE: hold and resume, relayed to the other leg --------------------------------

    def _reinvite(self, leg: Leg, request: Request, now: float) -> None:
        leg.peer_refresh_seen = True
        other = leg.partner
        if other is None or not other.confirmed or not request.body:
            # A refresh with no offer, or nobody to relay to: answer with what we last sent.
            self._answer(leg, leg.sent_body, now, request)
            return
        if leg.reinvite_key is not None or other.reinvite_key is not None:
            self._respond(request, 491, "Request Pending", now)
            return
        leg.reinvite_key = transaction_key(request)
        relayed = self._in_dialog_request(other, "INVITE", now, request.body)
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
            self._respond(request, status, reason, now)
            return
        self._answer(leg, response.body, now, request)
        if leg.role is Role.AGENT:
            if is_hold(request.body):
                self.cc.agent_hold(now, leg.agent)
            else:
                self.cc.agent_resume(now, leg.agent)

    # --- our 2xx to an INVITE, retransmitted until ACKed (RFC 3261 13.3.1.4) ----------------

    def _answer(self, leg: Leg, body: bytes, now: float, request: Request | None = None) -> None:
        request = request or leg.invite
        extra = [("Contact", self._contact), ("Allow", ALLOW), *self._session_headers(leg)]
        if leg.dialog is None:
            leg.dialog = Dialog.from_uas(request, leg.local_tag, local_via=self._via)
        ok = self._respond(request, 200, "OK", now, extra, body, tag=leg.local_tag)
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
            self._lost(leg, now)
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
            self._lost(leg, now)

    # --- keep-alive OPTIONS to trunk peers ---------------------------------------------------

    def _probe_peers(self, now: float) -> None:
        interval = self.sip.probe_interval
        if interval and not self.shutting_down:
            for peer in self.peer_status.targets:
                self._probe(peer, now)
        self.deadlines.schedule(now + (interval or 60.0), self._probe_peers)

    def _probe(self, peer: Address, now: float) -> None:
        host = f"[{peer[0]}]" if ":" in peer[0] else peer[0]
        request = Request("OPTIONS", f"sip:{host}:{peer[1]}", Headers([
            ("Via", f"{self._via};branch={new_branch(self.rng)}"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:ccbox@{self._hostport}>;tag={new_tag(self.rng)}"),
            ("To", f"<sip:{host}:{peer[1]}>"),
            ("Call-ID", f"{self.rng.getrandbits(64):016x}@{self.local[0]}"),
            ("CSeq", "1 OPTIONS"),
            ("Allow", ALLOW),
        ]))
        self._probes[self.layer.send_request(request, peer, now)] = peer

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
                self._send_bye(leg, now)
        # Announce and WrapUp need no signalling: prompts belong to the media layer.

    def _ring(self, call: int, agent: str, now: float) -> None:
        caller = self._callers.get(call)
        bindings = self.registrar.lookup(agent, now)
        if caller is None or not bindings:
            self.cc.agent_decline(now, agent, call)
            return
        binding = bindings[0]
        ani = caller_ani = _user_of(caller.invite.headers.get("From"))
        if not _URI_USER.fullmatch(caller_ani):
            ani = "anonymous"
        tag = new_tag(self.rng)
        call_id = f"{self.rng.getrandbits(64):016x}@{self.local[0]}"
        headers = [
            ("Via", f"{self._via};branch={new_branch(self.rng)}"),
            ("Max-Forwards", "70"),
            ("From", f'"{caller_ani}" <sip:{ani}@{self._hostport}>;tag={tag}'),
            ("To", f"<sip:{agent}@{self._hostport}>"),
            ("Call-ID", call_id),
            ("CSeq", "1 INVITE"),
            ("Contact", self._contact),
            ("Allow", ALLOW),
            ("Supported", "timer"),
            ("Session-Expires", f"{self.sip.session_expires};refresher=uac"),
            ("Min-SE", str(self.sip.min_se)),
        ]
        if caller.invite.body:
            headers.append(("Content-Type", "application/sdp"))
        invite = Request("INVITE", binding.contact, Headers(headers), caller.invite.body)
        key = transaction_key(invite)
        leg = Leg(Role.AGENT, call, agent, invite, key, tag, binding.source)
        leg.session_interval = self.sip.session_expires
        self._agent_legs[(call, agent)] = leg
        self._by_invite[key] = leg
        self._by_dialog[(call_id, tag)] = leg
        self.layer.send_request(invite, binding.source, now)

    def _stop_ringing(self, call: int, agent: str, now: float) -> None:
        leg = self._agent_legs.get((call, agent))
        if leg is None or leg.cancelling or leg.dialog is not None:
            return
        leg.cancelling = True
        if leg.provisional:
            self._send_cancel(leg, now)

    def _send_cancel(self, leg: Leg, now: float) -> None:
        invite = leg.invite
        number, _ = parse_cseq(invite.headers.get("CSeq") or "")
        headers = [(name, invite.headers.get(name) or "")
                   for name in ("Via", "Max-Forwards", "From", "To", "Call-ID")]
        headers.append(("CSeq", f"{number} CANCEL"))
        self._send(leg, Request("CANCEL", invite.uri, Headers(headers)), "cancel", now)

    def _connect(self, call: int, agent: str, now: float) -> None:
        caller = self._callers.get(call)
        agent_leg = self._agent_legs.get((call, agent))
        if caller is None or agent_leg is None:
            return
        caller.partner, agent_leg.partner = agent_leg, caller
        self._answer(caller, agent_leg.answer_body, now)
        self._start_session_timer(caller, now)
        self._start_session_timer(agent_leg, now)

    def _hang_up_caller(self, call: int, cause: EndCause, now: float) -> None:
        leg = self._callers.get(call)
        if leg is None:
            return
        status, reason = _REFUSALS.get(cause, (480, "Temporarily Unavailable"))
        self._end_caller_leg(leg, status, reason, now)

    def _end_caller_leg(self, leg: Leg, status: int, reason: str, now: float) -> None:
        if leg.ended:
            return
        if leg.dialog is None:
            self._respond(leg.invite, status, reason, now, tag=leg.local_tag)
            self._forget(leg)
        else:
            self._send_bye(leg, now)

    def _send_bye(self, leg: Leg, now: float) -> None:
        if leg.ended:
            return
        if leg.dialog is None:
            self._forget(leg)
            return
        self._send(leg, self._in_dialog_request(leg, "BYE", now), "bye", now)
        self._forget(leg)

    def _in_dialog_request(self, leg: Leg, method: str, now: float, body: bytes = b"") -> Request:
        assert leg.dialog is not None
        request = leg.dialog.make_request(method, self.rng)
        headers = request.headers
        if method in ("INVITE", "UPDATE"):
            headers = headers.add("Contact", self._contact)
            for name, value in self._session_headers(leg):
                headers = headers.add(name, value)
        if body:
            headers = headers.add("Content-Type", "application/sdp")
            leg.sent_body = body
        return Request(method, request.uri, headers, body)

    # --- responses to our requests --------------------------------------------------------------

    def _on_response(self, response: Response, now: float) -> None:
        key = transaction_key(response)
        peer = self._probes.pop(key, None) if response.status >= 200 else None
        if peer is not None:
            self.peer_status.answered(peer)  # any final answer: the peer is alive
            return
        leg = self._by_invite.get(key)
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
            if not leg.provisional:
                leg.provisional = True
                if leg.cancelling:
                    self._send_cancel(leg, now)
            return
        del self._by_invite[leg.invite_key]
        if status >= 300:
            self._forget(leg)
            if not leg.cancelling:
                self.cc.agent_decline(now, leg.agent, leg.call)
            return
        self._agent_answered(leg, response, now)

    def _agent_answered(self, leg: Leg, response: Response, now: float) -> None:
        leg.dialog = Dialog.from_uac(leg.invite, response)
        leg.answer_body = response.body
        leg.allows_update = "UPDATE" in _allowed(response)
        expires = parse_session_expires(response.headers.get("Session-Expires"))
        if expires is None:
            leg.session_interval = 0  # the phone does not do session timers
        else:
            leg.session_interval, refresher = expires
            leg.we_refresh = refresher != "uas"
        leg.ack = leg.dialog.make_ack(1, self.rng)
        self.layer.send_request(leg.ack, leg.peer, now)
        if leg.cancelling or not self.cc.agent_answer(now, leg.agent, leg.call):
            self._send_bye(leg, now)  # the CANCEL/200 race, or the call went elsewhere

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
            elif status in _DIALOG_GONE:
                logger.info("session refresh failed (%s) on %r: ending the call", status, leg)
                self._lost(leg, now)
            else:
                self._start_session_timer(leg, now)  # e.g. 491: try again next interval

    def _ack_in_dialog(self, leg: Leg, response: Response, now: float) -> None:
        assert leg.dialog is not None
        number, _ = parse_cseq(response.headers.get("CSeq") or "")
        leg.ack = leg.dialog.make_ack(number, self.rng)
        self.layer.send_request(leg.ack, leg.peer, now)

    def _timed_out(self, key: Key, now: float) -> None:
        peer = self._probes.pop(key, None)
        if peer is not None:
            self.peer_status.timed_out(peer)
            return
        leg = self._by_invite.get(key)
        if leg is not None and leg.role is Role.AGENT and leg.dialog is None:
            del self._by_invite[key]
            self._forget(leg)
            if not leg.cancelling:
                self.cc.agent_decline(now, leg.agent, leg.call)
            return
        entry = self._requests.pop(key, None)
        if entry is not None:
            self._request_answered(entry[0], entry[1], None, now)

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
        self._by_invite.pop(leg.invite_key, None)
        if leg.role is Role.CALLER:
            self._callers.pop(leg.call, None)
        elif leg.role is Role.AGENT:
            self._agent_legs.pop((leg.call, leg.agent), None)
        for timer in (leg.ok_timer, leg.session_timer):
            if timer is not None:
                timer.cancel()
        leg.ok_timer = leg.session_timer = None
        leg.partner = None  # the two legs of a call must not keep each other alive


def _user_of(name_addr: str | None) -> str:
    try:
        return _user_of_uri(parse_name_addr(name_addr or "").uri)
    except (SipError, ValueError):
        return ""


def _user_of_uri(uri: str) -> str:
    try:
        return parse_uri(uri).user or ""
    except (SipError, ValueError, AttributeError):
        return ""


def _allowed(message: Request | Response) -> set[str]:
    return {method.strip().upper() for value in message.headers.get_all("Allow")
            for method in split_values(value)}
