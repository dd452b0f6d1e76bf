"""Blind transfer of a customer's call out of the ACD: to a phone that is no agent's (an
extension, `ExtensionCalls.dialled`) or to an outside number through a trunk's route out,
which the transferring agent's phone must be allowed to dial (as for `dialout.py`).

The target is checked before anything changes, and the REFER refused if it cannot be
rung now, the call going on with the agent: the agent's own phone or no such number (404),
a phone busy on every line (486) or not registered (480), a number the agent's phone may
not dial (403, recorded as a barred outside call), a route whose trunk group has no channel
free (503), a call call control will not let go (603: a callback's, say).

Otherwise call control lets the call go (`CallControl.agent_transfer_out`: cause
transferred_out, `CallTransferred` to "extension:" + user or "outside:" + number); the agent
wraps up as after any transfer. The caller's leg stays up under its call's id, holding its
trunk channel, and hears music (with a media plane; without one, nothing) while the target
rings under an id of the B2BUA's own (`internal.py`). Answered, the target is bridged to
the caller on the call's media relay (not recorded: the call left call control), or,
without a media plane, the caller is offered the target's SDP in a re-INVITE; either side's
BYE ends both, and the channel is given back when the caller's leg ends.

A target that refuses, is busy or does not answer within its ring time (the site's
`extension_ring_timeout` for a phone, the route's `ring_timeout` outside) gives the caller
back: the transferring agent's phone is rung once, for `extension_ring_timeout`, and if it
answers the two talk again (the agent paused for the queues, `internal_call`, as on any
call between phones); if it does not, the caller is hung up. The call's own record ended
at the transfer; an outside target's call has its records as any other (`OutsideCall*`,
purpose "transferred").

A ring group's number (`ringgroups.py`) is a target too, but the call does not leave call
control until someone answers (`CallControl.agent_transfer_to_group`: `CallTransferred` to
"ring_group:" + the number; the agent wraps up; the call waits as a trunk caller a route
sends to a group does). Its members ring for the caller as for a call to the group - all at
once or in turn, busy or unregistered members skipped, the transferring agent's own phone
never - and the first to answer is bridged to the caller, the others CANCELled: the call
leaves call control then (cause transferred_out) and is carried on as above. Nobody
answering hands the caller to the group's `then`: a phone (rung as above) or an outside
number (placed as above), whose answer also lets the call go; or a mailbox or a queue,
handed back to call control (`ring_group_unanswered`: the caller leaves a message, or
queues keeping what the queue's `transfer_keeps` says) as one call throughout. With no
`then`, or when `then` fails, call control rings the agent back (`Acd.recall`: wrap-up cut
short, then the queue the call was answered from).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from appliance.pbx.acd.core import EXTENSION_PREFIX, OUTSIDE_PREFIX
from appliance.pbx.b2bua.ending import LegEnding
from appliance.pbx.b2bua.hunting import HuntRinger
from appliance.pbx.b2bua.outside import OutsideCall, OutsideCalls
from appliance.pbx.dialplan import RouteOut
from appliance.pbx.features.ringgroup import Hunt
from appliance.pbx.legs import Leg

if TYPE_CHECKING:
    from appliance.clock import TimerHandle
    from appliance.config.live import RingGroup
    from appliance.pbx.b2bua.agents import AgentSide
    from appliance.pbx.b2bua.dialout import DialOut
    from appliance.pbx.b2bua.extensions import ExtensionCalls
    from appliance.pbx.b2bua.internal import InternalCalls
    from appliance.pbx.b2bua.pauses import InternalPauses
    from appliance.pbx.b2bua.ringgroups import RingGroupCalls
    from appliance.pbx.b2bua.transfer import Transfers

Refusal = tuple[int, str]
NOT_FOUND = (404, "Not Found")
DECLINED = (603, "Declined")
NO_CHANNEL = (503, "Service Unavailable")
PURPOSE = "transferred"  # an outside target's `OutsideCallStarted.purpose`


@dataclass(eq=False)
class HandOff:
    """One caller transferred out, and the target rung or talking with them."""

    caller: Leg
    agent: str  # the transferring agent, rung back if the target fails
    trunk: str  # the trunk group whose channel the caller's call holds ("": none)
    id: int  # the B2BUA's id for the target's call
    phone: str = ""  # the phone rung: the target's, or on a recall the agent's
    outside: OutsideCall | None = None  # an outside target's call while it is up
    channel: str = ""  # the trunk group whose channel an outside target holds
    target: Leg | None = None  # the target's leg, once answered
    ring_timer: TimerHandle | None = None
    recalled: bool = False
    group: RingGroup | None = None  # a ring group's number was the target
    waiting: bool = False  # the call waits in call control for the group (or its `then`)
    hunt: Hunt | None = None  # the group's members rung, until one answers or none does
    paused: list[str] = field(default_factory=list)  # phones whose agents were paused


class TransfersOut:
    """The callers transferred out of the ACD, by call control's id and by the target's."""

    def __init__(self, caller_side: Transfers, ending: LegEnding, agent_side: AgentSide,
                 extensions: ExtensionCalls, dialout: DialOut, outside: OutsideCalls,
                 internal: InternalCalls, pauses: InternalPauses) -> None:
        self.caller_side, self.ending, self.agent_side = caller_side, ending, agent_side
        self.extensions, self.dialout, self.outside = extensions, dialout, outside
        self.internal, self.pauses = internal, pauses
        self.cc, self.phones, self.dialogs = caller_side.cc, agent_side.phones, caller_side.dialogs
        self.by_caller: dict[int, HandOff] = {}
        self.by_id: dict[int, HandOff] = {}
        self.groups: RingGroupCalls | None = None  # ring groups, a target too, once built
        self.ringer: HuntRinger[HandOff] = HuntRinger(
            agent_side, pauses, self.dialogs.deadlines, self._group_unanswered,
            lambda handoff: self.by_id.get(handoff.id) is handoff,
            lambda handoff: handoff.caller.call)

    def transfer(self, leg: Leg, user: str, now: float) -> Refusal | None:
        """Hand the caller of `leg` (an agent's, in conversation) to the phone `user` or the
        outside number `user`; why not (see the module's docstring), nothing changed."""
        if user == leg.agent:
            return NOT_FOUND  # one's own phone is no target
        found = None if self.groups is None else self.groups.hunt(user, leg.agent)
        if found is not None:
            return self._to_group(leg, user, *found, now)
        if self.extensions.dialled(user):
            return (self.extensions.refusal(leg.agent, user, now)
                    or self._hand_off(leg, EXTENSION_PREFIX + user, user, None, now))
        route = self.dialout.route(user)
        if route is None:
            return NOT_FOUND
        refusal = self.dialout.refusal(leg.agent, route, now)
        if refusal is not None:
            return refusal
        if not self.cc.seize_trunk(route.group.name):
            return NO_CHANNEL
        refusal = self._hand_off(leg, OUTSIDE_PREFIX + route.number, "", route, now)
        if refusal is not None:
            self.cc.release_trunk(route.group.name)
        return refusal

    def consulted(self, leg: Leg, phone: str, now: float) -> int | None:
        """Hand the caller of `leg` to `phone`, a phone that is no agent's which the agent
        consulted and which answered (a consultation's completion): the id of ours its leg
        is to go under, after which `answered` with that leg bridges the two as for a blind
        transfer's target; None, nothing changed, if call control will not let the call go."""
        handoff = self._open(leg, EXTENSION_PREFIX + phone, now)
        if handoff is None:
            return None
        handoff.phone = phone
        return handoff.id

    def consulted_out(self, leg: Leg, call: OutsideCall, now: float) -> bool:
        """Hand the caller of `leg` to the outside party of `call`, answered, which the
        agent placed to consult (a consultation's completion): `call`, its id and the
        channel it holds (placed `held`) are the hand-off's from now on, and
        `outside_answered` with it bridges the two; False, nothing changed, if call control
        will not let the call go."""
        handoff = self._open(leg, OUTSIDE_PREFIX + call.number, now, call.id)
        if handoff is None:
            return False
        handoff.outside, handoff.channel, call.requester = call, call.group, self
        return True

    def _hand_off(self, leg: Leg, target: str, phone: str, route: RouteOut | None,
                  now: float) -> Refusal | None:
        handoff = self._open(leg, target, now)
        if handoff is None:
            return DECLINED
        if route is None:
            self._ring(handoff, phone, now)
        else:
            self._place(handoff, route, now)
        return None

    def _to_group(self, leg: Leg, number: str, group: RingGroup, hunt: Hunt,
                  now: float) -> Refusal | None:
        """The caller of `leg` waits in call control while the group rings for them
        (`CallControl.agent_transfer_to_group`), its leg's events ours meanwhile."""
        caller = leg.partner
        call = (None if caller is None
                else self.cc.agent_transfer_to_group(now, leg.agent, number))
        if call is None or caller is None:
            return DECLINED
        handoff = self._take(caller, leg.agent, "", self.internal.open(self), now)
        handoff.group, handoff.hunt, handoff.waiting = group, hunt, True
        self.ringer.carry_out(handoff, hunt.start(now), now)
        return None

    def _open(self, leg: Leg, target: str, now: float,
              taken: int | None = None) -> HandOff | None:
        """Call control lets the caller of `leg` go to `target`: their hand-off, under a
        new id of ours or the id `taken` over, the target not yet rung; None if it will not."""
        caller = leg.partner
        call = None if caller is None else self.cc.agent_transfer_out(now, leg.agent, target)
        if call is None or caller is None:
            return None
        if taken is None:
            taken = self.internal.open(self)
        else:
            self.internal.hand_over(taken, self)
        return self._take(caller, leg.agent, call.trunk_group if call.seized else "", taken,
                          now)

    def _take(self, caller: Leg, agent: str, trunk: str, taken: int, now: float) -> HandOff:
        """The hand-off of `caller`, left by `agent`, its target to ring under id `taken`."""
        handoff = HandOff(caller, agent, trunk, taken)
        self.by_caller[caller.call] = self.by_id[handoff.id] = handoff
        self.internal.hand_over(caller.call, self)  # the caller's leg ends here now
        self.caller_side.agent_left(caller, now)
        return handoff

    def _ring(self, handoff: HandOff, phone: str, now: float) -> bool:
        """Ring `phone` for `handoff`'s caller; False if it is not registered."""
        if self.phones.target(phone, now) is None:
            return False
        handoff.phone = phone
        self.ringer.ring(handoff, phone, now)
        handoff.ring_timer = self.dialogs.deadlines.schedule(
            now + self.extensions.ring_timeout, self._no_answer, handoff)
        return True

    def _place(self, handoff: HandOff, route: RouteOut, now: float) -> None:
        handoff.channel = route.group.name
        handoff.outside = self.outside.place(handoff.id, route, handoff.agent, PURPOSE,
                                             self._offer, self, now, held=True)

    def _offer(self, leg: Leg) -> bytes:
        """Our offer to an outside target: the caller's call's agent-side relay port."""
        caller = self.by_id[leg.call].caller
        anchor = self.caller_side.anchor
        return caller.invite.body if anchor is None else anchor.agent_offer(caller.call, leg)

    # --- a ring group's members rung for the caller ---------------------------------------

    def _group_unanswered(self, handoff: HandOff, now: float) -> None:
        """Nobody in the group answered: its `then`, a phone or an outside number, takes
        the caller, or call control does (a mailbox or a queue: `_hand_back`); else the
        agent is rung back (`_failed`)."""
        handoff.hunt = None
        group = handoff.group
        then = (None if group is None else group.then) or ""
        if then.startswith(("queue:", "voicemail:")):
            self._hand_back(handoff, then, now)
            return
        if then in self.extensions.users:
            if self._ring(handoff, then, now):
                return
        elif group is not None and then and self._place_then(handoff, group.number, then, now):
            return
        self._failed(handoff, now)

    def _hand_back(self, handoff: HandOff, then: str, now: float) -> None:
        """The caller of a group nobody (nor its `then` phone or number) answered is call
        control's again: on to `then`, or with "" back to the agent (`ring_group_unanswered`)."""
        self._finish(handoff, now)
        self.cc.ring_group_unanswered(now, handoff.caller.call, then)

    def _place_then(self, handoff: HandOff, number: str, then: str, now: float) -> bool:
        """Place the group's outside `then` for the caller; False if it cannot be (no
        route, not a number the group may forward to, no channel free)."""
        route = self.dialout.route(then)
        if route is None or self.extensions.forward_refusal(number, then) is not None:
            return False
        if not self.cc.seize_trunk(route.group.name):
            return False
        self._place(handoff, route, now)
        return True

    def _member_answered(self, handoff: HandOff, leg: Leg, now: float) -> bool:
        """A member rung for the group answered: the others are stopped; False if the hunt
        is over (another answered) or `leg`'s phone is not one it rings."""
        assert handoff.hunt is not None
        effects = handoff.hunt.answer(leg.agent)
        if effects is None:
            return False
        handoff.hunt, handoff.phone = None, leg.agent
        self.ringer.carry_out(handoff, effects, now)
        return True

    # --- the target's answer --------------------------------------------------------------

    def answered(self, leg: Leg, now: float) -> bool:
        """A phone rung for a caller answered: they talk; False if the caller is gone."""
        handoff = self.by_id.get(leg.call)
        if handoff is None or handoff.target is not None:
            return False
        if handoff.hunt is not None:
            if not self._member_answered(handoff, leg, now):
                return False
        elif leg.agent != handoff.phone:
            return False
        self._connect(handoff, leg, now)
        return True

    def outside_answered(self, call: OutsideCall, now: float) -> bool:
        handoff = self.by_id.get(call.id)
        if handoff is None or call.leg is None:
            return False
        self._connect(handoff, call.leg, now)
        return True

    def _connect(self, handoff: HandOff, leg: Leg, now: float) -> None:
        self._stop_timer(handoff)
        caller = handoff.caller
        if handoff.waiting:  # out of call control now, its channel ours to give back
            handoff.waiting = False
            handoff.trunk = self.cc.ring_group_answered(now, caller.call) or ""
        handoff.target, caller.partner, leg.partner = leg, leg, caller
        anchor = self.caller_side.anchor
        if anchor is None:
            self.caller_side.reconnect(caller, leg.answer_body, now)
        else:
            anchor.bridge(caller.call, leg, now, record=False)
        self.dialogs.start_session_timer(leg, now)

    # --- the target's failure: the agent rung back, then the caller hung up -----------------

    def refused(self, leg: Leg, status: int, reason: str, now: float) -> None:
        handoff = self.by_id.get(leg.call)
        if handoff is None or handoff.target is not None:
            return
        hunt = handoff.hunt
        if hunt is not None and leg.agent in hunt.ringing:
            self.ringer.unpause(handoff, leg.agent, now)
            self.ringer.carry_out(handoff, hunt.refuse(leg.agent, now), now)
        elif hunt is None and leg.agent == handoff.phone:
            self._failed(handoff, now)

    def outside_failed(self, call: OutsideCall, now: float) -> None:
        handoff = self.by_id.get(call.id)
        if handoff is not None:
            handoff.outside = None
            self._failed(handoff, now)

    def _no_answer(self, now: float, handoff: HandOff) -> None:
        handoff.ring_timer = None
        if handoff.target is None and self.by_id.get(handoff.id) is handoff:
            self.agent_side.stop_ringing(handoff.id, handoff.phone, now)
            self._failed(handoff, now)

    def _failed(self, handoff: HandOff, now: float) -> None:
        if handoff.waiting:
            self._hand_back(handoff, "", now)
            return
        self._stop_timer(handoff)
        self._release_channel(handoff)
        self._give_back(handoff, now)
        if not handoff.recalled:
            handoff.recalled = True
            if self._ring(handoff, handoff.agent, now):
                return
        self.ending.hang_up(handoff.caller, now)
        self._finish(handoff, now)

    # --- either side leaving ----------------------------------------------------------------

    def leg_ended(self, leg: Leg, now: float) -> None:
        """The caller left (the target is let go) or the answered phone did (the caller is)."""
        handoff = self.by_id.get(leg.call) or self.by_caller.get(leg.call)
        if handoff is None:
            return
        if leg is handoff.caller:
            self._let_target_go(handoff, now)
        elif leg is handoff.target:
            self.ending.hang_up(handoff.caller, now)
        else:
            return
        self._finish(handoff, now)
        if handoff.waiting:  # abandoned while the group rang
            self.cc.caller_hangup(now, leg.call)

    def outside_ended(self, call: OutsideCall, now: float) -> None:
        """The outside target hung up: so is the caller."""
        handoff = self.by_id.get(call.id)
        if handoff is not None:
            handoff.outside = None
            self.ending.hang_up(handoff.caller, now)
            self._finish(handoff, now)

    def _let_target_go(self, handoff: HandOff, now: float) -> None:
        if handoff.outside is not None:
            self.outside.hang_up(handoff.outside, now)  # CANCEL or BYE, and its records
        elif handoff.target is not None:
            self.ending.hang_up(handoff.target, now)
        elif handoff.hunt is not None:
            self.ringer.carry_out(handoff, handoff.hunt.give_up(), now)
        elif handoff.phone:
            self.agent_side.stop_ringing(handoff.id, handoff.phone, now)

    def _finish(self, handoff: HandOff, now: float) -> None:
        self._stop_timer(handoff)
        self._release_channel(handoff)
        self.by_id.pop(handoff.id, None)
        self.by_caller.pop(handoff.caller.call, None)
        self.internal.close(handoff.id)
        self.internal.close(handoff.caller.call)
        if handoff.trunk:
            self.cc.release_trunk(handoff.trunk)
        self._give_back(handoff, now)

    def _give_back(self, handoff: HandOff, now: float) -> None:
        for phone in handoff.paused:
            self.pauses.give_back(phone, now)
        handoff.paused.clear()

    def _release_channel(self, handoff: HandOff) -> None:
        if handoff.channel:
            self.cc.release_trunk(handoff.channel)
            handoff.channel = ""

    def _stop_timer(self, handoff: HandOff) -> None:
        self.ringer.stop_timer(handoff)
