"""Call control: the one interface callers, ports and agents talk to.

A sans-I/O core. Drivers (the SimPy testbed, the live SIP server, tests) call
the input methods with the current time, then carry out ``take_actions()``
and keep one wake-up armed for ``next_deadline()``, calling
``on_deadline(now)`` when it comes. Every state change is appended to the
event log. Nothing here reads a clock or touches the network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Sized
from random import Random
from typing import TYPE_CHECKING, NamedTuple

from appliance.clock import Deadlines
from appliance.eventlog import EventLog
from appliance.events import (
    AgentState,
    CallBlocked,
    CallEnded,
    CallOffered,
    EndCause,
    IvrExitKind,
    SurveyScored,
    new,
)
from appliance.media.speech import say
from appliance.pbx.acd.agent import HELD as AGENT_HELD
from appliance.pbx.acd.agent import TALKING as AGENT_TALKING
from appliance.pbx.acd.callback import BUSY, FAILED, PendingCallback, pending
from appliance.pbx.acd.core import (
    REASON_DECLINED,
    RING_GROUP_PREFIX,
    ROOM_PREFIX,
    Acd,
    AnnouncementSeconds,
)
from appliance.pbx.actions import (
    Action,
    AnswerCaller,
    HangUpAgent,
    HangUpCaller,
    HuntRingGroup,
    JoinRoom,
    LeaveIvr,
    ReleaseCaller,
    StartSurvey,
)
from appliance.pbx.call import Call, CallState
from appliance.pbx.features.parking import Parking
from appliance.pbx.features.pickup import Pickups
from appliance.pbx.groupwait import GroupWait
from appliance.pbx.ivr import Farewell, FlowRun, PromptSeconds, Speaker
from appliance.pbx.ivr.callback import CallbackConfirm
from appliance.pbx.ivr.roompin import RoomPin
from appliance.pbx.routing import Decision, Kind, Router, Target
from appliance.pbx.trunks import TrunkGroups
from appliance.pbx.voicemail import Deposit

if TYPE_CHECKING:
    from appliance.config import Site, Survey
    from appliance.wallclock import WallClock


class CallData(NamedTuple):
    """What is known of a call for its agent's screen: a snapshot, not a live view."""

    ani: str
    dnis: str
    language: str  # chosen in the IVR; "" if the call did not pass one
    variables: Mapping[str, str]  # the IVR's user variables, lookups' fields among them


class AgentStatus(NamedTuple):
    """An agent's state as call control reports it: a snapshot, not a live view."""

    state: AgentState
    reason: str  # why NOT_READY (a REASON_ code or the agent's own); "" otherwise
    call: int  # the call the agent rings for, talks on, holds or wraps up; 0 for none


# Destinations that end the call at once, and the cause they end it with. (A prompt plays
# first: `_play_closed`; a named agent is rung if ready: `_ring_agent`; a mailbox takes a
# message: `_to_voicemail`.)
_ROUTED_AWAY: dict[Kind, EndCause] = {
    Kind.BLACKLISTED: EndCause.BLACKLISTED,
}

# How a call that leaves the IVR other than for a queue or an agent ends (ABANDONED: the
# caller is gone already, no HangUpCaller).
_IVR_ENDS: dict[IvrExitKind, EndCause] = {
    IvrExitKind.COMPLETED: EndCause.IVR_COMPLETED,
    IvrExitKind.HANG_UP: EndCause.IVR_HANG_UP,
    IvrExitKind.ABANDONED: EndCause.IVR_ABANDONED,
    IvrExitKind.VOICEMAIL: EndCause.VOICEMAIL,
}

IN_IVR = CallState.IVR
QUEUED = CallState.QUEUED
TALKING = CallState.TALKING
HELD = CallState.HELD
PARKED = CallState.PARKED
ENDED = CallState.ENDED


class CallControl:
    """`announcement_seconds`, if given, says how long each queue announcement plays (the
    prompt set's real length, say); without it every announcement lasts its queue's
    configured `duration`. `wallclock` gives the local date and time of the core's time for
    routes that follow schedules and for the IVR's DATE and TIME (required if the site has
    either). `prompt_seconds` says how long the IVR's prompts play (without it, a second
    each) and `speaker` how PLAY NUMBER speaks (`appliance.media.speech.say` by default)."""

    def __init__(
        self,
        site: Site,
        log: EventLog,
        rng: Random,
        announcement_seconds: AnnouncementSeconds | None = None,
        wallclock: WallClock | None = None,
        prompt_seconds: PromptSeconds | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        self.site = site
        self.log = log
        self.calls: dict[int, Call] = {}
        # Shared with the ACD; drivers empty it only through ``take_actions``.
        self._outbox: list[Action] = []
        # The same list, read-only: a driver may test it to skip ``take_actions`` when
        # nothing is queued (a third of the inputs in simulation).
        self.pending: Sized = self._outbox
        # The core's timers. Drivers read ``deadlines.scheduled`` to skip asking for
        # the next deadline when no timer was set since they last asked.
        self.deadlines = self._deadlines = Deadlines()
        self._next_call_id = 0
        self.trunks = TrunkGroups(site)
        self._wallclock = wallclock
        self.router = Router(site, wallclock)
        _check_ivr_clock(site, wallclock)
        self._prompt_seconds = prompt_seconds or _a_second_each
        self.prompt_seconds: PromptSeconds = self._prompt_seconds
        """How long prompts play, as call control times them (for the drivers' own)."""
        self._speaker = speaker or say
        self.acd = Acd(site, self.calls, log, self._outbox, self._deadlines, self._end, rng,
                       announcement_seconds, self.trunks)
        self.parking = Parking(site.sip.park, self.calls, self.acd, log, self._outbox,
                               self._deadlines)
        self.pickups = Pickups(self.calls, self.acd, log)
        self.acd.to_voicemail = self._to_voicemail
        # When the core next needs on_deadline(); None if never. Drivers ask
        # after every input, so this is the heap's own method.
        self.next_deadline: Callable[[], float | None] = self._deadlines.next_deadline
        # Run every timer due at or before ``now``: the heap's own method too, as every
        # wake-up of the driver calls it.
        self.on_deadline: Callable[[float], None] = self._deadlines.run_due

    @property
    def announcement_seconds(self) -> AnnouncementSeconds | None:
        """How long announcements play (None: the configured duration). Settable, for
        drivers that get a core already built; it applies from the next announcement on."""
        return self.acd.announcement_seconds

    @announcement_seconds.setter
    def announcement_seconds(self, seconds: AnnouncementSeconds | None) -> None:
        self.acd.announcement_seconds = seconds

    def reload(self, site: Site, now: float) -> None:
        """Apply a new configuration (already validated) to new calls; calls up keep going.

        Routes and trunk groups apply to calls offered from now on (a call holds its
        channel of a group until it ends, even of a group gone from the file); queues,
        agents and skills as `Acd.reload` says.
        """
        router = Router(site, self._wallclock)  # first: it refuses schedules without a clock
        _check_ivr_clock(site, self._wallclock)
        self.site = site
        self.trunks.reload(site)
        self.router = router
        self.acd.reload(site, now)
        self.parking.reload(site.sip.park)

    # --- the driver's side -----------------------------------------------------

    def take_actions(self) -> list[Action]:
        """The actions produced since the last call, oldest first; the outbox empties."""
        outbox = self._outbox
        if not outbox:  # a third of the time in simulation: spare the copy
            return []
        actions = outbox[:]
        outbox.clear()
        return actions

    def call_data(self, call_id: int) -> CallData | None:
        """The call's caller number, dialled number and what the IVR learnt (None for a call
        that has ended): what an agent's phone or desktop shows as the call rings."""
        call = self.calls.get(call_id)
        if call is None:
            return None
        return CallData(call.ani, call.dnis, call.language, dict(call.variables))

    def agent_status(self, agent: str) -> AgentStatus | None:
        """Where `agent` stands now (None for an agent the site does not have): what callers,
        agents' phones and feature codes may ask of the ACD without reaching into it."""
        found = self.acd.agents.get(agent)
        if found is None:
            return None
        return AgentStatus(found.state, found.reason, found.call)

    # --- callers ----------------------------------------------------------------

    def offer_call(
        self, now: float, trunk_group: str, ani: str = "", dnis: str = "", attempt: int = 1,
        *, line: str = "",
    ) -> int:
        """A call arrives on a trunk group (on `line`, for a group whose lines are told apart
        that way). Returns its id.

        If no channel of the group is free the call is blocked at once (a
        ``HangUpCaller`` with cause BLOCKED is in the outbox). Otherwise routing decides:
        a queue takes it, an IVR flow answers it, a closed prompt answers it and plays
        (``AnswerCaller``, ``PlayPrompts``, then after ``prompt_seconds`` a ``HangUpCaller``
        with cause CLOSED), the agent it names is rung (``Acd.ring_direct``), the mailbox it
        names takes a message (`_to_voicemail`), the ring group it names rings
        (`HuntRingGroup`; the call waits for `ring_group_answered` or `ring_group_unanswered`),
        or it ends at once with a ``HangUpCaller`` whose cause says why (NO_ROUTE, BLACKLISTED,
        AGENT_UNREACHABLE for a named agent who is not ready).
        """
        self._next_call_id += 1
        call_id = self._next_call_id
        log = self.log.append
        log(new(CallOffered, (now, call_id, trunk_group, ani, dnis, attempt)))
        if not self.trunks.seize(trunk_group):
            log(new(CallBlocked, (now, call_id, trunk_group)))
            log(new(CallEnded, (now, call_id, EndCause.BLOCKED)))
            self._outbox.append(new(HangUpCaller, (call_id, EndCause.BLOCKED)))
            return call_id
        call = Call(call_id, trunk_group, ani, dnis, now)
        self.calls[call_id] = call
        decision = self.router.route(now, trunk_group, ani, dnis, line)
        cause = _ROUTED_AWAY.get(decision.target.kind) if decision else EndCause.NO_ROUTE
        if cause is not None:
            self._outbox.append(new(HangUpCaller, (call_id, cause)))
            self._end(call, cause, now)
        elif decision.target.kind is Kind.FLOW:  # type: ignore[union-attr]
            self._enter_ivr(call, decision, now)  # type: ignore[arg-type]
        elif decision.target.kind is Kind.PROMPT:  # type: ignore[union-attr]
            self._play_closed(call, decision.target.name, now)  # type: ignore[union-attr]
        elif decision.target.kind is Kind.AGENT:  # type: ignore[union-attr]
            self._ring_agent(call, decision.target.name, now)  # type: ignore[union-attr]
        elif decision.target.kind is Kind.VOICEMAIL:  # type: ignore[union-attr]
            self._voicemail_or_end(call, decision.target.name, now)  # type: ignore[union-attr]
        elif decision.target.kind is Kind.RING_GROUP:  # type: ignore[union-attr]
            self._to_ring_group(call, decision.target.name)  # type: ignore[union-attr]
        else:
            self._enqueue(call, decision, now)  # type: ignore[arg-type]
        return call_id

    def reserve_call_id(self) -> int:
        """A call id no call has or will be given, for a `connect_outside` to come: the
        B2BUA opens the call's media under it before the outside call is answered."""
        self._next_call_id += 1
        return self._next_call_id

    def connect_outside(self, now: float, trunk_group: str, number: str, dnis: str,
                        target: Target, variables: Mapping[str, str],
                        call_id: int | None = None) -> int:
        """An outside call the appliance placed (a campaign's) was answered: it becomes a call
        offered on `trunk_group` from `number` to `dnis`, sent straight to `target` (a queue,
        whose agents are rung as for any queued caller, or an IVR flow) with `variables` set
        as the IVR's user variables. It seizes no channel: the outside call holds one until
        it ends. No `AnswerCaller`: the call is answered already. `call_id`: one from
        `reserve_call_id` (None: a new one). Returns its id."""
        call = Call(self.reserve_call_id() if call_id is None else call_id, trunk_group,
                    number, dnis, now)
        call.seized = False
        self.log.append(new(CallOffered, (now, call.id, trunk_group, number, dnis, 1)))
        self.calls[call.id] = call
        if target.kind is Kind.FLOW:
            call.state = IN_IVR
            call.ivr = run = self._flow_run(call, target.name,
                                            lambda leave, t: self._left_ivr(call, leave, t))
            run.variables.update(variables)
            run.start(now)
        else:
            call.variables = dict(variables)
            self.acd.enqueue(call, target.name, now)
        return call.id

    def carry_callback(self, now: float, callback: PendingCallback, waited: float) -> int | None:
        """A callback an earlier run left pending becomes a call of this one: offered (its
        customer is not on the line, so no channel is seized and nothing is answered) and put
        back in its queue as having waited `waited` seconds (`Callbacks.carry`), to be placed
        as any callback. Returns its id; None if its queue is gone or offers no callback now
        (nothing is logged then)."""
        queue = self.acd.callbacks.carried_to(callback.queue)
        if queue is None:
            return None
        call = Call(self.reserve_call_id(), callback.trunk_group, callback.ani, callback.dnis,
                    now)
        call.seized = False
        self.log.append(new(CallOffered, (now, call.id, call.trunk_group, call.ani, call.dnis,
                                          1)))
        self.calls[call.id] = call
        self.acd.callbacks.carry(call, queue, callback, waited, now)
        return call.id

    def free_agents(self, queue: str) -> int:
        """How many agents of `queue` are ready for a call now (0 for a queue the site has
        not): what a progressive dialer dials for."""
        found = self.acd.queues.get(queue)
        return 0 if found is None else len(found.ready)

    def _enter_ivr(self, call: Call, decision: Decision, now: float) -> None:
        """The IVR answers the call and walks its flow (`caller_digit`, `lookup_done`)."""
        call.state = IN_IVR
        call.route_priority = decision.priority
        call.ivr_answered = True
        self._outbox.append(new(AnswerCaller, (call.id,)))
        call.ivr = self._flow_run(call, decision.target.name,
                                  lambda leave, t: self._left_ivr(call, leave, t))
        call.ivr.start(now)

    def _flow_run(self, call: Call, flow: str, on_exit: Callable[[LeaveIvr, float], None],
                  agent: str = "") -> FlowRun:
        assert self.site.ivr is not None and self._wallclock is not None  # checked at load
        return FlowRun(call.id, self.site.ivr, flow, ani=call.ani, dnis=call.dnis,
                       clock=self._wallclock, deadlines=self._deadlines,
                       prompt_seconds=self._prompt_seconds, speaker=self._speaker,
                       outbox=self._outbox, log=self.log, on_exit=on_exit, agent=agent)

    def _play_closed(self, call: Call, prompt: str, now: float) -> None:
        """The call is answered, hears `prompt` in the site's language and is hung up, cause
        CLOSED. It waits in the IVR state (answered, the appliance speaks) but logs no IVR
        records: its outcome is routed away, not served by the IVR."""
        call.state = IN_IVR
        call.ivr_answered = True
        self._outbox.append(new(AnswerCaller, (call.id,)))
        call.ivr = Farewell(call.id, prompt, self.site.media.language,
                            deadlines=self._deadlines, prompt_seconds=self._prompt_seconds,
                            outbox=self._outbox,
                            on_end=lambda gone, t: self._closed(call, gone, t))
        call.ivr.start(now)

    def _closed(self, call: Call, caller_gone: bool, now: float) -> None:
        # Hung up during the prompt: still CLOSED, for the caller heard why (or began to) and
        # the figures count the call where routing sent it, not as abandoned in a queue.
        call.ivr = None
        if not caller_gone:
            self._outbox.append(new(HangUpCaller, (call.id, EndCause.CLOSED)))
        self._end(call, EndCause.CLOSED, now)

    def _left_ivr(self, call: Call, leave: LeaveIvr, now: float) -> None:
        call.ivr = None
        call.language, call.variables = leave.language, leave.variables
        if leave.kind is IvrExitKind.QUEUE:
            call.state = CallState.ROUTING
            if leave.priority is not None:
                call.route_priority = leave.priority
            self._outbox.append(leave)  # drivers: the caller now waits as queued callers do
            self.acd.enqueue(call, leave.target, now)
            return
        if leave.kind is IvrExitKind.AGENT:
            self._ring_agent(call, leave.target, now, leave)
            return
        if leave.kind is IvrExitKind.VOICEMAIL:
            self._voicemail_or_end(call, leave.target, now)
            return
        if leave.kind is IvrExitKind.CONFERENCE:
            self._to_room(call, leave.target, leave.ask_pin, now)
            return
        cause = _IVR_ENDS[leave.kind]
        if leave.kind is not IvrExitKind.ABANDONED:
            self._outbox.append(new(HangUpCaller, (call.id, cause)))
        self._end(call, cause, now)

    def _to_room(self, call: Call, room: str, ask_pin: bool, now: float) -> None:
        """An IVR exit into conference room `room` (its number): the caller keys in the room's
        PIN first if the exit asks and the room has one (`RoomPin`; turned away, the IVR hangs
        up on them: IVR_HANG_UP), then `_into_room`. A room a reload took away: IVR_HANG_UP."""
        found = next((r for r in self.site.sip.conferences if r.number == room), None)
        if found is None:
            self._outbox.append(new(HangUpCaller, (call.id, EndCause.IVR_HANG_UP)))
            self._end(call, EndCause.IVR_HANG_UP, now)
        elif ask_pin and found.pin:
            call.ivr = RoomPin(found.pin, lambda admitted, gone, t: self._at_door(
                call, room, admitted, gone, t))
        else:
            self._into_room(call, room, now)

    def _at_door(self, call: Call, room: str, admitted: bool, caller_gone: bool,
                 now: float) -> None:
        call.ivr = None
        if admitted:
            self._into_room(call, room, now)
        elif caller_gone:
            self._end(call, EndCause.IVR_ABANDONED, now)
        else:
            self._outbox.append(new(HangUpCaller, (call.id, EndCause.IVR_HANG_UP)))
            self._end(call, EndCause.IVR_HANG_UP, now)

    def _into_room(self, call: Call, room: str, now: float) -> None:
        """`JoinRoom`: the driver lets the caller into `room`, where the call control ends
        (cause CONFERENCE, no `HangUpCaller`); a trunk channel the call holds is the room's
        to give back (`release_trunk`)."""
        group = call.trunk_group if call.seized else ""
        self._outbox.append(new(JoinRoom, (call.id, room, group, call.ani)))
        self._let_go(call, EndCause.CONFERENCE, now)

    def _let_go(self, call: Call, cause: EndCause, now: float) -> None:
        """End `call` for call control with `cause`, its caller's leg left up (in a room,
        or transferred out): the trunk channel it holds is the B2BUA's to give back."""
        seized, call.seized = call.seized, False
        self._end(call, cause, now)
        call.seized = seized

    # --- ring groups a route sends callers to -------------------------------------------------

    def _to_ring_group(self, call: Call, group: str) -> None:
        """The caller waits, unanswered, in the IVR state (`GroupWait`) while the driver rings
        the group: one call throughout, whatever the group's `then` makes of it."""
        call.state = IN_IVR
        call.ivr = GroupWait(group, lambda t: self._end(call, EndCause.ABANDONED, t))
        self._outbox.append(new(HuntRingGroup, (call.id, group)))

    def ring_group_answered(self, now: float, call_id: int) -> str | None:
        """A phone of the group `HuntRingGroup` rang for `call_id` answered: the call leaves
        call control (cause RING_GROUP; TRANSFERRED_OUT for one an agent transferred to the
        group, `agent_transfer_to_group`). Returns the trunk group whose channel it holds, now
        the driver's to give back (`release_trunk`; "" for none); None if the call no longer
        waits for its group."""
        wait = self._group_wait(call_id)
        call = self._waiting_for_group(call_id)
        if call is None or wait is None:
            return None
        group = call.trunk_group if call.seized else ""
        call.recall = None
        self._let_go(call, EndCause.TRANSFERRED_OUT if wait.transferred else EndCause.RING_GROUP,
                     now)
        return group

    def ring_group_unanswered(self, now: float, call_id: int, then: str) -> bool:
        """Nobody of the group answered: the call goes on to `then` - "queue:NAME" (queued
        as any caller routed there, the time rung not counted as waiting; a transferred call
        as a transfer to that queue is, `Acd.enqueue_transferred`) or "voicemail:BOX"
        (`_to_voicemail`); anything else, or a queue or box the site no longer has, rings a
        transferred call's agent back (`Acd.recall`), or ends the call AGENT_UNREACHABLE with
        a ``HangUpCaller``. False if the call no longer waits."""
        wait = self._group_wait(call_id)
        call = self._waiting_for_group(call_id)
        if call is None or wait is None:
            return False
        kind, _, name = then.partition(":")
        recall, call.recall = call.recall, None
        if kind == "queue" and self.acd.live_queue(name):
            call.state = CallState.ROUTING
            if wait.transferred:
                self.acd.enqueue_transferred(call, name, now)
            else:
                self.acd.enqueue(call, name, now)
        elif not (kind == "voicemail" and self._to_voicemail(call, name, now)):
            call.recall = recall
            if not (wait.transferred and self.acd.recall(call, now)):
                self._outbox.append(new(HangUpCaller, (call.id, EndCause.AGENT_UNREACHABLE)))
                self._end(call, EndCause.AGENT_UNREACHABLE, now)
        return True

    def _group_wait(self, call_id: int) -> GroupWait | None:
        call = self.calls.get(call_id)
        return call.ivr if call is not None and isinstance(call.ivr, GroupWait) else None

    def _waiting_for_group(self, call_id: int) -> Call | None:
        call = self.calls.get(call_id)
        if call is None or not isinstance(call.ivr, GroupWait):
            return None
        call.ivr = None
        return call

    def _voicemail_or_end(self, call: Call, mailbox: str, now: float) -> None:
        if not self._to_voicemail(call, mailbox, now):
            self._outbox.append(new(HangUpCaller, (call.id, EndCause.VOICEMAIL)))
            self._end(call, EndCause.VOICEMAIL, now)

    def _to_voicemail(self, call: Call, mailbox: str, now: float) -> bool:
        """The caller is answered and leaves a message in `mailbox` ("": the box of the call's
        queue); the call ends VOICEMAIL once it is over (`Deposit`). False, nothing done, if
        the site has no such box (a reload took it away, or the queue has none)."""
        voicemail = self.site.voicemail
        box = voicemail.mailbox(mailbox) if mailbox else voicemail.box_of_queue(call.queue)
        if box is None:
            return False
        call.state = IN_IVR
        call.ivr_answered = True
        self._outbox.append(new(AnswerCaller, (call.id,)))
        language = call.language or self.site.media.language
        call.ivr = Deposit(call.id, box.name, box.greeting, box.max_seconds, language,
                           deadlines=self._deadlines, prompt_seconds=self._prompt_seconds,
                           outbox=self._outbox, log=self.log,
                           on_end=lambda gone, t: self._deposited(call, gone, t))
        call.ivr.start(now)
        return True

    def _deposited(self, call: Call, caller_gone: bool, now: float) -> None:
        call.ivr = None
        if not caller_gone:
            self._outbox.append(new(HangUpCaller, (call.id, EndCause.VOICEMAIL)))
        self._end(call, EndCause.VOICEMAIL, now)

    def _ring_agent(self, call: Call, agent: str, now: float,
                    leave: LeaveIvr | None = None) -> None:
        """Ring the one agent a route or an IVR exit (``leave``) names; if they are not
        ready the call ends at once, AGENT_UNREACHABLE (so it does if the ring fails)."""
        if not self.acd.ring_direct(call, agent, now):
            self._outbox.append(new(HangUpCaller, (call.id, EndCause.AGENT_UNREACHABLE)))
            self._end(call, EndCause.AGENT_UNREACHABLE, now)
        elif leave is not None:
            self._outbox.append(leave)  # drivers: the caller waits for the agent to answer

    def caller_digit(self, now: float, call_id: int, digit: str) -> None:
        """The caller pressed `digit` (RFC 4733, INFO or in-band): for the IVR, if the call is
        in it or confirming a callback; a waiting caller's press of their queue's callback key
        starts the confirmation (`CallbackConfirm`); a digit at any other time is only logged
        (by the driver)."""
        call = self.calls.get(call_id)
        if call is None:
            return
        if call.ivr is not None:
            call.ivr.digit(digit, now)
        elif call.state is QUEUED and digit == self.acd.callbacks.key(call):
            self._confirm_callback(call, now)

    def _confirm_callback(self, call: Call, now: float) -> None:
        """Read the caller's number back for them to confirm; they keep waiting meanwhile
        (an agent who answers first takes the call as usual)."""
        call.ivr = CallbackConfirm(
            call.id, call.ani, call.language or self.site.media.language,
            deadlines=self._deadlines, prompt_seconds=self._prompt_seconds,
            speaker=self._speaker, outbox=self._outbox,
            on_confirmed=lambda number, t: self._callback_confirmed(call, number, t),
            on_dropped=lambda t: self._callback_dropped(call))
        call.ivr.start(now)

    def _callback_confirmed(self, call: Call, number: str, now: float) -> None:
        """The caller's leg ends and the trunk is free; the call keeps its place."""
        call.ivr = None
        self.acd.callbacks.request(call, number, now)
        self._outbox.append(new(ReleaseCaller, (call.id, number)))
        self.trunks.release(call.trunk_group)

    @staticmethod
    def _callback_dropped(call: Call) -> None:
        call.ivr = None

    def callback_answered(self, now: float, call_id: int) -> bool:
        """The customer answered a `PlaceCallback`. False if the call no longer calls them."""
        call = self.calls.get(call_id)
        return call is not None and self.acd.callbacks.answered(call, now)

    def callback_failed(self, now: float, call_id: int, busy: bool = False) -> bool:
        """A `PlaceCallback` did not reach the customer: busy (486, 600), or failed (any other
        refusal, no or an unusable answer); no answer is the core's own ring timeout. False
        if the call no longer calls them."""
        call = self.calls.get(call_id)
        reason = BUSY if busy else FAILED
        return call is not None and self.acd.callbacks.failed(call, reason, now)

    def lookup_done(self, now: float, call_id: int, fields: Mapping[str, str] | None) -> None:
        """The answer to a `LookUp`: the fields found, {} for none, None if it failed."""
        call = self.calls.get(call_id)
        if call is not None and call.ivr is not None:
            call.ivr.lookup_done(fields, now)

    def _enqueue(self, call: Call, decision: Decision, now: float) -> None:
        call.route_priority = decision.priority
        self.acd.enqueue(call, decision.target.name, now)

    def caller_hangup(self, now: float, call_id: int) -> bool:
        """The caller hung up. False if the call had already ended."""
        call = self.calls.get(call_id)
        if call is None:
            return False
        state = call.state
        if state is QUEUED and not pending(call):
            if call.ivr is not None:  # confirming a callback
                call.ivr.hang_up(now)
                call.ivr = None
            self.acd.caller_left(call, now)
            self._end(call, EndCause.ABANDONED, now)
        elif state is IN_IVR:
            assert call.ivr is not None
            call.ivr.hang_up(now)  # a flow's USER STOP FLOW, or the closed prompt stops: ends
        elif state is TALKING or state is HELD:
            self._outbox.append(new(HangUpAgent, (call_id, call.agent)))
            self.acd.talk_ended(call, now)
            self._end(call, EndCause.CALLER_HANGUP, now)
        elif state is PARKED:
            self.parking.caller_left(call)
            self._end(call, EndCause.CALLER_HANGUP, now)
        else:
            return False
        return True

    # --- agents -----------------------------------------------------------------

    def agent_answer(self, now: float, agent: str, call_id: int) -> bool:
        call = self.calls.get(call_id)
        if call is None or not self.acd.answer(agent, call, now):
            return False
        call.parked = None  # a parked call rung back to its parker is served
        if call.ivr is not None:  # answered while the caller confirmed a callback
            call.ivr.stop()  # type: ignore[union-attr]
            call.ivr = None
        return True

    def agent_decline(
        self, now: float, agent: str, call_id: int, reason: str = REASON_DECLINED
    ) -> bool:
        """The ring failed before its timeout; ``reason`` is one of the ACD's REASON_ codes
        and decides, with the queue's ``autopause``, whether the agent is paused."""
        call = self.calls.get(call_id)
        return call is not None and self.acd.decline(agent, call, now, reason)

    def agent_hangup(self, now: float, agent: str) -> bool:
        """The agent hung up their call (talking or holding): the caller is hung up, or stays
        for the queue's survey (`StartSurvey`, then the survey flow's actions)."""
        agent_state = self.acd.agents.get(agent)
        if agent_state is None or (agent_state.state is not AGENT_TALKING
                                   and agent_state.state is not AGENT_HELD):
            return False
        call = self.calls[agent_state.call]
        if pending(call):  # on the line while the customer is called: that attempt fails
            self.acd.callbacks.agent_hung_up(call, now)
            return True
        survey = _survey_of(self.site, call.queue)
        if survey is None:
            self._outbox.append(new(HangUpCaller, (call.id, EndCause.AGENT_HANGUP)))
            self.acd.talk_ended(call, now)
            self._end(call, EndCause.AGENT_HANGUP, now)
        else:
            self.acd.talk_ended(call, now)
            self._start_survey(call, survey, agent, now)
        return True

    def _start_survey(self, call: Call, survey: Survey, agent: str, now: float) -> None:
        """The caller stays on the line for the queue's survey flow, which reads `agent` as
        AGENT, the user variables of the call's first IVR pass (but the score) as they were,
        and speaks the language the caller chose (if any); the trunk stays seized."""
        call.state = IN_IVR
        self._outbox.append(new(StartSurvey, (call.id, agent)))
        queue = call.queue
        run = call.ivr = self._flow_run(
            call, survey.flow, lambda leave, t: self._surveyed(call, agent, queue, survey.score,
                                                               leave, t), agent)
        run.language = call.language or run.language
        # What the caller's first pass through the IVR found is there to say; the score
        # starts empty, so that only what the survey itself collects counts.
        run.variables.update({k: v for k, v in call.variables.items() if k != survey.score})
        run.start(now)

    def _surveyed(self, call: Call, agent: str, queue: str, variable: str, leave: LeaveIvr,
                  now: float) -> None:
        """The survey's flow is over: its score variable, if set, is the caller's rating.
        Whatever way the flow left (a caller who hangs up included), the call ends as the
        agent ended it."""
        call.ivr = None
        score = leave.variables.get(variable, "")
        if score:
            self.log.append(new(SurveyScored, (now, call.id, agent, queue, score)))
        if leave.kind is not IvrExitKind.ABANDONED:
            self._outbox.append(new(HangUpCaller, (call.id, EndCause.AGENT_HANGUP)))
        self._end(call, EndCause.AGENT_HANGUP, now)

    def agent_hold(self, now: float, agent: str) -> bool:
        return self.acd.hold(agent, now)

    def agent_resume(self, now: float, agent: str) -> bool:
        return self.acd.resume(agent, now)

    def agent_transfer(self, now: float, agent: str, queue: str) -> bool:
        """Blind-transfer the agent's call to `queue`; False (nothing changed) if the agent
        is not on a call or the queue does not take calls."""
        return self.acd.transfer(agent, queue, now)

    def agent_transfer_to_agent(self, now: float, agent: str, target: str) -> bool:
        """Blind-transfer the agent's call to the agent `target` (`Acd.transfer_to_agent`:
        a ring not taken comes back to `agent`, then to the queue); False (nothing changed)
        if `agent` is not on a call or `target` is not ready."""
        return self.acd.transfer_to_agent(agent, target, now)

    def agent_transfer_attended(self, now: float, agent: str, target: str) -> bool:
        """Attended transfer: the agent `target`, whom `agent` consulted, takes `agent`'s
        call at once (`Acd.take_over`); False (nothing changed) if `agent` is not on a call
        or `target` is on one or ringing."""
        return self.acd.take_over(agent, target, now)

    def agent_to_conference(self, now: float, agent: str, room: str) -> Call | None:
        """Blind-transfer the agent's call into conference room `room` (`CallTransferred`
        to "conference:" + room): the agent is let go (`HangUpAgent`) and wraps up, and the
        call ends for call control, cause CONFERENCE, with no `HangUpCaller`: the caller
        stays on the line in the room. Its trunk channel stays seized; the room gives it back
        (`release_trunk`) when the caller leaves. The call ended is returned (its trunk
        group, its caller's number); None, nothing changed, if the agent has no call or a
        callback's (its line is the callback's outside call, not a trunk call's)."""
        return self.agent_transfer_out(now, agent, ROOM_PREFIX + room, EndCause.CONFERENCE)

    def agent_transfer_out(self, now: float, agent: str, target: str,
                           cause: EndCause = EndCause.TRANSFERRED_OUT) -> Call | None:
        """Blind-transfer the agent's call out of the ACD to `target` (`CallTransferred`: a
        phone as "extension:" + user, an outside number as "outside:" + number): as
        `agent_to_conference`, ending the call with `cause`; the trunk channel is the
        B2BUA's to give back (`release_trunk`) when the caller's leg ends."""
        found = self.acd.agents.get(agent)
        held = None if found is None else self.calls.get(found.call)
        if held is None or held.callback is not None:
            return None
        call = self.acd.transfer_out(agent, target, now)
        if call is None:
            return None
        self._let_go(call, cause, now)
        return call

    def agent_transfer_to_group(self, now: float, agent: str, group: str) -> Call | None:
        """Blind-transfer the agent's call to ring group `group` (its number;
        `CallTransferred` to "ring_group:" + number): the agent is let go and wraps up, and
        the call, returned, waits for the group as a caller a route sends there does - for
        `ring_group_answered` (cause TRANSFERRED_OUT) or `ring_group_unanswered`, where with
        no `then` left it rings the agent back (`Acd.recall`). None, nothing changed, if the
        agent has no call or a callback's."""
        found = self.acd.agents.get(agent)
        held = None if found is None else self.calls.get(found.call)
        if held is None or held.callback is not None:
            return None
        call = self.acd.transfer_to_group(agent, RING_GROUP_PREFIX + group, now)
        if call is None:
            return None
        call.state = IN_IVR
        call.ivr = GroupWait(group, lambda t: self._end(call, EndCause.ABANDONED, t), True)
        return call

    def transfer_queue(self, now: float, agent: str, dialled: str) -> str | None:
        """The queue an agent means by `dialled` when transferring their call: a queue's
        name, or a number a route sends to a queue now, as if the caller had dialled it (a
        route for any number does not count). None if it is neither, or the agent has no
        call."""
        if any(queue.name == dialled for queue in self.site.queues):
            return dialled
        found = self.acd.agents.get(agent)
        call = None if found is None else self.calls.get(found.call)
        decision = None if call is None else self.router.route(now, call.trunk_group, call.ani,
                                                               dialled)
        if (decision is None or decision.route < 0 or decision.target.kind is not Kind.QUEUE
                or self.site.routes[decision.route].dnis != dialled):
            return None
        return decision.target.name

    def agent_park(self, now: float, agent: str) -> int | None:
        """Park the agent's call (`Parking.park`): the slot's number, None if not parked."""
        return self.parking.park(agent, now)

    def park_pick_up(self, now: float, slot: int, agent: str) -> int | None:
        """`agent` dialled park slot `slot` (`Parking.pick_up`): the call's id, or None."""
        return self.parking.pick_up(slot, agent, now)

    def pickup_target(self, agent: str, directed_at: str | None) -> int | None:
        """The call `agent`'s pickup code means: the one ringing `directed_at`'s phone, or
        with None the oldest ringing at their team's (`Pickups`); None if there is none."""
        pickups = self.pickups
        call = pickups.for_group(agent) if directed_at is None else pickups.ringing_at(
            directed_at)
        return None if call is None else call.id

    def agent_pick_up(self, now: float, agent: str, call_id: int, directed: bool) -> bool:
        """`agent` takes the call from the phones it rings (`Pickups.pick_up`): rung and
        answered at once. False, nothing changed, if they cannot now."""
        call = self.calls.get(call_id)
        return call is not None and self.pickups.pick_up(agent, call, directed, now)

    def agent_login(self, now: float, agent: str, ready: bool = True, reason: str = "") -> bool:
        return self.acd.login(agent, now, ready, reason)

    def agent_logout(self, now: float, agent: str) -> bool:
        return self.acd.logout(agent, now)

    def agent_ready(self, now: float, agent: str) -> bool:
        return self.acd.ready(agent, now)

    def agent_not_ready(self, now: float, agent: str, reason: str) -> bool:
        return self.acd.not_ready(agent, reason, now)

    def seize_trunk(self, group: str) -> bool:
        """Take a channel of trunk group `group` for a call the appliance places out; False
        when every channel is busy. Inbound and outside calls share the group's channels,
        as on a real FXO card or E1 span. Give it back with `release_trunk`."""
        return self.trunks.seize(group)

    def release_trunk(self, group: str) -> None:
        self.trunks.release(group)

    def agent_end_pause(self, now: float, agent: str, reason: str) -> bool:
        """End a pause of `agent` for `reason` (`Acd.end_pause`)."""
        return self.acd.end_pause(agent, reason, now)

    # --- internals ----------------------------------------------------------------

    def _end(self, call: Call, cause: EndCause, now: float) -> None:
        call.state = ENDED
        del self.calls[call.id]
        if call.callback is not None:  # its inbound channel went with the caller's leg
            self.acd.callbacks.ended(call, now)
            self.acd.callbacks.release_trunk(call.callback)
        elif call.seized:
            self.trunks.release(call.trunk_group)
        if isinstance(call.ivr, CallbackConfirm):
            call.ivr.stop()
        self.log.append(new(CallEnded, (now, call.id, cause)))


def _survey_of(site: Site, queue: str) -> Survey | None:
    """The post-call survey of `queue`: None for none, for a call rung straight to its agent
    (no queue) and for a queue a reload took away."""
    found = next((q for q in site.queues if q.name == queue), None) if queue else None
    return None if found is None else found.survey


def _check_ivr_clock(site: Site, wallclock: WallClock | None) -> None:
    if site.ivr is not None and wallclock is None:
        raise ValueError("the site has IVR flows: call control needs a wall clock for their "
                         "DATE and TIME")


def _a_second_each(names: Sequence[str], language: str) -> float:
    return float(len(names))
