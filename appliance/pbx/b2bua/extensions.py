"""Calls between phones: a phone dials another phone's user (an agent id) and the appliance
rings that phone, bridging the two legs as it bridges a queue call (media anchored when there
is a media plane; not recorded: recording is for customer calls).

The B2BUA, not call control, carries these calls: they take no trunk and no queue, so they
leave records of their own (`ExtensionCall*`) and the queue figures as they were. Their ids
are the B2BUA's own (`internal.py`), never one of call control's. The dialling side is a
caller leg, the rung side an agent leg, so each keeps its role's state table, CANCEL and BYE
races included.

A phone may be rung while it is on other calls (call waiting), up to its line appearances
(`lines`, default 4): the calls ringing or up at it, of any kind. One more gets 486.

The ACD must not offer a queue call to an agent on an internal call: each party who is an
agent is paused, NOT_READY with the reason `internal_call` (if on a queue call or wrapping
up, as soon as that is done), and given back when their last such call ends (`pauses.py`).
A pause is a state the ACD already treats as busy, and the agent's figures then show the
time as not ready for internal calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from appliance.eventlog import EventLog
from appliance.events import (
    CallForwarded,
    ExtensionCallAnswered,
    ExtensionCallEnded,
    ExtensionCallStarted,
    new,
)
from appliance.media import sdp
from appliance.pbx.acd.core import REASON_BUSY, REASON_DECLINED
from appliance.pbx.b2bua.anchor import MediaAnchor
from appliance.pbx.b2bua.dialogs import Dialogs
from appliance.pbx.b2bua.ending import UNAVAILABLE, LegEnding
from appliance.pbx.b2bua.followme import FollowMeCalls
from appliance.pbx.b2bua.forwarding import Forwarding
from appliance.pbx.b2bua.internal import InternalCalls
from appliance.pbx.b2bua.pauses import InternalPauses
from appliance.pbx.b2bua.phones import Phones
from appliance.pbx.callcontrol import CallControl
from appliance.pbx.legs import Leg

if TYPE_CHECKING:
    from appliance.clock import TimerHandle
    from appliance.config.live import Sip
    from appliance.pbx.b2bua.agents import AgentSide
    from appliance.pbx.b2bua.dialout import DialOut
    from appliance.pbx.b2bua.legbook import LegBook
    from appliance.pbx.features.ringgroup import Hunt

BUSY = (486, "Busy Here")
# How the rung phone's refusal (as the ACD's reason code) reaches the dialling phone.
_REFUSALS = {REASON_BUSY: (BUSY, "busy"), REASON_DECLINED: ((603, "Decline"), "declined")}
# The forwarding that takes a call the rung phone refuses, by the ACD's reason code for the
# refusal (a phone that declines is busy for the caller); any other: no_answer.
_REFUSAL_FORWARDS = {REASON_BUSY: "busy", REASON_DECLINED: "busy"}
# The forwarding that takes a call the dialled phone cannot take at once, by the refusal.
_AT_ONCE_FORWARDS = {BUSY: "busy", UNAVAILABLE: "no_answer"}


def connect(dialogs: Dialogs, anchor: MediaAnchor | None, caller: Leg, leg: Leg,
            now: float) -> None:
    """Answer `caller` (a phone's leg, told it rings) now that the phone of `leg` answered,
    and bridge the two (media anchored, not recorded, when there is a media plane)."""
    caller.partner, leg.partner = leg, caller
    if anchor is None:
        dialogs.answer(caller, leg.answer_body, now)
    else:
        dialogs.answer(caller, caller.sent_body, now)
        anchor.bridge(caller.call, leg, now, record=False)
    dialogs.start_session_timer(caller, now)
    dialogs.start_session_timer(leg, now)


class PhoneCall(Protocol):
    """What `CallsBetweenPhones` needs of one of its calls."""

    id: int
    caller: str
    caller_leg: Leg  # the dialling phone's
    paused: list[str]  # the parties the ACD was told are busy


C = TypeVar("C", bound=PhoneCall)


class CallsBetweenPhones(Generic[C]):
    """How a call a phone dialled and other phones are rung for ends, whether one phone is
    rung (`ExtensionCalls`) or a group (`RingGroupCalls`): when a party leaves the other is
    let go, and at the end the call's record is written and its parties' pauses given back."""

    ended: type[tuple[float, int, str]]  # the call's last record: (t, call, cause)

    calls: dict[int, C]
    dialogs: Dialogs
    legs: LegBook
    anchor: MediaAnchor | None
    ending: LegEnding
    internal: InternalCalls
    log: EventLog
    pauses: InternalPauses

    def _begin(self, call: C, offer: sdp.Sdp | None, started: tuple, now: float) -> None:
        """`call` begins with record `started`: its dialling phone's leg (unanswered) is
        its caller leg, given the media answer it will have (with a media plane), told it
        rings (180), and its phone's agent paused."""
        leg = call.caller_leg
        leg.call = call.id
        self.legs.callers[call.id] = leg
        self.calls[call.id] = call
        self.log.append(started)
        self._ringing(leg, offer, now)
        call.paused = [call.caller] if self.pauses.pause(call.caller, now) else []

    def _ringing(self, leg: Leg, offer: sdp.Sdp | None, now: float) -> None:
        """The caller's media anchored (under its leg's call id), and 180."""
        if self.anchor is not None and offer is not None:
            leg.sent_body = self.anchor.caller_answer(leg, offer, False, now)
        self.dialogs.answers.respond(leg.invite, 180, "Ringing", now, tag=leg.local_tag)

    def leg_ended(self, leg: Leg, now: float) -> None:
        """A party left (BYE, CANCEL, found gone, shutdown): the other one is let go."""
        call = self.calls.get(leg.call)
        if call is None:
            return
        if leg is not call.caller_leg:
            self.ending.hang_up(call.caller_leg, now)
            self._finish(call, "callee_hangup", now)
            return
        answered = self._let_go_rung(call, now)
        self._finish(call, "caller_hangup" if answered else "cancelled", now)

    def _let_go_rung(self, call: C, now: float) -> bool:
        """The dialling phone left: the phone that answered is hung up, or those ringing
        stop; whether one had answered."""
        raise NotImplementedError

    def _stop_timer(self, call: C) -> None:
        raise NotImplementedError

    def _finish(self, call: C, cause: str, now: float) -> None:
        self._stop_timer(call)
        del self.calls[call.id]
        if cause != "forwarded":  # the call's id lives on as the outside call's
            self.internal.close(call.id)
        self.log.append(new(self.ended, (now, call.id, cause)))
        for party in call.paused:
            self.pauses.give_back(party, now)


class ExtensionCall:
    """One call between phones: its parties, legs and ring timer."""

    __slots__ = ("answered", "callee", "caller", "caller_leg", "followed", "forwarded",
                 "hunt", "id", "outside", "paused", "ring_timer")

    def __init__(self, call: int, caller: str, callee: str, caller_leg: Leg) -> None:
        self.id, self.caller, self.callee, self.caller_leg = call, caller, callee, caller_leg
        self.answered = False
        self.forwarded = False  # a call is forwarded once: the target's own forwarding is not

        self.paused: list[str] = []  # the parties the ACD was told are busy
        self.ring_timer: TimerHandle | None = None
        # Find-me/follow-me (`followme.py`): the phone followed, the hunt through its numbers
        # and the outside number rung after them.
        self.followed = ""
        self.hunt: Hunt | None = None
        self.outside: str | None = None


class ExtensionCalls(CallsBetweenPhones[ExtensionCall]):
    """The calls between phones in progress, by id."""

    ended = ExtensionCallEnded

    def __init__(self, dialogs: Dialogs, ending: LegEnding, agent_side: AgentSide,
                 phones: Phones, anchor: MediaAnchor | None, cc: CallControl,
                 log: EventLog, internal: InternalCalls, forwarding: Forwarding,
                 pauses: InternalPauses) -> None:
        self.dialogs, self.ending, self.agent_side = dialogs, ending, agent_side
        self.legs, self.deadlines = dialogs.legs, dialogs.deadlines
        self.phones, self.anchor, self.cc, self.log = phones, anchor, cc, log
        self.calls: dict[int, ExtensionCall] = {}
        self.internal, self.forwarding, self.pauses = internal, forwarding, pauses
        self.dialout: DialOut | None = None  # for forwarding to outside numbers, once built
        self.follow_me = FollowMeCalls(self)

    def apply(self, sip: Sip) -> None:
        self.users = frozenset(phone.user for phone in sip.phones)
        self.ring_timeout = sip.extension_ring_timeout
        self.follow_me.apply(sip)

    def dialled(self, number: str) -> bool:
        """Whether `number` is a phone of the site (its user)."""
        return number in self.users

    def refusal(self, caller: str, callee: str, now: float) -> tuple[int, str] | None:
        """Why `callee` cannot be rung now: busy (itself, or every line appearance of its
        phone ringing or up: 486), nowhere (not registered: 480); None if it can."""
        if callee == caller or self.legs.lines_in_use[callee] >= self.phones.lines(callee):
            return BUSY
        return UNAVAILABLE if self.phones.target(callee, now) is None else None

    def admit(self, caller: str, callee: str,
              now: float) -> tuple[tuple[int, str] | None, tuple[str, str] | None]:
        """Whether `caller` may ring `callee` now: a refusal (`refusal`), or None and the
        forwarding (target, condition) that takes the call at once, if one does (always;
        busy when busy; no_answer when nowhere), the target phone's own refusal if it has one."""
        refusal = self.refusal(caller, callee, now)
        forward = self._forward(callee, "always") or (
            None if refusal is None else self._forward(callee, _AT_ONCE_FORWARDS.get(refusal)))
        if forward is None and refusal == UNAVAILABLE and self.follow_me.ring_seconds(callee):
            return None, (callee, "follow_me")  # nowhere: its follow-me numbers ring at once
        if forward is None:
            return refusal, None
        target = forward[0]
        if target in self.users and self.refusal(caller, target, now) is not None:
            return self.refusal(caller, target, now), None
        return None, forward

    def forward_refusal(self, phone: str, target: str) -> tuple[int, str] | None:
        """Why `phone` may not forward to `target` (itself, no phone and no route out: 404,
        a number it may not dial: 403); None if it may."""
        if target in self.users and target != phone:
            return None
        route = None if self.dialout is None else self.dialout.route(target)
        if route is None:
            return (404, "Not Found")
        assert self.dialout is not None
        return None if self.dialout.permits(phone, route) else (403, "Forbidden")

    # --- the call's life ---------------------------------------------------------------------

    def start(self, leg: Leg, offer: sdp.Sdp | None, caller: str, callee: str, now: float,
              forward: tuple[str, str] | None = None) -> None:
        """Ring `callee` for the phone of `leg` (an unanswered caller leg, `admit` gave no
        refusal), or send the call on at once as `forward` (`admit`'s) says."""
        call = ExtensionCall(self.internal.open(self), caller, callee, leg)
        self._begin(call, offer, new(ExtensionCallStarted, (now, call.id, caller, callee)),
                    now)
        if forward == (callee, "follow_me"):
            self.follow_me.start(call, now)
        elif forward is not None:
            self._send_on(call, *forward, now)
        else:
            self._ring(call, callee, now, self._ring_seconds(callee))

    def _ring_seconds(self, callee: str) -> float:
        """How long `callee` rings before its no-answer forwarding, its follow-me or 480."""
        if self._forward(callee, "no_answer") is not None:
            return self.forwarding.no_answer_after(callee)
        return self.follow_me.ring_seconds(callee) or self.ring_timeout

    def _ring(self, call: ExtensionCall, callee: str, now: float, timeout: float) -> None:
        call.callee = callee
        if self.pauses.pause(callee, now):
            call.paused.append(callee)
        self.agent_side.ring(call.id, callee, now)
        call.ring_timer = self.deadlines.schedule(now + timeout, self._no_answer, call)

    def answered(self, leg: Leg, now: float) -> bool:
        """The rung phone of `leg` answered: connect the two; False if the call is gone."""
        call = self.calls.get(leg.call)
        if call is None or call.answered or call.caller_leg.ended or (
                call.hunt is not None and call.hunt.answer(leg.agent) is None):
            return False
        call.answered = True
        self._stop_timer(call)
        connect(self.dialogs, self.anchor, call.caller_leg, leg, now)
        self.log.append(new(ExtensionCallAnswered, (now, call.id)))
        return True

    def refused(self, leg: Leg, status: int, reason: str, now: float) -> None:
        """The rung phone of `leg` refused (or never answered): the dialling phone hears it."""
        call = self.calls.get(leg.call)
        if call is not None and call.hunt is not None:
            self.follow_me.refused(call, leg.agent, now)
            return
        condition = _REFUSAL_FORWARDS.get(reason, "no_answer")
        if call is not None and self._forwarded(call, condition, now):
            return
        if call is not None and condition == "no_answer" and self._followed(call, now):
            return
        if call is not None:
            refusal, cause = _REFUSALS.get(reason, (UNAVAILABLE, "unavailable"))
            self.ending.hang_up(call.caller_leg, now, refusal=refusal)
            self._finish(call, cause, now)

    def _let_go_rung(self, call: ExtensionCall, now: float) -> bool:
        callee_leg = self.legs.rings.get((call.id, call.callee))
        if callee_leg is not None and call.answered:
            self.ending.hang_up(callee_leg, now)
        else:
            self.agent_side.stop_ringing(call.id, call.callee, now)
        return call.answered

    def consultation(self, leg: Leg) -> ExtensionCall | None:
        """The answered call between phones whose dialling leg is `leg`, if any."""
        call = self.calls.get(leg.call)
        if call is None or not call.answered or call.caller_leg is not leg:
            return None
        return call

    def hand_over(self, call: ExtensionCall, to: int, now: float) -> Leg:
        """An attended transfer ends `call` (`transferred`): the rung phone's leg, returned,
        now belongs to the call `to` (its agent leg, found by call control's actions); the
        dialling leg is left to the caller to end. Its parties' pauses are given back (an
        agent who took the call over has theirs cleared: `Acd.take_over`)."""
        leg = self.legs.rings.pop((call.id, call.callee))
        leg.call = to
        self.legs.rings[(to, call.callee)] = leg
        self._finish(call, "transferred", now)
        return leg

    def _no_answer(self, now: float, call: ExtensionCall) -> None:
        call.ring_timer = None
        if call.answered or self.calls.get(call.id) is not call:
            return
        self.agent_side.stop_ringing(call.id, call.callee, now)
        if not self._forwarded(call, "no_answer", now) and not self._followed(call, now):
            self.unavailable(call, now)

    def unavailable(self, call: ExtensionCall, now: float) -> None:
        """Nobody took `call`: the dialling phone hears 480."""
        self.ending.hang_up(call.caller_leg, now, refusal=UNAVAILABLE)
        self._finish(call, "no_answer", now)

    def _followed(self, call: ExtensionCall, now: float) -> bool:
        """The rung phone (no longer ringing) has its follow-me numbers rung; whether it has."""
        self._stop_timer(call)
        self.stop_member(call, call.callee, now)
        return self.follow_me.start(call, now)

    def stop_member(self, call: ExtensionCall, member: str, now: float) -> None:
        """`member` rings no more for `call` (CANCEL if it still does); its pause ends."""
        self.agent_side.stop_ringing(call.id, member, now)
        if member in call.paused and member != call.caller:
            call.paused.remove(member)
            self.pauses.give_back(member, now)

    # --- forwarding ---------------------------------------------------------------------------

    def _forward(self, phone: str, condition: str | None) -> tuple[str, str] | None:
        """(target, condition) if `phone` forwards under `condition` to a target there is
        (a phone, or a number a route out takes); None otherwise."""
        target = None if condition is None else self.forwarding.target(phone, condition)
        if target is None or self.forward_refusal(phone, target) is not None:
            return None
        return target, str(condition)

    def _forwarded(self, call: ExtensionCall, condition: str, now: float) -> bool:
        """Send `call` on if its rung phone (no longer ringing) forwards under `condition`
        and the call was not forwarded yet; whether it was."""
        forward = None if call.forwarded else self._forward(call.callee, condition)
        if forward is None or (forward[0] in self.users
                               and self.refusal(call.caller, forward[0], now) is not None):
            return False
        self._stop_timer(call)
        self.stop_member(call, call.callee, now)
        self._send_on(call, *forward, now)
        return True

    def _send_on(self, call: ExtensionCall, target: str, condition: str, now: float) -> None:
        """Ring `target` for `call` instead of its phone, or call it out (`DialOut`)."""
        call.forwarded = True
        self.log.append(new(CallForwarded, (now, call.id, call.callee, target, condition)))
        if target in self.users:
            self._ring(call, target, now, self.ring_timeout)
        else:
            self.call_out(call, target, now)

    def call_out(self, call: ExtensionCall, target: str, now: float) -> None:
        """Carry `call` on as an outside call to `target` (`DialOut`), placed by its phone."""
        assert self.dialout is not None
        route = self.dialout.route(target)
        assert route is not None  # `_forward` checked
        paused = call.caller if call.caller in call.paused else None
        call.paused = [party for party in call.paused if party != paused]
        self._finish(call, "forwarded", now)
        self.dialout.take_over(call.caller_leg, paused, call.followed or call.callee, route,
                               now)

    def _stop_timer(self, call: ExtensionCall) -> None:
        if call.ring_timer is not None:
            call.ring_timer.cancel()
            call.ring_timer = None
