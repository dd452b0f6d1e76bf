"""Ring groups: a phone dials a group's number and the appliance rings its members, all at
once or in turn (`features/ringgroup.py` decides who rings when); the first to answer is
bridged to the caller as on a call between phones, the others get CANCEL. When nobody
answers, the group's `then` takes the call (another phone, rung as one more turn, or an
outside number through `DialOut`); without one the caller hears 480.

Like calls between phones, these take no trunk and no queue: records of their own
(`RingGroupCall*`), ids from `internal.py`, and each party who is an agent paused (reason
`internal_call`) while rung or talking, given back when that ends.

A trunk caller a route sends to a group (`HuntRingGroup`) is rung for the same way, under an
id of the B2BUA's for its members' legs, while its own leg keeps call control's id and call
control holds the call waiting. A member who answers takes it out of call control (cause
ring_group) and the group gives its trunk channel back when either party hangs up; nobody
answering hands it back to call control, on to the group's `then` - a mailbox or a queue
(one call throughout: its records show the ringing, then the message or the queue) - or a
phone rung as one more turn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from appliance.eventlog import EventLog
from appliance.events import (
    CallForwarded,
    RingGroupCallAnswered,
    RingGroupCallEnded,
    RingGroupCallStarted,
    new,
)
from appliance.media import sdp
from appliance.pbx.b2bua.ending import UNAVAILABLE
from appliance.pbx.b2bua.extensions import CallsBetweenPhones, ExtensionCalls, connect
from appliance.pbx.b2bua.hunting import HuntRinger
from appliance.pbx.features.ringgroup import Hunt
from appliance.pbx.legs import Leg

if TYPE_CHECKING:
    from appliance.clock import TimerHandle
    from appliance.config.live import RingGroup, Sip
    from appliance.pbx.actions import HuntRingGroup


class RingGroupCall:
    """One call to a ring group: its caller, the group, the hunt and its timer."""

    __slots__ = ("caller", "caller_leg", "forwarded", "group", "hunt", "id", "member_leg",
                 "paused", "ring_timer", "trunk", "trunk_call")

    def __init__(self, call: int, caller: str, group: RingGroup, caller_leg: Leg,
                 hunt: Hunt) -> None:
        self.id, self.caller, self.group, self.caller_leg = call, caller, group, caller_leg
        self.hunt = hunt
        self.forwarded = False  # the group's `then` took the call
        self.member_leg: Leg | None = None  # the answering member's leg
        self.paused: list[str] = []  # the parties the ACD was told are busy
        self.ring_timer: TimerHandle | None = None
        self.trunk_call = 0  # a trunk caller's: call control's id of the call (also `id`)
        self.trunk = ""  # the trunk group whose channel the answered call holds


class RingGroupCalls(CallsBetweenPhones[RingGroupCall]):
    """The ring group calls in progress, by id; the owner of their legs (`InternalCalls`)."""

    ended = RingGroupCallEnded

    def __init__(self, extensions: ExtensionCalls, log: EventLog) -> None:
        self.extensions, self.log = extensions, log
        self.dialogs, self.ending, self.cc = extensions.dialogs, extensions.ending, extensions.cc
        self.agent_side, self.anchor = extensions.agent_side, extensions.anchor
        self.legs, self.deadlines = extensions.legs, extensions.deadlines
        self.pauses, self.internal = extensions.pauses, extensions.internal
        self.calls: dict[int, RingGroupCall] = {}
        self.groups: dict[str, RingGroup] = {}
        # A trunk caller handed back to a queue: what it hears (welcome, music) while queued.
        self.queued: Callable[[Leg, float], None] = lambda leg, now: None
        self.ringer: HuntRinger[RingGroupCall] = HuntRinger(
            self.agent_side, self.pauses, self.deadlines, self._no_answer,
            lambda call: self.calls.get(call.id) is call)

    def apply(self, sip: Sip) -> None:
        self.groups = {group.number: group for group in sip.ring_groups}

    def dialled(self, number: str) -> bool:
        """Whether `number` is a ring group's."""
        return number in self.groups

    def start(self, leg: Leg, offer: sdp.Sdp | None, caller: str, number: str,
              now: float) -> None:
        """Ring group `number`'s members for the phone of `leg` (an unanswered caller leg)."""
        group = self.groups[number]
        call = RingGroupCall(self.internal.open(self), caller, group, leg,
                             self._hunt(group, caller))
        self._begin(call, offer, new(RingGroupCallStarted, (now, call.id, caller, number)), now)
        self.ringer.carry_out(call, call.hunt.start(now), now)

    def take(self, hunt: HuntRingGroup, now: float) -> None:
        """`HuntRingGroup`: ring the group for a trunk caller call control holds waiting (its
        leg unanswered); a group a reload took away, or nobody to ring, hands it back. The
        call keeps call control's id, its legs' events taken over (`InternalCalls.hand_over`)
        until handed back."""
        leg = self.legs.callers.get(hunt.call)
        waiting = self.cc.calls.get(hunt.call)
        group = self.groups.get(hunt.group)
        if leg is None or waiting is None or group is None:
            self.cc.ring_group_unanswered(now, hunt.call, "")
            return
        self.internal.hand_over(hunt.call, self)
        call = RingGroupCall(hunt.call, waiting.ani, group, leg, self._hunt(group, waiting.ani))
        call.trunk_call = hunt.call
        self.calls[call.id] = call
        self.log.append(new(RingGroupCallStarted, (now, call.id, waiting.ani, group.number)))
        anchor = self.anchor
        self._ringing(leg, None if anchor is None else anchor.acceptable_offer(leg.invite.body),
                      now)
        self.ringer.carry_out(call, call.hunt.start(now), now)

    def hunt(self, number: str, caller: str) -> tuple[RingGroup, Hunt] | None:
        """Group `number` and a hunt through it for `caller` (who is not rung), members
        skipped as on the group's own calls; None if `number` is no group's."""
        group = self.groups.get(number)
        return None if group is None else (group, self._hunt(group, caller))

    def _hunt(self, group: RingGroup, caller: str) -> Hunt:
        return Hunt(group.members, group.strategy, group.ring_seconds,
                    lambda member, at: self._can_ring(caller, member, at))

    def _can_ring(self, caller: str, member: str, now: float) -> bool:
        """Whether `member` can be rung for `caller`: registered and free - on no call of
        the queues, between phones or of a ring group. A group skips a busy member, as a hunt
        group does, whatever line appearances their phone has left for direct calls."""
        return (self.extensions.refusal(caller, member, now) is None
                and not self.legs.lines_in_use.get(member) and not self.engaged(member))

    def engaged(self, phone: str) -> bool:
        """Whether `phone` is on a ring group call: calling, rung or talking."""
        return any(phone == call.caller or phone in call.hunt.ringing
                   or phone == call.hunt.answered for call in self.calls.values())

    # --- what the members' legs hear (`InternalParty`) -----------------------------------------

    def answered(self, leg: Leg, now: float) -> bool:
        call = self.calls.get(leg.call)
        effects = None if call is None or call.caller_leg.ended else call.hunt.answer(leg.agent)
        if call is None or effects is None:
            return False
        self._stop_timer(call)
        call.member_leg = leg
        if call.trunk_call:  # out of call control now, its channel ours to give back
            call.trunk = self.cc.ring_group_answered(now, call.trunk_call) or ""
        self.ringer.carry_out(call, effects, now)
        connect(self.dialogs, self.anchor, call.caller_leg, leg, now)
        self.log.append(new(RingGroupCallAnswered, (now, call.id, leg.agent)))
        return True

    def refused(self, leg: Leg, status: int, reason: str, now: float) -> None:
        call = self.calls.get(leg.call)
        if call is not None and leg.agent in call.hunt.ringing:
            self.ringer.unpause(call, leg.agent, now)
            self.ringer.carry_out(call, call.hunt.refuse(leg.agent, now), now)

    def leg_ended(self, leg: Leg, now: float) -> None:
        """As for any call between phones; a trunk caller still waiting for its group is
        call control's to end (abandoned)."""
        call = self.calls.get(leg.call)
        if call is not None and leg is call.caller_leg and call.trunk_call:
            self.cc.caller_hangup(now, call.trunk_call)
        super().leg_ended(leg, now)

    def _let_go_rung(self, call: RingGroupCall, now: float) -> bool:
        if call.member_leg is not None:
            self.ending.hang_up(call.member_leg, now)
        self.ringer.carry_out(call, call.hunt.give_up(), now)
        return call.member_leg is not None

    # --- the hunt's effects ---------------------------------------------------------------------

    def _no_answer(self, call: RingGroupCall, now: float) -> None:
        """Nobody answered: the group's `then`, if there is one to take the call; else 480."""
        target = None if call.forwarded else call.group.then
        if call.trunk_call and (target is None or target not in self.extensions.users):
            self._hand_back(call, target or "", now)
            return
        if target is not None and self.extensions.forward_refusal(call.group.number,
                                                                  target) is None:
            call.forwarded = True
            self.log.append(new(CallForwarded, (now, call.id, call.group.number, target,
                                                "no_answer")))
            if target in self.extensions.users:
                self._ring_then(call, target, now)
            else:
                self._call_out(call, target, now)
            return
        self.ending.hang_up(call.caller_leg, now, refusal=UNAVAILABLE)
        self._finish(call, "no_answer", now)

    def _hand_back(self, call: RingGroupCall, then: str, now: float) -> None:
        """A trunk caller nobody answered goes back to call control, on to `then` (a mailbox
        or a queue; with none, call control hangs it up). Queued, it hears the queue's
        welcome and music as a caller routed there does."""
        if then:
            self.log.append(new(CallForwarded, (now, call.id, call.group.number, then,
                                                "no_answer")))
        self._finish(call, "forwarded" if then else "no_answer", now)
        if self.cc.ring_group_unanswered(now, call.trunk_call, then) and (
                call.trunk_call in self.cc.calls and then.startswith("queue:")):
            self.queued(call.caller_leg, now)

    def _ring_then(self, call: RingGroupCall, target: str, now: float) -> None:
        caller = call.caller
        call.hunt = Hunt([target], "in_turn", self.extensions.ring_timeout,
                         lambda member, at: self._can_ring(caller, member, at))
        self.ringer.carry_out(call, call.hunt.start(now), now)

    def _call_out(self, call: RingGroupCall, target: str, now: float) -> None:
        dialout = self.extensions.dialout
        route = None if dialout is None else dialout.route(target)
        assert dialout is not None and route is not None  # `forward_refusal` checked
        paused = call.caller if call.caller in call.paused else None
        call.paused = [party for party in call.paused if party != paused]
        self._finish(call, "forwarded", now)
        dialout.take_over(call.caller_leg, paused, call.group.number, route, now)

    def _finish(self, call: RingGroupCall, cause: str, now: float) -> None:
        super()._finish(call, cause, now)
        if cause == "forwarded" and call.trunk_call:  # only a phone's lives on as outside
            self.internal.close(call.id)
        if call.trunk:
            self.cc.release_trunk(call.trunk)

    def _stop_timer(self, call: RingGroupCall) -> None:
        self.ringer.stop_timer(call)
