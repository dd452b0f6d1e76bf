"""The appliance's SIP face: a back-to-back user agent in front of call control.

A call from a trunk is one leg (the appliance is its UAS); call control routes and queues it,
the ACD picks an agent, and the appliance rings the agent's registered phone on a second leg
(as UAC). Each leg is a state machine of its role (`appliance.pbx.legs`). With a media plane
the appliance anchors the call's RTP (`anchor.py`): the caller is answered when queued and
hears prompts and music, and each party sees only the relay's ports. Without one
(SIP-fidelity simulation) the caller hears ringing and gets the agent's SDP in its 200.
Everything call control decides arrives as its actions (RingAgent, StopRinging, Connect,
Announce, HangUp*, StartSurvey (the caller stays after the agent's BYE), RecordMessage and
StopMessage (voicemail: `voicemail.py`; phones SUBSCRIBE to mailboxes: `mwi.py`), the IVR's
AnswerCaller, PlayPrompts, StopPrompts and LookUp: `ivr.py`, and the callback's actions:
`callback.py`), so a live call and a simulated
one leave the same call records in the event log. Every digit a caller sends (RFC 4733,
in-band or INFO) is logged and given to call control; an agent's are logged and read as
in-call feature codes (`incall.py`).

`B2bua` routes: what the transaction layer delivers goes to the leg it concerns and to the
part that deals with it (phones, agents' side, dialogs, re-INVITE relay, media anchor), and
call control's actions to the agents' side and the legs. Sans-I/O like the rest of the PBX:
datagrams, their source and `now` in, datagrams out (`take_datagrams`), one timer heap shared
with call control and the transaction layer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from random import Random
from typing import TYPE_CHECKING

from appliance.clock import Deadlines
from appliance.config import expand_id_range
from appliance.eventlog import EventLog
from appliance.events import DigitReceived, EndCause, PortLateRelease, new
from appliance.media.dtmf import FLASH, info_digit
from appliance.media.plane import MixBroken
from appliance.media.prompts import position_announcement, wait_announcement
from appliance.media.relay import AGENT, CALLER
from appliance.net import Address
from appliance.pbx import actions
from appliance.pbx.acd.callback import PendingCallback
from appliance.pbx.b2bua.agents import AgentSide
from appliance.pbx.b2bua.anchor import PARTIES, MediaAnchor
from appliance.pbx.b2bua.answers import Answers
from appliance.pbx.b2bua.attended import AttendedTransfers
from appliance.pbx.b2bua.callback import CallbackCalls
from appliance.pbx.b2bua.campaigns import CampaignCalls
from appliance.pbx.b2bua.conference import Conferences
from appliance.pbx.b2bua.consultation import Consultations
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.dialout import DialOut
from appliance.pbx.b2bua.ending import UNAVAILABLE, LegEnding
from appliance.pbx.b2bua.extensions import ExtensionCalls
from appliance.pbx.b2bua.features import FeatureCodes
from appliance.pbx.b2bua.forwarding import Forwarding
from appliance.pbx.b2bua.incall import InCallKeys
from appliance.pbx.b2bua.intake import CallIntake
from appliance.pbx.b2bua.internal import InternalCalls
from appliance.pbx.b2bua.ivr import IvrCalls
from appliance.pbx.b2bua.legbook import LegBook
from appliance.pbx.b2bua.local import LocalAddress
from appliance.pbx.b2bua.logins import AgentLogins
from appliance.pbx.b2bua.mwi import MessageWaiting
from appliance.pbx.b2bua.outside import OutsideCalls
from appliance.pbx.b2bua.parking import ParkCalls
from appliance.pbx.b2bua.pauses import InternalPauses
from appliance.pbx.b2bua.phones import Phones
from appliance.pbx.b2bua.probe import PeerProbes
from appliance.pbx.b2bua.relay import ReinviteRelay
from appliance.pbx.b2bua.retrieval import Retrievals
from appliance.pbx.b2bua.ringgroups import RingGroupCalls
from appliance.pbx.b2bua.seatports import SeatPorts
from appliance.pbx.b2bua.supervision import Supervision
from appliance.pbx.b2bua.transfer import Transfers
from appliance.pbx.b2bua.transferout import TransfersOut
from appliance.pbx.b2bua.voicemail import Messages
from appliance.pbx.b2bua.wire import (
    ACCEPT,
    ALLOW,
    REFUSALS,
    SUPPORTED_METHODS,
    content_refusal,
)
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.features.campaign import Contact, Past
from appliance.pbx.ivr import PromptSeconds
from appliance.pbx.legs import Leg, LegEvent, LegState, LegStateError, Role
from appliance.pbx.sip.dialog import new_tag
from appliance.pbx.sip.endpoint import Endpoint
from appliance.pbx.sip.layer import CancelRequested, Key
from appliance.pbx.sip.message import Request, Response, SipError, parse_name_addr
from appliance.pbx.sip.transaction import Deliver, transaction_key

if TYPE_CHECKING:
    from appliance.config import Site
    from appliance.config.live import RequestLimit
    from appliance.media.plane import MediaPlane
    from appliance.wallclock import WallClock

logger = logging.getLogger(__name__)

NOWHERE: Address = ("", 0)  # the source of what no datagram brought (a timer, the media)


class B2bua(Endpoint):
    """The SIP side of the appliance. Satisfies `appliance.live.core.DatagramCore`.

    With a `MediaPlane` (`media_for(deadlines)` builds it on the core's timer heap) the
    appliance anchors every call's RTP: callers are answered when queued and hear prompts and
    music, calls are recorded. Without one, signalling only: callers hear ringing (180) until
    an agent answers, and the two parties' SDP pass through (as in SIP-fidelity simulation).
    """

    def __init__(self, site: Site, log: EventLog, rng: Random, secret: bytes,
                 local: Address = ("127.0.0.1", 5060),
                 media_for: Callable[[Deadlines], MediaPlane] | None = None, *,
                 sip_ids: Random | None = None, wallclock: WallClock | None = None,
                 prompt_seconds: PromptSeconds | None = None) -> None:
        self.log = log
        # `rng` is the ACD's alone; tags, Call-IDs, branches and nonces come from `sip_ids`, so
        # that one SIP message more or less never changes which agent the ACD picks. Without
        # `sip_ids` it is seeded by one draw of `rng`, here, before any call.
        self.rng = Random(rng.getrandbits(64)) if sip_ids is None else sip_ids
        self.cc = CallControl(site, log, rng, wallclock=wallclock,
                              prompt_seconds=prompt_seconds)
        super().__init__(self.cc.deadlines, SUPPORTED_METHODS, frozenset({"timer"}))
        self.media = None if media_for is None else media_for(self.cc.deadlines)
        self.phones = Phones(site.sip, secret, self.rng, self.layer, self.deadlines)
        self.here = LocalAddress(local)
        self.legs = LegBook()
        self.answers = Answers(self.layer, log)
        self.dialogs = Dialogs(self.layer, self.deadlines, self.answers, self.here, self.rng,
                               self.legs, self._lost)
        self.anchor = None if self.media is None else MediaAnchor(
            self.media, log, self.cc, self.rng, self.legs, self._lost)
        self.relay = ReinviteRelay(self.dialogs, self.answers, self.anchor, self.cc)
        self.ending = LegEnding(self.legs, self.dialogs, self.answers, self.relay, self.anchor,
                                self.cc)
        self.agent_side = AgentSide(self.dialogs, self.ending, self.phones, self.anchor, self.cc,
                                    site.sip)
        self.logins = AgentLogins(self.phones, self.cc, self.layer, self.deadlines)
        self.features = FeatureCodes(self.cc)
        self._own_calls(log)
        attended = AttendedTransfers(self.extensions, self.ending, self.anchor, self.cc)
        self.transfers = Transfers(self.dialogs, self.answers, self.anchor, self.cc,
                                   self.phones, attended)
        self.consultations = Consultations(self.extensions)
        self.consultations.reoffer = self.transfers.reconnect
        self.ending.agent_hung_up = self.consultations.agent_hung_up
        self.supervision = Supervision(self.dialogs, self.ending, self.anchor, self.internal,
                                       log, self.pauses)
        self.conferences = Conferences(self.dialogs, self.ending, self.anchor, self.internal,
                                       log, self.pauses, self.cc)
        self.intake = CallIntake(self.dialogs, self.phones, self.logins, self.features,
                                 self.extensions, self.dialout, self.anchor, self.cc,
                                 self.forwarding, self.supervision, self.conferences)
        self.parking = ParkCalls(self.dialogs, self.ending, self.anchor, self.cc)
        self.intake.parking = self.parking
        self.intake.ring_groups = self.ring_groups
        self.ring_groups.queued = self.intake.wait_in_queue
        self.ending.owned = self.internal.owns
        self.transfers.park = self.parking.park
        self.transfers.rooms = self.conferences
        self.transfers.out = TransfersOut(self.transfers, self.ending, self.agent_side,
                                          self.extensions, self.dialout, self.outside,
                                          self.internal, self.pauses)
        self.in_call = InCallKeys(self.transfers, self.anchor, self.cc, self.deadlines)
        self.in_call.consultations = self.consultations
        self.ending.farewell = self.in_call.farewell
        self.consultations.out = self.transfers.out
        self.transfers.out.groups = self.ring_groups
        self.waiting = MessageWaiting(self.layer, self.answers, self.deadlines, self.here,
                                      self.rng, self.phones)
        self.retrieval = Retrievals(self.dialogs, self.ending, self.anchor, self.waiting,
                                    self.cc.prompt_seconds)
        self.retrieval.internal = self.internal
        self.intake.retrieval = self.retrieval
        if self.anchor is not None:
            self.anchor.own_digit = self._own_digit
            self.anchor.mix_broken = self._mix_broken
            self.anchor.agent_digit = self._agent_digit
            self.anchor.line_tones_of = self._line_tones_of
            self.anchor.line_tone = self._line_tone
            self.anchor.line_silence_of = lambda call: self.intake.ports.silence_bound(call)
            self.anchor.line_silent = self._line_silent
        self.ivr = IvrCalls(self.dialogs, self.anchor, self.cc)
        self.callbacks = CallbackCalls(self.dialogs, self.ending, self.outside, self.anchor,
                                       self.cc, self.internal, self.ivr, log)
        self.agent_side.callback_offer = self.callbacks.agent_offer
        self.campaigns = CampaignCalls(self.dialogs, self.outside, self.anchor, self.cc,
                                       self.internal, log, wallclock)
        self.ending.customer_ended = self._customer_ended
        self.ending.caller_ended = lambda call, now: self.intake.ports.ended(call, now)
        self.messages = Messages(self.anchor, self.cc, log, self.waiting)
        self.shutting_down = False
        self.overloaded = False
        self.probes = PeerProbes(self.layer, self.deadlines, self.rng, self.here, site.sip)
        self.probes.on_change = self._peer_changed
        self.logins.registrations_changed = self._gateways_registered
        self.outside.ports = self.intake.ports
        self.seats = SeatPorts(self.intake.ports)
        self.phones.seats = self.seats
        self.ending.agent_ended = lambda leg, now: self.seats.ended(leg.agent, leg, now)
        self.apply_site(site)
        self.probes.start()
        self.logins.start()

    def _own_calls(self, log: EventLog) -> None:
        """The B2BUA's own calls, beside call control's: between phones, and out through a
        trunk (`outside.py` is the API that places an outside call)."""
        self.internal = InternalCalls()
        self.forwarding = Forwarding(log)
        self.pauses = InternalPauses(self.cc)
        self.extensions = ExtensionCalls(self.dialogs, self.ending, self.agent_side,
                                         self.phones, self.anchor, self.cc, log, self.internal,
                                         self.forwarding, self.pauses)
        self.outside = OutsideCalls(self.agent_side, self.ending, self.cc, log)
        self.dialout = DialOut(self.dialogs, self.ending, self.outside, self.anchor, self.cc,
                               self.internal, self.pauses)
        self.internal.outside = self.outside
        self.extensions.dialout = self.dialout
        self.ring_groups = RingGroupCalls(self.extensions, log)
        self.agent_side.internal = self.internal
        self.ending.internal_ended = self.internal.leg_ended

    # --- configuration -------------------------------------------------------------------

    def apply_site(self, site: Site, now: float = 0.0) -> None:
        """Take the SIP settings of `site` (phones, trunk peers, gateways, limits) at `now`."""
        self.site = site
        self.sip = site.sip
        self.phones.apply(site.sip, site.gateways)
        self.agent_side.apply(site.sip)
        self.intake.apply(site)
        self.seats.apply(site.gateways, expand_id_range)
        self.probes.apply(site.sip, site.trunk_groups, self.intake.ports.addresses())
        self._gateways_registered(now)
        self.logins.apply(site)
        self.features.apply(site.sip.feature_codes)
        self.parking.apply(site.sip.feature_codes)
        self.extensions.apply(site.sip)
        self.ring_groups.apply(site.sip)
        self.transfers.park_number = site.sip.park.number
        self.in_call.apply(site.sip.in_call_codes)
        self.forwarding.apply(site.sip)
        self.dialout.apply(site)
        self.supervision.apply(site.sip)
        self.conferences.apply(site.sip)
        self.ivr.apply(site)
        self.callbacks.apply(site)
        self.waiting.apply(site.voicemail)
        self.retrieval.apply(site.voicemail, site.media.language)
        if self.media is not None:
            self.media.language = site.media.language  # of the prompts not said in another

    def reload(self, site: Site, now: float) -> None:
        """A validated new configuration, for new calls: SIP settings and phones at once,
        and call control's queues, agents, skills, routes and trunk groups (`CallControl.
        reload`); calls up keep going. An agent added whose phone is registered already is
        logged in as if it had just registered (with `agent_login: static`, at once); the
        others keep the state they are in."""
        before = self.logins.agents
        self.apply_site(site, now)
        self.cc.reload(site, now)
        self.logins.reloaded(before, now)
        self._pump(now)

    def run_campaigns(self, lists: Mapping[str, Sequence[Contact]], now: float,
                      past: Mapping[str, Mapping[str, Past]] | None = None) -> None:
        """Dial the campaigns the site marks ``start`` and stop the others
        (`CampaignCalls.run`); `lists`: the numbers of each to start, as read now; `past`:
        their numbers as earlier runs left them (the records', at start)."""
        self.campaigns.run(self.site, lists, now, past)
        self._pump(now)

    def carry_callbacks(self, pending: Sequence[tuple[PendingCallback, float]],
                        now: float) -> list[int | None]:
        """Put back the callbacks earlier runs left pending, each with the seconds it has
        waited (`CallControl.carry_callback`); the new call ids, None for one whose queue no
        longer offers callbacks."""
        ids = [self.cc.carry_callback(now, callback, waited) for callback, waited in pending]
        self._pump(now)
        return ids

    def bind(self, local: Address) -> None:
        """The address the transport listens on (used in Via and Contact)."""
        self.here.bind(local)

    @property
    def local(self) -> Address:
        return self.here.address

    # --- the driver's side -----------------------------------------------------------------

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        self.layer.receive_datagram(data, source, now)
        self._pump(now, source)

    def receive_media(self, local_port: int, data: bytes, source: Address, now: float) -> None:
        """One RTP datagram on a relay port; call `media_done` after a batch of them."""
        assert self.media is not None
        self.media.relay.receive(local_port, data, source, now)

    def media_done(self, now: float) -> None:
        """Act on what the media received (digits, ...); then drain both outboxes."""
        if self.media is not None and self.media.has_events:
            self._pump(now)

    def shutdown(self, now: float) -> None:
        """Refuse new calls and end every call in the appliance."""
        self.shutting_down = self.probes.paused = True
        self.campaigns.stop_all(now)
        self.callbacks.stop(now)  # first: what it carries over is not ended as a hang-up
        for call in list(self.legs.callers):
            self.cc.caller_hangup(now, call)
            leg = self.legs.callers.get(call)
            if leg is not None:
                self.ending.hang_up(leg, now, refusal=(503, "Service Unavailable"))
                self.internal.leg_ended(leg, now)  # one of the B2BUA's own calls: both legs
        self.outside.hang_up_all(now)  # those placed for no phone
        for leg in list(self.legs.dialogs.values()):
            if leg.role is Role.FEATURE:
                self.ending.hang_up(leg, now)
        self._pump(now)

    def log_durable(self, mark: int, now: float) -> None:
        """The event log is durable up to `mark` (see `EventLog.durability`): send the answers
        that waited for it."""
        self.answers.release(mark, now)
        self._pump(now)

    def take_lookups(self) -> list[actions.LookUp]:
        """The lookups the IVR asked for since the last call, oldest first: the driver
        carries each out (`Lookups.look_up`) and answers with `lookup_done`."""
        return self.ivr.take_lookups()

    def lookup_done(self, call: int, fields: Mapping[str, str] | None, now: float) -> None:
        """The answer to a `LookUp` of `call`: the fields found, {} for none, None if the
        lookup failed."""
        self.cc.lookup_done(now, call, fields)
        self._pump(now)

    def set_overloaded(self, overloaded: bool) -> None:
        """The driver finds the appliance short of CPU: new calls get 503 with Retry-After
        until it says otherwise; calls in progress and OPTIONS are served as before."""
        self.overloaded = overloaded

    @property
    def retry_after(self) -> int:
        """Seconds a refused caller is asked to wait (Retry-After of our 503s)."""
        return self.sip.retry_after

    @property
    def request_limit(self) -> RequestLimit:
        """The per-source limit the driver applies to requests that are not a call's own."""
        return self.sip.request_limit

    def is_idle(self) -> bool:
        # Keep-alive probes do not count: a dead gateway must not hold up a shutdown.
        return self.legs.empty and not self.dialogs.requests and not self.answers.waiting

    @property
    def active_calls(self) -> int:
        return len(self.legs.callers)

    # --- plumbing ----------------------------------------------------------------------------

    def _pump(self, now: float, source: Address = NOWHERE) -> None:
        """Carry out call control's actions and the layer's effects until both are quiet;
        `source` sent the datagram being handled, if any."""
        cc = self.cc
        layer = self.layer
        anchor = self.anchor
        while True:
            actions = cc.take_actions()
            if actions:
                for action in actions:
                    self._act(action, now)
                continue
            if anchor is not None and anchor.media.has_events:
                for event in anchor.media.take_events():
                    anchor.event(event, now)
                continue
            effects = layer.take_effects()
            if not effects:
                break
            self._carry_out(effects, now, source)
        self.answers.input_done()

    def _carry_out(self, effects: list, now: float, source: Address = NOWHERE) -> None:
        for effect in effects:
            if type(effect) is Deliver:
                self._route(effect.message, source, now)
            else:
                super()._carry_out([effect], now)

    def _route(self, message: object, source: Address, now: float) -> None:
        try:
            if type(message) is Request:
                self._on_request(message, source, now)
            elif type(message) is Response:
                self._on_response(message, now)
            elif type(message) is CancelRequested:
                self._on_cancel(message.invite_key, now)
        except (SipError, ValueError, LegStateError) as error:
            # A message the layer accepted but a dialog cannot use (e.g. no Contact), or one
            # its leg's state does not allow.
            logger.info("dropped a %s: %s", type(message).__name__, error)

    def _customer_ended(self, leg: Leg, now: float) -> None:
        """A customer the box called (back, or for a campaign) has left its call."""
        self.callbacks.customer_ended(leg, now)
        self.campaigns.customer_ended(leg, now)

    def _lost(self, leg: Leg, event: LegEvent, now: float) -> None:
        self.ending.lost(leg, event, now)

    # --- gateway ports ---------------------------------------------------------------------------

    def _line_tones_of(self, call: int) -> tuple:
        """The tones that say the far end of `call`'s caller line has hung up (none but on a
        gateway's analog port, whose hang-ups are heard that way)."""
        port = self.intake.ports.call_port(call)
        return port.tones if port is not None and port.listens_for_tone else ()

    def _line_tone(self, call: int, tone: str, now: float) -> None:
        """Busy or reorder tone on `call`'s line: its far end is gone; the call ends as if the
        caller had hung up, and our BYE frees the gateway's line."""
        caller = self.legs.callers.get(call)
        if self.intake.ports.line_tone(call, now) and caller is not None and not caller.ended:
            logger.info("call %d: %s tone on its line: the far end hung up", call, tone)
            self._lost(caller, LegEvent.LOST, now)

    def _line_silent(self, call: int, seconds: float, now: float) -> None:
        """`seconds` of silence on `call`'s line, which gives no other sign: its far end is
        taken for gone. The call ends as a caller's hang-up; `PortLateRelease` notes that the
        line was left that long before."""
        ref = self.intake.ports.call_port(call)
        caller = self.legs.callers.get(call)
        if ref is None or not self.intake.ports.line_silent(call, now):
            return
        logger.info("call %d: %.0f s of silence on its line: taken as a hang-up", call, seconds)
        self.log.append(new(PortLateRelease, (now, ref.gateway, ref.port, ref.group, seconds)))
        if caller is not None and not caller.ended:
            self._lost(caller, LegEvent.LOST, now)

    def _peer_changed(self, peer: Address, up: bool, now: float) -> None:
        """A gateway stopped answering OPTIONS (its ports out of service, their calls ended)
        or answers again (its ports back)."""
        ports = self.intake.ports
        name = ports.addresses().get(peer)
        if name is None:
            return
        if up:
            ports.gateway_up(name, now)
        else:
            self._ports_lost(ports.gateway_down(name, now), now)

    def _gateways_registered(self, now: float) -> None:
        """Registering gateways (or their ports) are where their newest registrations say:
        unregistered ports out of service and their calls ended, OPTIONS probes sent to
        where they are now."""
        ports, registrar = self.intake.ports, self.phones.registrar
        where = {account: next((b.source for b in registrar.lookup(account, now)), None)
                 for account in ports.accounts}
        before = ports.addresses()
        self._ports_lost(ports.locate(where, now), now)
        if ports.addresses() != before:
            self.probes.apply(self.sip, self.site.trunk_groups, ports.addresses())

    def _ports_lost(self, calls: list[int], now: float) -> None:
        """Calls `calls` on gateway ports, and the agents' calls on seats' ports, taken out
        of service, end."""
        for call in calls:
            caller = self.legs.callers.get(call)
            if caller is not None and not caller.ended:
                self._lost(caller, LegEvent.LOST, now)
        for leg in self.seats.legs_out():  # agents' calls on station ports
            if not leg.ended:
                self._lost(leg, LegEvent.LOST, now)

    # --- requests ------------------------------------------------------------------------------

    def _on_request(self, request: Request, source: Address, now: float) -> None:
        method = request.method
        refusal = content_refusal(request)
        if refusal is not None:
            self.answers.respond(request, *refusal, now, [("Accept", ACCEPT)],
                                 tag=new_tag(self.rng))
            return
        to_tag = parse_name_addr(request.headers.get("To") or "").tag
        if to_tag is not None:
            self._in_dialog(request, to_tag, now)
        elif method == "INVITE":
            self._new_invite(request, source, now)
        elif method == "REGISTER":
            self.logins.register(request, source, now)
        elif method == "SUBSCRIBE":
            self.waiting.subscribe(request, source, now)
        elif method == "OPTIONS":
            self.answers.respond(request, 200, "OK", now, self._capabilities(),
                                 tag=new_tag(self.rng))
        elif method != "ACK":
            self.answers.respond(request, 481, "Call/Transaction Does Not Exist", now)

    def _capabilities(self) -> list[tuple[str, str]]:
        return [("Allow", ALLOW), ("Accept", ACCEPT), ("Supported", "timer")]

    def _new_invite(self, request: Request, source: Address, now: float) -> None:
        if self.shutting_down or self.overloaded or self.active_calls >= self.sip.max_calls:
            self.answers.respond(request, 503, "Service Unavailable", now,
                                 [("Retry-After", str(self.sip.retry_after))])
        else:
            self.intake.invite(request, source, now)

    def _in_dialog(self, request: Request, to_tag: str, now: float) -> None:
        call_id = request.headers.get("Call-ID") or ""
        leg = self.legs.dialog(call_id, to_tag)
        method = request.method
        if leg is None and self.waiting.in_dialog(request, to_tag, now):
            return
        if leg is None or leg.dialog is None:
            if method == "BYE" and self.dialogs.is_closing(call_id, to_tag):
                # The peer's BYE crossed ours (RFC 5407 3.2.1): both ends agree it is over.
                self.answers.respond(request, 200, "OK", now)
            elif method != "ACK":
                self.answers.respond(request, 481, "Call/Transaction Does Not Exist", now)
            return
        if method == "ACK":
            self._on_ack(leg, now)
            return
        if not leg.dialog.receive_request(request):
            self.answers.respond(request, 500, "Server Internal Error", now,
                                 [("Retry-After", "1")])
        else:
            self._dialog_request(leg, request, now)

    def _dialog_request(self, leg: Leg, request: Request, now: float) -> None:
        """A request in `leg`'s dialog, in sequence: to the part that deals with it."""
        method = request.method
        if method == "BYE":
            self.ending.peer_hung_up(leg, now)  # first: the 200 waits for the call's end record
            self.answers.respond_once_durable(request, 200, "OK", now)
        elif method == "INVITE":
            self.relay.reinvite(leg, request, now)
        elif method == "REFER":
            self.transfers.refer(leg, request, now)
        elif method == "UPDATE":
            leg.peer_refresh_seen = True
            self.answers.respond(request, 200, "OK", now, self.dialogs.session_headers(leg))
        else:  # INFO, OPTIONS
            self.answers.respond(request, 200, "OK", now)
            if method == "INFO":
                self._info_digit(leg, request, now)

    def _on_ack(self, leg: Leg, now: float) -> None:
        leg.fire(LegEvent.ACK)
        self.dialogs.acked(leg)
        if leg.role is Role.FEATURE:
            self.ending.hang_up(leg, now)  # the feature is done: the phone hears it end

    def _on_cancel(self, invite_key: Key, now: float) -> None:
        leg = self.legs.invites_in.get(invite_key)
        if leg is None or leg.fire(LegEvent.CANCEL) is not LegState.INVITED:
            return  # answered already: the CANCEL crossed our 200 and changes nothing
        self.ending.forget(leg, now)
        if leg.role is Role.CALLER:
            self.cc.caller_hangup(now, leg.call)
            self.internal.leg_ended(leg, now)  # if one of the B2BUA's own calls: its other leg
        self.answers.respond_once_durable(leg.invite, 487, "Request Terminated", now,
                                          tag=leg.local_tag)

    def _own_digit(self, call: int, digit: str, now: float) -> bool:
        """A digit of one of the B2BUA's own calls: True if its owner takes keys (a voicemail
        menu, a supervisor, a conference member): a command, not a caller's digit."""
        if not self.internal.takes_digits(call):
            return False
        self.internal.digit(call, digit, now)
        return True

    def _agent_digit(self, call: int, digit: str, now: float) -> None:
        """An agent's key in RFC 4733: to the in-call codes, with the agent's leg."""
        caller = self.legs.callers.get(call)
        if caller is not None and caller.partner is not None:
            self.in_call.digit(caller.partner, digit, now)

    def _mix_broken(self, event: MixBroken, now: float) -> None:
        self.supervision.broken(event, now)
        self.conferences.broken(event, now)
        self.consultations.broken(event, now)

    def _info_digit(self, leg: Leg, request: Request, now: float) -> None:
        """A digit sent in an INFO (RFC 2976 with application/dtmf-relay or dtmf)."""
        digit = info_digit(request.headers.get("Content-Type") or "", request.body)
        if digit == FLASH and leg.role is not Role.AGENT:
            return  # a flash is an analog agent's transfer key; nothing else takes one
        if digit is not None and leg.call < 0 and self._own_digit(leg.call, digit, now):
            return  # not logged: a PIN may be among them
        if digit is not None and leg.role is not Role.FEATURE:
            party = PARTIES[CALLER if leg.role is Role.CALLER else AGENT]
            self.log.append(new(DigitReceived, (now, leg.call, party, digit, "info")))
            if leg.role is Role.CALLER:
                self.cc.caller_digit(now, leg.call, digit)  # for the IVR, if in it
            else:
                self.in_call.digit(leg, digit, now)

    # --- call control's actions ---------------------------------------------------------------

    def _act(self, action: object, now: float) -> None:
        match action:
            case actions.RingAgent(call=call, agent=agent):
                if not self.parking.rung_by_pickup(call, agent):
                    self.agent_side.ring(call, agent, now)
            case actions.StopRinging(call=call, agent=agent):
                self.agent_side.stop_ringing(call, agent, now)
            case actions.Connect(call=call, agent=agent):
                self._connect(call, agent, now)
            case actions.HangUpCaller(call=call, cause=cause):
                self._hang_up_caller(call, cause, now)
            case actions.HangUpAgent(call=call, agent=agent):
                self._hang_up_agent(call, agent, now)
            case actions.Announce() if self.media is not None:
                names = (position_announcement(action.position)
                         + wait_announcement(action.expected_wait))
                self.media.play(action.call, names, now, self.ivr.language(action.call))
            case actions.AnswerCaller(call=call):
                self.ivr.answer(call, now)
            case actions.PlayPrompts():
                self.ivr.play(action, now)
            case actions.StopPrompts(call=call):
                self.ivr.stop(call)
            case actions.LookUp():
                self.ivr.lookups.append(action)
            case actions.LeaveIvr(call=call):
                self.ivr.queued(call, now)
            case actions.JoinRoom():
                self.conferences.enter(action, now)
            case actions.HuntRingGroup():
                self.ring_groups.take(action, now)
            case actions.StartSurvey(call=call):
                self._survey(call, now)
            case actions.RecordMessage():
                self.messages.record(action, now)
            case actions.StopMessage():
                self.messages.stop(action, now)
            case _:
                self._callback_action(action, now)

    def _callback_action(self, action: object, now: float) -> None:
        callbacks = self.callbacks
        match action:
            case actions.OfferCallback(call=call, key=key):
                callbacks.offer(call, key, now)
            case actions.ReleaseCaller(call=call):
                callbacks.release(call, now)
            case actions.PlaceCallback():
                callbacks.place(action, now)
            case actions.CancelCallback(call=call):
                callbacks.cancel(call, now)
            case actions.ReleaseAgent(call=call, agent=agent):
                callbacks.release_agent(call, agent, now)
        # WrapUp needs no signalling.

    def _connect(self, call: int, agent: str, now: float) -> None:
        caller = self.legs.callers.get(call)
        agent_leg = self.legs.rings.get((call, agent))
        if caller is None or agent_leg is None:
            return
        caller.partner, agent_leg.partner = agent_leg, caller
        dialogs = self.dialogs
        if self.anchor is None:
            if caller.state is LegState.INVITED:
                dialogs.answer(caller, agent_leg.answer_body, now)
                dialogs.start_session_timer(caller, now)
            else:  # answered by an agent before, who transferred the call
                self.transfers.reconnect(caller, agent_leg.answer_body, now)
        else:
            if caller.state is LegState.INVITED:  # early media while queued: answer now
                dialogs.answer(caller, caller.sent_body, now)
                dialogs.start_session_timer(caller, now)
            self.anchor.bridge(call, agent_leg, now, private_keys=True)
        dialogs.start_session_timer(agent_leg, now)

    def _hang_up_agent(self, call: int, agent: str, now: float) -> None:
        leg = self.legs.rings.get((call, agent))
        if leg is not None:
            self.ending.hang_up(leg, now)
        # Transferred, the call goes on without the agent: also when their phone hung up
        # first (completing a consultation), so that the relay lets go of its RTP. A caller
        # a transfer out holds (to a ring group, still call control's) was let go of there.
        caller = self.legs.callers.get(call)
        if caller is not None and call in self.cc.calls and not self.internal.owns(call):
            self.transfers.agent_left(caller, now)

    def _survey(self, call: int, now: float) -> None:
        """The agent left and the caller stays for the survey: off the agent's media, as
        after a transfer; the survey flow's prompts follow."""
        caller = self.legs.callers.get(call)
        if caller is not None:
            self.transfers.agent_left(caller, now)

    def _hang_up_caller(self, call: int, cause: EndCause, now: float) -> None:
        leg = self.legs.callers.get(call)
        if leg is not None:
            self.ending.hang_up(leg, now, refusal=REFUSALS.get(cause, UNAVAILABLE))

    # --- responses to our requests --------------------------------------------------------------

    def _on_response(self, response: Response, now: float) -> None:
        key = transaction_key(response)
        if (self.probes.answered(key, response, now)
                or self.waiting.notify_answered(key, response)):
            return
        leg = self.legs.invites_out.get(key)
        if leg is not None:
            self.agent_side.invite_response(leg, response, now)
            return
        final = response.status >= 200
        entry = self.dialogs.answered(key, final)
        if entry is not None:
            if final:
                self._request_answered(key, *entry, response, now)
        elif 200 <= response.status < 300 and key[3] == "INVITE":
            self.dialogs.stray_ok(response, now)

    def _request_answered(self, key: Key, leg: Leg, purpose: str, response: Response | None,
                          now: float) -> None:
        if purpose == "relay":
            self.relay.answered(leg, response, now)
        elif purpose == "refresh" or purpose == "refresh_offer":
            self.dialogs.refresh_answered(leg, response, now, purpose == "refresh_offer")
        elif purpose == "reoffer":
            self.transfers.reoffer_answered(leg, key, response, now)

    def _timed_out(self, key: Key, now: float) -> None:
        if (self.probes.timed_out(key, now) or self.waiting.notify_answered(key, None)
                or self.agent_side.timed_out(key, now)):
            return
        entry = self.dialogs.answered(key, final=True)
        if entry is not None:
            self._request_answered(key, *entry, None, now)

