"""Calls the appliance places to outside numbers through a trunk group's route out: the one
way out for a phone's own call (`dialout.py`) and for what later features place (callback,
transfer to an outside number, campaigns).

How a feature places one (clock-free, like the rest of the B2BUA):

    call_id = internal.open(owner)            # the feature's id for the call (`internal.py`)
    route = route_out(dialled, site.trunk_groups)
    call = outside.place(call_id, route, placed_by, purpose, offer, requester, now)

`place` seizes a channel of the route's trunk group - inbound and outside calls share them,
as on a real FXO card or E1 span - and sends the INVITE to the route's gateway with the SDP
`offer(leg)` returns. It never raises for the far end's doing; the outcome reaches
`requester` (an `OutsideRequester`), exactly one of:

- `outside_answered(call, now)`: the far end answered (200). Return False if the call is not
  wanted any more (it is hung up, cause `caller_hangup`). After it, `outside_ended` comes
  when the far end hangs up (`far_hangup`) - unless the requester hangs up first.
- `outside_failed(call, now)`: no answer. `call.cause` says why (`no_channel` - told before
  `place` returns -, busy, no_answer, not_found, rejected, unauthorized, failed) and
  `call.status` the far end's final status (0: none).

`hang_up(call, now)` is the requester giving up: a CANCEL before the answer (`cancelled`),
a BYE after it (`caller_hangup`); nothing more is reported. A requester that keeps the answered
leg as its own (a callback's customer becomes the caller of call control's call) calls
`take_leg` in `outside_answered`, and `ended` when that leg ends. Provisional responses (100,
180, 183) keep the INVITE going and allow the CANCEL; early media is not relayed. A gateway's
digest challenge (401/407) is answered once with the route's `username` and `password` (the
INVITE goes again, next CSeq); a route without them, or a second challenge, fails the call
(`unauthorized`). A gateway's refusal that says the seized port's E1 span is down (503 with
Q.850 cause 38, say: `GatewayPorts.span_refused`) is not the call's outcome: the INVITE goes
again through a free port of another span or gateway, if there is one. Every call leaves
`OutsideCallStarted`, perhaps `OutsideCallAnswered`, and `OutsideCallEnded` in the event log,
and gives its channel back when it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from appliance.config.live import parse_contact
from appliance.eventlog import EventLog
from appliance.events import OutsideCallAnswered, OutsideCallEnded, OutsideCallStarted, new
from appliance.pbx.b2bua.agents import AgentSide, new_invite_headers
from appliance.pbx.b2bua.ending import LegEnding
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.dialplan import RouteOut
from appliance.pbx.legs import Leg, LegEvent, LegState, OutsideLeg
from appliance.pbx.sip.credentials import authorized, credentials_sent
from appliance.pbx.sip.dialog import new_tag
from appliance.pbx.sip.headers import Headers
from appliance.pbx.sip.message import Request, Response
from appliance.pbx.sip.reason import q850_cause
from appliance.pbx.sip.transaction import transaction_key

if TYPE_CHECKING:
    from appliance.clock import TimerHandle
    from appliance.net import Address
    from appliance.pbx.b2bua.gatewayports import GatewayPorts

# The far end's final refusals, as causes of `OutsideCallEnded`; any other is "failed".
_CAUSES = {
    486: "busy", 600: "busy",
    408: "no_answer", 480: "no_answer",
    404: "not_found", 484: "not_found", 604: "not_found",
    403: "rejected", 603: "rejected",
    401: "unauthorized", 407: "unauthorized",
}
# Where a challenge may be answered: the INVITE not given up, no final answer yet.
_UNANSWERED = frozenset({LegState.CALLING, LegState.PROCEEDING})


class OutsideCall:
    """One call placed out: what it was placed for, its leg, and how it turned out."""

    __slots__ = ("answered", "cause", "credentials", "group", "id", "leg", "leg_type", "number",
                 "offer", "own_channel", "placed_by", "purpose", "requester", "ring_timer",
                 "route", "status")

    def __init__(self, call: int, route: RouteOut, placed_by: str, purpose: str,
                 requester: OutsideRequester) -> None:
        self.id, self.group, self.number = call, route.group.name, route.number
        self.placed_by, self.purpose, self.requester = placed_by, purpose, requester
        self.leg: OutsideLeg | None = None
        self.answered = False
        self.cause = ""  # set when the call ends (`OutsideCallEnded.cause`)
        self.status = 0  # the far end's final status, once one came
        self.ring_timer: TimerHandle | None = None
        outbound = route.group.outbound
        # What a gateway's digest challenge is answered with; None: it fails the call.
        self.credentials = (None if outbound is None or outbound.username is None
                            or outbound.password is None
                            else (outbound.username, outbound.password))
        self.own_channel = True  # seized here, given back at the end
        # How its INVITE was made, to place it again on another port (`_placed_again`).
        self.route = route
        self.offer: Callable[[Leg], bytes] = lambda leg: b""
        self.leg_type: type[OutsideLeg] = OutsideLeg


class OutsideRequester(Protocol):
    """Whoever placed an outside call, told its outcome (see the module's docstring)."""

    def outside_answered(self, call: OutsideCall, now: float) -> bool: ...

    def outside_failed(self, call: OutsideCall, now: float) -> None: ...

    def outside_ended(self, call: OutsideCall, now: float) -> None: ...


class OutsideCalls:
    """The outside calls in progress, by id; the part `InternalCalls` routes outside legs to."""

    def __init__(self, agent_side: AgentSide, ending: LegEnding, cc: CallControl,
                 log: EventLog) -> None:
        self.agent_side, self.ending, self.cc, self.log = agent_side, ending, cc, log
        self.legs, self.deadlines = agent_side.legs, agent_side.deadlines
        self.calls: dict[int, OutsideCall] = {}
        self.ports: GatewayPorts | None = None  # the site's gateway ports, set by the B2BUA

    def place(self, call_id: int, route: RouteOut, placed_by: str, purpose: str,
              offer: Callable[[Leg], bytes], requester: OutsideRequester,
              now: float, *, held: bool = False,
              leg_type: type[OutsideLeg] = OutsideLeg) -> OutsideCall:
        """Call `route.sent` through `route.group` for `requester` (see the module's
        docstring). `call_id`: the requester's id from `InternalCalls.open`. `held`: the
        requester holds a channel of the group already (call control seized it for a
        callback) and gives it back itself. `leg_type`: the class of the leg to place."""
        call = OutsideCall(call_id, route, placed_by, purpose, requester)
        call.own_channel, call.offer, call.leg_type = not held, offer, leg_type
        self.log.append(new(OutsideCallStarted, (now, call_id, call.group, call.number,
                                                 placed_by, purpose)))
        if not held and not self.cc.seize_trunk(call.group):
            self._log_end(call, "no_channel", now)
            requester.outside_failed(call, now)
            return call
        to = self._destination(call, route, now)
        if to is None:
            self._finish(call, "no_channel", now)
            requester.outside_failed(call, now)
            return call
        self.calls[call_id] = call
        outbound = route.group.outbound
        assert outbound is not None
        call.leg = self._invite(call, route, offer, leg_type, to, now)
        call.ring_timer = self.deadlines.schedule(now + outbound.ring_timeout,
                                                  self._no_answer, call)
        return call

    def barred(self, call_id: int, route: RouteOut, placed_by: str, purpose: str,
               now: float) -> None:
        """Record an attempt `placed_by` may not make (refused 403 before any channel is
        seized): `OutsideCallStarted` and `OutsideCallEnded` with cause `barred`, status 403."""
        self.log.append(new(OutsideCallStarted, (now, call_id, route.group.name, route.number,
                                                 placed_by, purpose)))
        self.log.append(new(OutsideCallEnded, (now, call_id, "barred", 403)))

    def hang_up(self, call: OutsideCall, now: float) -> None:
        """The requester gives `call` up: CANCEL before the answer, BYE after it."""
        if self.calls.get(call.id) is not call or call.leg is None:
            return
        if call.answered:
            self.ending.hang_up(call.leg, now)
            self._finish(call, "caller_hangup", now)
        else:
            self.agent_side.stop_ringing(call.id, call.leg.agent, now)
            self._finish(call, "cancelled", now)

    def take_leg(self, call: OutsideCall) -> None:
        """`call`'s requester keeps its answered leg as a leg of its own: nothing of it is
        routed here any more, and `ended` closes the call's records when the leg ends."""
        self._stop_timer(call)
        self.calls.pop(call.id, None)

    def ended(self, call: OutsideCall, cause: str, now: float) -> None:
        """The leg `take_leg` handed over has ended (`cause`: caller_hangup or far_hangup)."""
        if call.own_channel:
            self.cc.release_trunk(call.group)
        self._release_port(call, now)
        self._log_end(call, cause, now)

    def hang_up_all(self, now: float) -> None:
        """Give up every outside call (the appliance shuts down)."""
        for call in list(self.calls.values()):
            self.hang_up(call, now)

    # --- what the outside legs hear (routed by `InternalCalls`) --------------------------------

    def answered(self, leg: Leg, now: float) -> bool:
        call = self._call_of(leg)
        if call is None or call.answered:
            return False
        call.answered, call.status = True, 200
        if self.ports is not None:
            self.ports.far_end_answered(call.id, now)
        self._stop_timer(call)
        self.log.append(new(OutsideCallAnswered, (now, call.id)))
        if call.requester.outside_answered(call, now):
            return True
        self._finish(call, "caller_hangup", now)
        return False

    def refused(self, leg: Leg, status: int, reason: str, now: float) -> None:
        call = self._call_of(leg)
        if call is not None and not call.answered and not self._placed_again(call, leg, now):
            call.status = status
            self._finish(call, _CAUSES.get(status, "failed"), now)
            call.requester.outside_failed(call, now)

    def leg_ended(self, leg: Leg, now: float) -> None:
        call = self._call_of(leg)
        if call is not None:
            self._finish(call, "far_hangup", now)
            call.requester.outside_ended(call, now)

    def challenged(self, leg: Leg, challenge: Response, now: float) -> bool:
        """The gateway challenged `leg`'s INVITE (401/407): whether it went again with the
        route's credentials. Not for a call given up, a route without credentials, an INVITE
        that carried them already (they were refused) or a challenge we cannot answer."""
        call = self._call_of(leg)
        if (call is None or call.credentials is None or credentials_sent(leg.invite)
                or leg.state not in _UNANSWERED):
            return False
        invite = authorized(leg.invite, challenge, *call.credentials, self.agent_side.rng)
        if invite is None:
            return False
        leg.fire(LegEvent.CHALLENGED)
        del self.legs.invites_out[leg.invite_key]
        leg.invite, leg.invite_key = invite, transaction_key(invite)
        self.legs.invites_out[leg.invite_key] = leg
        self.agent_side.layer.send_request(invite, leg.peer, now)
        return True

    # --- helpers --------------------------------------------------------------------------------

    def _destination(self, call: OutsideCall, route: RouteOut, now: float) -> Address | None:
        """Where the call's INVITE goes: the route's gateway; or, where gateway ports serve
        the group, the gateway of a free port, seized for the call (None: every port is busy
        or out of service)."""
        ports = self.ports
        if ports is None or not ports.serves(call.group):
            assert route.group.outbound is not None
            return parse_contact(route.group.outbound.gateway)
        port = ports.seize(call.group, call.id, call.number, now)
        return None if port is None else ports.address_of(port)

    def _placed_again(self, call: OutsideCall, leg: Leg, now: float) -> bool:
        """Whether `call`, refused on `leg` by a gateway whose E1 span is down
        (`GatewayPorts.span_refused`), went again on a free port of another span or gateway."""
        ports, refusal = self.ports, leg.refusal
        if ports is None or refusal is None or not ports.span_refused(
                call.id, refusal.status, q850_cause(refusal.headers), now):
            return False
        to = self._destination(call, call.route, now)
        if to is None:
            return False
        call.leg = self._invite(call, call.route, call.offer, call.leg_type, to, now)
        return True

    def _invite(self, call: OutsideCall, route: RouteOut, offer: Callable[[Leg], bytes],
                leg_type: type[OutsideLeg], address: Address, now: float) -> OutsideLeg:
        outbound = route.group.outbound
        assert outbound is not None
        side = self.agent_side
        host = f"[{address[0]}]" if ":" in address[0] else address[0]
        uri = f"sip:{route.sent}@{host}:{address[1]}"
        tag = new_tag(side.rng)
        headers = new_invite_headers(
            side, f"<sip:{outbound.caller_id or call.placed_by}@{side.here.hostport}>;tag={tag}",
            f"<{uri}>", f"{side.rng.getrandbits(64):016x}@{side.here.address[0]}")
        leg = leg_type(call.id, route.sent, Request("INVITE", uri, Headers(headers)),
                         ("", "", 0, ""), tag, address)
        body = offer(leg)
        if body:
            headers.append(("Content-Type", "application/sdp"))
        leg.invite = Request("INVITE", uri, Headers(headers), body)
        leg.invite_key, leg.sent_body = transaction_key(leg.invite), body
        leg.session_interval = side.sip.session_expires
        self.legs.add_ring(leg)
        side.layer.send_request(leg.invite, address, now)
        return leg

    def _call_of(self, leg: Leg) -> OutsideCall | None:
        call = self.calls.get(leg.call)
        return call if call is not None and call.leg is leg else None

    def _no_answer(self, now: float, call: OutsideCall) -> None:
        call.ring_timer = None
        if self.calls.get(call.id) is not call or call.answered or call.leg is None:
            return
        self.agent_side.stop_ringing(call.id, call.leg.agent, now)
        self._finish(call, "no_answer", now)
        call.requester.outside_failed(call, now)

    def _finish(self, call: OutsideCall, cause: str, now: float) -> None:
        self._stop_timer(call)
        self.calls.pop(call.id, None)
        if call.own_channel:
            self.cc.release_trunk(call.group)
        self._release_port(call, now)
        self._log_end(call, cause, now)

    def _release_port(self, call: OutsideCall, now: float) -> None:
        if self.ports is not None:
            self.ports.released(call.id, now)

    def _log_end(self, call: OutsideCall, cause: str, now: float) -> None:
        call.cause = cause
        self.log.append(new(OutsideCallEnded, (now, call.id, cause, call.status)))

    def _stop_timer(self, call: OutsideCall) -> None:
        if call.ring_timer is not None:
            call.ring_timer.cancel()
            call.ring_timer = None
