"""The one per-call reduction of the event log: detail records, KPIs and the console read it.

``EventReducer`` is fed the log's records in time order and keeps a small object per call
that is still up (``CallState``) and per agent (``AgentStatus``). It alone decides each
call's queue visits, wait, talk, hold, wrap-up, transfers, way through the IVR
(``CallState.ivr``, an ``appliance.ivrpath.IvrPath``) and outcome, and tells a
``ReductionListener`` each fact as soon as it is known; the listener only adds figures up
(``appliance.kpi.compute``) or writes them down (``appliance.records.cdr``). Two reports
built this way cannot disagree about a call, which is how Asterisk's reports came to
disagree with its queue_log. No clock is read: every time is a record's ``t``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallbackCarried,
    CallbackOffered,
    CallbackPlaced,
    CallbackRequested,
    CallBlocked,
    CallEnded,
    CallForcedOff,
    CallHeld,
    CallOffered,
    CallOverflowed,
    CallParked,
    CallPickedUp,
    CallQueued,
    CallResumed,
    CallTransferred,
    EndCause,
    IvrDigits,
    IvrExited,
    IvrExitKind,
    IvrFlowEntered,
    IvrLookedUp,
    IvrNodeEntered,
    IvrVariableSet,
    Record,
    RingNoAnswer,
    StickyOffered,
    SupervisionChanged,
    SupervisionStarted,
    SurveyScored,
)
from appliance.ivrpath import IvrPath
from appliance.pbx.acd.core import (
    DIRECT_PREFIX,
    EXTENSION_PREFIX,
    OUTSIDE_PREFIX,
    RING_GROUP_PREFIX,
    ROOM_PREFIX,
)

LOGGED_OUT = AgentState.LOGGED_OUT
TALKING = AgentState.TALKING
HELD = AgentState.HELD
WRAP_UP = AgentState.WRAP_UP
RINGING = AgentState.RINGING
READY = AgentState.READY


class Outcome(StrEnum):
    """How a call turned out: exactly one for every call offered."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"  # unanswered, ended by the caller's side
    BLOCKED = "blocked"
    NO_ROUTE = "no_route"
    BLACKLISTED = "blacklisted"  # sent away by routing: the caller is on the blacklist
    CLOSED = "closed"  # sent away by routing: after hours or a holiday
    AGENT_UNREACHABLE = "agent_unreachable"  # routed to one agent who could not be rung
    VOICEMAIL = "voicemail"
    BUSY = "busy"
    IVR_COMPLETED = "ivr_completed"  # served by the IVR itself
    IVR_HANG_UP = "ivr_hang_up"  # the IVR's flow hung up on the caller
    IVR_ABANDONED = "ivr_abandoned"  # the caller hung up in the IVR
    IN_SYSTEM = "in_system"  # still up at the last record, or cut off by a stop of the box
    CALLBACK_GIVEN_UP = "callback_given_up"  # its caller asked for a callback; none got through


class TransferKind(StrEnum):
    """How an agent handed a call on (``CallTransferred``; the records that follow tell an
    agent's blind transfer, rung, from an attended one, taken at once)."""

    QUEUE = "queue"  # blind, to a queue
    AGENT = "agent"  # blind, to one agent, who is rung
    ATTENDED = "attended"  # to an agent consulted first, who takes it at once
    CONFERENCE = "conference"  # blind, into a conference room: the call leaves the queues
    EXTENSION = "extension"  # blind, to a phone that is no agent's (or a ring group's number)
    OUTSIDE = "outside"  # blind, to an outside number through a trunk: it leaves the queues


# Where a blind transfer to an agent stands, until the records show how it went.
_TO_AGENT = "to_agent"  # handed to an agent: rung (blind) or answered at once (attended)
_RINGING = "ringing"  # the target's phone rings
_MISSED = "missed"  # the target did not answer: the call goes back (a recall) or ends


class VisitEnd(StrEnum):
    """How a call's stay in one queue ended."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"  # by rule, or on to another queue; ``Visit.target`` says where
    IN_SYSTEM = "in_system"  # still waiting at the last record, or cut off by a stop
    CALLBACK_GIVEN_UP = "callback_given_up"  # waited as a callback; no attempt got through


_UNANSWERED = {
    EndCause.BLOCKED: Outcome.BLOCKED,
    EndCause.NO_ROUTE: Outcome.NO_ROUTE,
    EndCause.VOICEMAIL: Outcome.VOICEMAIL,
    EndCause.BUSY: Outcome.BUSY,
    EndCause.INTERRUPTED: Outcome.IN_SYSTEM,
    EndCause.CARRIED_OVER: Outcome.IN_SYSTEM,  # it goes on in the next run
    EndCause.IVR_COMPLETED: Outcome.IVR_COMPLETED,
    EndCause.IVR_HANG_UP: Outcome.IVR_HANG_UP,
    EndCause.IVR_ABANDONED: Outcome.IVR_ABANDONED,
    # Sent away by routing before any queue (or by an IVR's exit to one agent who cannot be
    # rung): each its own outcome, neither trunk blocking nor an abandon nor "no route",
    # so that a report tells a closed center from a missing route.
    EndCause.BLACKLISTED: Outcome.BLACKLISTED,
    EndCause.CLOSED: Outcome.CLOSED,
    EndCause.AGENT_UNREACHABLE: Outcome.AGENT_UNREACHABLE,
    # Not an abandon: the caller was promised a call and hung up as asked.
    EndCause.CALLBACK_GIVEN_UP: Outcome.CALLBACK_GIVEN_UP,
    # Unanswered by an agent, a call goes into a room only by an IVR exit: the IVR served it.
    EndCause.CONFERENCE: Outcome.IVR_COMPLETED,
    # Answered by a ring group's phone, outside the queues: served by the box itself, too.
    EndCause.RING_GROUP: Outcome.IVR_COMPLETED,
}


# An IVR exit that decides the call's outcome before its ``CallEnded``.
_IVR_EXITS = {
    IvrExitKind.COMPLETED: Outcome.IVR_COMPLETED,
    IvrExitKind.HANG_UP: Outcome.IVR_HANG_UP,
    IvrExitKind.ABANDONED: Outcome.IVR_ABANDONED,
}


# Tested by identity where every call passes: an enum's hash is a Python-level call.
IVR_COMPLETED = EndCause.IVR_COMPLETED
IVR_HANG_UP = EndCause.IVR_HANG_UP
IVR_ABANDONED = EndCause.IVR_ABANDONED


class Visit:
    """A call's stay in one queue, from ``CallQueued`` until it leaves."""

    __slots__ = ("entered", "queue", "rung", "tag", "target")

    def __init__(self, queue: str, entered: float) -> None:
        self.queue = queue
        self.entered = entered
        self.rung: float | None = None  # when an agent was first rung for it here
        self.target = ""  # where it overflowed to
        self.tag: Any = None  # the listener's own figures for this visit

    @property
    def waited(self) -> bool:
        """Whether the caller had to wait: no agent was rung the instant the call arrived."""
        return self.rung is None or self.rung > self.entered


class Handling:
    """One agent's answer of a call: talk from the answer, then the agent's wrap-up."""

    __slots__ = ("agent", "answered", "call", "held", "talking", "visit", "wrap_from")

    def __init__(self, call: CallState, agent: str, answered: float, visit: Visit) -> None:
        self.call = call
        self.agent = agent
        self.answered = answered
        self.visit = visit  # the queue visit the agent answered it from
        self.talking = True
        self.held = False
        self.wrap_from: float | None = None


class CallState:
    """What the event log has said about one call so far."""

    __slots__ = (
        "abandon_queue",
        "agent",
        "answered_at",
        "blocked",
        "callback",
        "callback_attempts",
        "callback_offered",
        "callback_queue",
        "carried_wait",
        "cause",
        "ended_at",
        "first_queue",
        "first_rung",
        "forced_off_by",
        "handling",
        "held",
        "hold",
        "hold_from",
        "ivr",
        "last_queue",
        "offered",
        "outcome",
        "overflow",
        "overflows",
        "parks",
        "pending_transfer",
        "pickup",
        "queued_at",
        "recalls",
        "ring_no_answers",
        "rings",
        "sticky_agent",
        "supervision_modes",
        "supervisor",
        "survey",
        "tag",
        "talk",
        "transfer_kinds",
        "transfers",
        "visit",
        "wait",
        "wrap_up",
    )

    def __init__(self, offered: CallOffered) -> None:
        self.offered = offered
        self.first_queue: str | None = None
        self.last_queue: str | None = None
        self.queued_at: float | None = None  # first entry into any queue
        self.first_rung: float | None = None
        self.visit: Visit | None = None
        self.handling: Handling | None = None
        self.answered_at: float | None = None
        self.agent: str | None = None  # who answered last
        self.wait: float | None = None  # to the first answer, or to the abandon
        self.talk = 0.0
        self.hold = 0.0
        self.hold_from: float | None = None
        self.held = False
        # The agents' after-call work on it; it mostly ends after the call has closed.
        self.wrap_up = 0.0
        self.rings = 0
        self.sticky_agent: str | None = None  # offered first to them (sticky agent)
        self.ring_no_answers = 0
        self.transfers = 0
        self.parks = 0
        self.overflows = 0
        self.overflow = ""  # target of the last overflow
        self.abandon_queue: str | None = None  # the queue it was abandoned in
        self.blocked = False
        self.ended_at: float | None = None
        self.cause: EndCause | None = None
        self.outcome = Outcome.IN_SYSTEM
        self.tag: Any = None  # the listener's own figures for this call
        self.ivr: IvrPath | None = None  # its way through the IVR, if it entered a flow
        self.survey: str | None = None  # the caller's score in a post-call survey
        self.callback: str | None = None  # the number its caller asked to be called back at
        self.callback_attempts = 0  # calls placed to that number
        self.callback_offered = False  # the queue offered its caller a callback
        self.callback_queue: str | None = None  # the queue it asked for it in
        # A callback carried over from an earlier run: the seconds it had waited there.
        self.carried_wait = 0.0
        # Its transfers by kind, in the order they became known, and the calls given back
        # to the transferring agent (or their queue) when an agent's blind transfer was
        # not taken; ``pending_transfer``: (where it stands, the transferring answer's visit).
        self.transfer_kinds: list[TransferKind] = []
        self.recalls = 0
        self.pending_transfer: tuple[str, Visit | None] | None = None
        self.pickup: tuple[str, bool] | None = None  # (who picked it up, directed)
        self.supervisor: str | None = None  # the last supervisor on the call
        self.supervision_modes: list[str] = []  # each mode a supervisor used, once, in order
        self.forced_off_by: str | None = None  # the supervisor who ended it

    @property
    def waited(self) -> bool:
        """Whether it entered a queue and no agent was rung the instant it first did."""
        first = self.queued_at
        return first is not None and (self.first_rung is None or self.first_rung > first)

    def wait_until(self, t: float) -> float:
        """The wait as it reads at ``t``: fixed once answered or abandoned, else running
        from the first queue (0 for a call never queued)."""
        if self.wait is not None:
            return self.wait
        return 0.0 if self.queued_at is None else t - self.queued_at

    def talk_until(self, t: float) -> float:
        """Talk so far, counting the current answer's talk up to ``t``."""
        handling = self.handling
        if handling is None or not handling.talking:
            return self.talk
        return self.talk + t - handling.answered

    def hold_until(self, t: float) -> float:
        """Hold so far, counting an open hold up to ``t``."""
        return self.hold if self.hold_from is None else self.hold + t - self.hold_from


# A blind transfer's kind by its target's prefix (`CallTransferred.target`); none: a queue.
# A ring group's phones are no agents': a transfer to one counts as to an extension, once,
# whether a member, its `then` or (by a queue or mailbox) call control takes it after.
_BLIND_KINDS = ((ROOM_PREFIX, TransferKind.CONFERENCE), (EXTENSION_PREFIX, TransferKind.EXTENSION),
                (RING_GROUP_PREFIX, TransferKind.EXTENSION), (OUTSIDE_PREFIX, TransferKind.OUTSIDE))


def _blind_kind(target: str) -> TransferKind:
    return next((kind for prefix, kind in _BLIND_KINDS if target.startswith(prefix)),
                TransferKind.QUEUE)


def outcome_of(call: CallState, cause: EndCause | None) -> Outcome:
    """The call's outcome if it ended now with ``cause`` (None: it is still up)."""
    if call.answered_at is not None:
        return Outcome.ANSWERED
    if cause is None:
        return _outcome_so_far(call)
    return _UNANSWERED.get(cause, Outcome.ABANDONED)


def _outcome_so_far(call: CallState) -> Outcome:
    """How a call the records leave up will end, where that is already decided."""
    if call.abandon_queue is not None:
        return Outcome.ABANDONED
    if call.visit is None and call.overflow == "voicemail":
        return Outcome.VOICEMAIL
    if call.visit is None and call.overflow == "busy":
        return Outcome.BUSY
    if call.ivr is not None and call.ivr.exit in _IVR_EXITS:
        return _IVR_EXITS[call.ivr.exit]
    return Outcome.BLOCKED if call.blocked else Outcome.IN_SYSTEM


class AgentStatus:
    """An agent's current state and since when."""

    __slots__ = ("name", "reason", "since", "state", "tag")

    def __init__(self, name: str, since: float) -> None:
        self.name = name
        self.state = LOGGED_OUT
        self.reason = ""
        self.since = since
        self.tag: Any = None  # the listener's own figures for this agent


class ReductionListener:
    """Told every fact of the reduction as it becomes known; each method does nothing here.

    Times are on the records' clock. A call the listener did not admit has no facts.
    """

    def call_opened(self, call: CallState) -> bool:
        """A call was offered; return False to leave it (and all its records) out."""
        return True

    def visit_opened(self, call: CallState, visit: Visit, first: bool) -> None:
        """The call entered a queue; ``first``: the first queue it entered."""

    def visit_closed(self, call: CallState, visit: Visit, end: VisitEnd, t: float) -> None:
        """The call left a queue at ``t`` (for ``IN_SYSTEM``: the records ended first)."""

    def call_answered(self, call: CallState, handling: Handling, first: bool) -> None:
        """An agent answered; ``first``: the call's first answer (``call.wait`` is set)."""

    def hold_began(self, call: CallState, first_for_call: bool, first_for_answer: bool) -> None:
        """The call was put on hold (only told when it is a first for the call or the answer)."""

    def hold_ended(self, call: CallState, seconds: float) -> None:
        """A hold ended (``call.handling`` is the answer it happened in, if still talking)."""

    def call_transferred(self, call: CallState, handling: Handling | None, first: bool) -> None:
        """The agent of ``handling`` transferred the call; ``first``: its first transfer."""

    def transfer_known(self, call: CallState, visit: Visit | None, kind: TransferKind,
                       first: bool) -> None:
        """A transfer's kind became known (``visit``: the one the transferring agent answered
        it from); ``first``: the call's first transfer of that kind."""

    def transfer_recalled(self, call: CallState, visit: Visit | None) -> None:
        """The agent a call was blind-transferred to did not take it: it went back to the
        transferring agent or to their queue (``visit``: the transferring answer's)."""

    def picked_up(self, call: CallState, r: CallPickedUp) -> None:
        """An agent took the call from the phones it rang (``call.pickup`` is set)."""

    def callback_offered(self, call: CallState) -> None:
        """The queue offered the waiting caller a callback (once a call)."""

    def talk_ended(self, handling: Handling, seconds: float) -> None:
        """An answer's talk ended: transfer, hang-up or the agent leaving talk."""

    def wrap_up_ended(self, handling: Handling, seconds: float) -> None:
        """The agent finished the answer's wrap-up (0 seconds: went straight on)."""

    def callback_requested(self, call: CallState) -> None:
        """The caller asked to be called back (``call.callback``); the call waits on."""

    def survey_scored(self, call: CallState, r: SurveyScored) -> None:
        """The caller scored the agent in the post-call survey (``call.survey`` is set)."""

    def call_closed(self, call: CallState) -> None:
        """The call ended (``ended_at`` set) or the records ended with it up (None);
        ``outcome``, ``wait``, ``talk`` and ``hold`` are final."""

    def agent_opened(self, agent: AgentStatus) -> None:
        """An agent appeared in the records."""

    def agent_span(self, agent: AgentStatus, t: float) -> None:
        """The agent is leaving ``agent.state``, held since ``agent.since``, at ``t``."""

    def agent_answered(self, agent: AgentStatus, t: float) -> None:
        """The agent answered a call (any call, admitted or not)."""

    def agent_missed(self, agent: AgentStatus, t: float) -> None:
        """The agent was rung and did not answer."""


def _hook(listener: ReductionListener, name: str) -> Callable[..., Any] | None:
    """``listener``'s method ``name``, or None if its class keeps ReductionListener's."""
    if getattr(type(listener), name) is getattr(ReductionListener, name):
        return None
    return getattr(listener, name)


class EventReducer:
    """Feeds records to the per-call reduction; tells ``listener`` what follows from them.

    Record types the reduction does not use are skipped; records of calls whose offer
    was not fed (or not admitted) are ignored.
    """

    def __init__(self, listener: ReductionListener) -> None:
        self.listener = listener
        self.calls: dict[int, CallState] = {}
        self.agents: dict[str, AgentStatus] = {}
        self.handlings: dict[str, Handling] = {}  # each agent's last answer, until wrapped up
        self.queues: set[str] = set()  # every queue the records name
        self.last_t: float | None = None
        # The listener's hooks, bound once (they run for most records of a long run); None
        # where it keeps ReductionListener's, which does nothing: that call is skipped.
        self._call_opened = _hook(listener, "call_opened")
        self._visit_opened = _hook(listener, "visit_opened")
        self._visit_closed = _hook(listener, "visit_closed")
        self._call_answered = _hook(listener, "call_answered")
        self._hold_began = _hook(listener, "hold_began")
        self._hold_ended = _hook(listener, "hold_ended")
        self._call_transferred = _hook(listener, "call_transferred")
        self._talk_ended = _hook(listener, "talk_ended")
        self._wrap_up_ended = _hook(listener, "wrap_up_ended")
        self._call_closed = _hook(listener, "call_closed")
        self._survey_scored = _hook(listener, "survey_scored")
        self._callback_requested = _hook(listener, "callback_requested")
        self._callback_offered = _hook(listener, "callback_offered")
        self._transfer_known = _hook(listener, "transfer_known")
        self._transfer_recalled = _hook(listener, "transfer_recalled")
        self._picked_up = _hook(listener, "picked_up")
        self._agent_opened = _hook(listener, "agent_opened")
        self._agent_span = _hook(listener, "agent_span")
        self._agent_answered = _hook(listener, "agent_answered")
        self._agent_missed = _hook(listener, "agent_missed")
        self.handlers: dict[type, Callable[[Any], None]] = {
            CallOffered: self.offered,
            CallBlocked: self.blocked,
            CallQueued: self.queued,
            AgentRung: self.rung,
            RingNoAnswer: self.ring_no_answer,
            StickyOffered: self.sticky_offered,
            CallAnswered: self.answered,
            CallAbandoned: self.abandoned,
            CallOverflowed: self.overflowed,
            CallHeld: self.held,
            CallResumed: self.resumed,
            CallTransferred: self.transferred,
            CallParked: self.parked,
            CallEnded: self.ended,
            AgentStateChanged: self.agent_state,
            IvrFlowEntered: self.flow_entered,
            IvrNodeEntered: self.node_entered,
            IvrDigits: self.ivr_digits,
            IvrVariableSet: self.variable_set,
            IvrLookedUp: self.looked_up,
            IvrExited: self.ivr_exited,
            SurveyScored: self.survey_scored,
            CallbackRequested: self.callback_requested,
            CallbackCarried: self.callback_carried,
            CallbackPlaced: self.callback_placed,
            CallbackOffered: self.callback_was_offered,
            CallPickedUp: self.picked_up,
            SupervisionStarted: self.supervision_started,
            SupervisionChanged: self.supervision_changed,
            CallForcedOff: self.forced_off,
        }

    def feed(self, record: Record) -> None:
        handler = self.handlers.get(type(record))
        if handler is not None:
            handler(record)
        self.last_t = record.t

    def feed_all(self, records: Iterable[Record]) -> float | None:
        """Feed every record; the ``t`` of the last one (None for none)."""
        handlers = self.handlers
        record = None
        for record in records:
            handler = handlers.get(type(record))
            if handler is not None:
                handler(record)
        if record is not None:
            self.last_t = record.t
        return self.last_t

    def finish(self, last_t: float) -> None:
        """The records end at ``last_t``: close every call still up (holds count to
        ``last_t``; talk still going is left out, its end unknown)."""
        for call in self.calls.values():
            if call.hold_from is not None:
                self.end_hold(call, last_t)
            if call.visit is not None:
                self.leave(call, call.visit, VisitEnd.IN_SYSTEM, last_t)
            if call.ivr is not None:
                call.ivr.end(last_t)
            self.close(call, None, None)
        self.calls.clear()

    def close_agents(self, end: float) -> None:
        """Tell the listener every logged-in agent's current span, up to ``end``."""
        span = self._agent_span
        for agent in self.agents.values():
            if agent.state is not LOGGED_OUT and end > agent.since:
                if span is not None:
                    span(agent, end)
                agent.since = end

    # --- calls -----------------------------------------------------------------

    def offered(self, r: CallOffered) -> None:
        call = CallState(r)
        if self._call_opened is None or self._call_opened(call):
            self.calls[r.call] = call

    def blocked(self, r: CallBlocked) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            call.blocked = True

    def queued(self, r: CallQueued) -> None:
        self.queues.add(r.queue)
        call = self.calls.get(r.call)
        if call is None:
            return
        if call.pending_transfer is not None:
            self.follow_transfer(call, r.queue)
        if call.visit is not None:
            # Left its queue without a record saying how: it went on to this one.
            self.overflow_visit(call, call.visit, r.queue, r.t)
        self.enter(call, r.queue, r.t)

    def enter(self, call: CallState, queue: str, t: float) -> Visit:
        visit = call.visit = Visit(queue, t)
        first = call.queued_at is None
        if first:
            call.queued_at = t
            call.first_queue = queue
        call.last_queue = queue
        if self._visit_opened is not None:
            self._visit_opened(call, visit, first)
        return visit

    def visit_in(self, call: CallState, queue: str, t: float) -> Visit:
        """The call's stay in ``queue``; one starting now if the records skipped its entry."""
        visit = call.visit
        if visit is not None and visit.queue == queue:
            return visit
        if visit is not None:
            self.overflow_visit(call, visit, queue, t)
        self.queues.add(queue)
        return self.enter(call, queue, t)

    def leave(self, call: CallState, visit: Visit, end: VisitEnd, t: float) -> None:
        call.visit = None
        if self._visit_closed is not None:
            self._visit_closed(call, visit, end, t)

    def overflow_visit(self, call: CallState, visit: Visit, target: str, t: float) -> None:
        visit.target = call.overflow = target
        call.overflows += 1
        self.leave(call, visit, VisitEnd.OVERFLOWED, t)

    def abandon_visit(self, call: CallState, visit: Visit, t: float, call_wait: float) -> None:
        call.abandon_queue = visit.queue
        if call.wait is None:
            call.wait = call_wait
        self.leave(call, visit, VisitEnd.ABANDONED, t)

    def rung(self, r: AgentRung) -> None:
        if r.agent not in self.agents:
            self.agent(r.agent, 0.0)
        call = self.calls.get(r.call)
        if call is None:
            return
        if call.pending_transfer is not None:
            self.transfer_rung(call)
        call.rings += 1
        if call.first_rung is None:
            call.first_rung = r.t
        visit = call.visit
        if visit is not None and visit.rung is None:
            visit.rung = r.t

    def sticky_offered(self, r: StickyOffered) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            call.sticky_agent = r.agent

    def ring_no_answer(self, r: RingNoAnswer) -> None:
        agent = self.agent(r.agent, r.t)
        if self._agent_missed is not None:
            self._agent_missed(agent, r.t)
        call = self.calls.get(r.call)
        if call is not None:
            call.ring_no_answers += 1
            pending = call.pending_transfer
            if pending is not None and pending[0] == _RINGING:
                call.pending_transfer = (_MISSED, pending[1])

    def answered(self, r: CallAnswered) -> None:
        t = r.t
        agent = self.agents.get(r.agent)
        if agent is None:
            agent = self.agent(r.agent, t)
        if self._agent_answered is not None:
            self._agent_answered(agent, t)
        call = self.calls.get(r.call)
        if call is None:
            return
        visit = self.visit_in(call, r.queue, t)
        pending = call.pending_transfer
        if pending is not None:
            if pending[0] == _TO_AGENT and visit.rung is None:  # taken at once, no ring
                self.transfer_of_kind(call, pending[1], TransferKind.ATTENDED)
            call.pending_transfer = None
        if visit.rung is None:  # answered without a ring record: rung as it was answered
            visit.rung = t
        if call.first_rung is None:
            call.first_rung = t
        if call.handling is not None:  # answered again without the last answer ending
            self.end_talk(call.handling, t)
        first = call.answered_at is None
        if first:
            call.answered_at = t
            call.wait = r.wait
        call.agent = r.agent
        self.leave(call, visit, VisitEnd.ANSWERED, t)
        handling = call.handling = self.handlings[r.agent] = Handling(call, r.agent, t, visit)
        if self._call_answered is not None:
            self._call_answered(call, handling, first)

    def callback_requested(self, r: CallbackRequested) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            call.callback = r.number
            call.callback_queue = r.queue
            if self._callback_requested is not None:
                self._callback_requested(call)

    def callback_carried(self, r: CallbackCarried) -> None:
        """A callback from an earlier run: not requested again (that run counted it)."""
        call = self.calls.get(r.call)
        if call is not None:
            call.callback, call.callback_queue = r.number, r.queue
            call.callback_attempts = r.attempts
            call.carried_wait = r.waited

    def callback_placed(self, r: CallbackPlaced) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            call.callback_attempts = r.attempt

    def callback_was_offered(self, r: CallbackOffered) -> None:
        call = self.calls.get(r.call)
        if call is not None and not call.callback_offered:
            call.callback_offered = True
            if self._callback_offered is not None:
                self._callback_offered(call)

    def picked_up(self, r: CallPickedUp) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            call.pickup = (r.agent, r.directed)
            if self._picked_up is not None:
                self._picked_up(call, r)

    def supervision_started(self, r: SupervisionStarted) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            call.supervisor = r.supervisor
            self.supervision_mode(call, r.mode)

    def supervision_changed(self, r: SupervisionChanged) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            self.supervision_mode(call, r.mode)

    @staticmethod
    def supervision_mode(call: CallState, mode: str) -> None:
        if mode not in call.supervision_modes:
            call.supervision_modes.append(mode)

    def forced_off(self, r: CallForcedOff) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            call.forced_off_by = r.supervisor

    def abandoned(self, r: CallAbandoned) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            self.abandon_visit(call, self.visit_in(call, r.queue, r.t), r.t, r.wait)

    def overflowed(self, r: CallOverflowed) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            self.overflow_visit(call, self.visit_in(call, r.queue, r.t), r.target, r.t)

    def held(self, r: CallHeld) -> None:
        call = self.calls.get(r.call)
        if call is None:
            return
        if call.hold_from is None:
            call.hold_from = r.t
        first_for_call = not call.held
        call.held = True
        handling = call.handling
        first_for_answer = handling is not None and not handling.held
        if first_for_answer:
            handling.held = True  # type: ignore[union-attr]
        if (first_for_call or first_for_answer) and self._hold_began is not None:
            self._hold_began(call, first_for_call, first_for_answer)

    def resumed(self, r: CallResumed) -> None:
        call = self.calls.get(r.call)
        if call is not None and call.hold_from is not None:
            self.end_hold(call, r.t)

    def end_hold(self, call: CallState, t: float) -> None:
        """End the call's open hold (``hold_from`` is set: callers check, as most calls
        are never held)."""
        seconds = t - call.hold_from  # type: ignore[operator]
        call.hold_from = None
        call.hold += seconds
        if self._hold_ended is not None:
            self._hold_ended(call, seconds)

    def transferred(self, r: CallTransferred) -> None:
        call = self.calls.get(r.call)
        if call is None:
            return
        if call.hold_from is not None:
            self.end_hold(call, r.t)
        call.transfers += 1
        handling = call.handling
        if self._call_transferred is not None:
            self._call_transferred(call, handling, call.transfers == 1)
        visit = None if handling is None else handling.visit
        if r.target.startswith(DIRECT_PREFIX):
            call.pending_transfer = (_TO_AGENT, visit)
        else:
            call.pending_transfer = None
            self.transfer_of_kind(call, visit, _blind_kind(r.target))
        if handling is not None:
            self.end_talk(handling, r.t)

    def transfer_of_kind(self, call: CallState, visit: Visit | None,
                         kind: TransferKind) -> None:
        first = kind not in call.transfer_kinds
        call.transfer_kinds.append(kind)
        if self._transfer_known is not None:
            self._transfer_known(call, visit, kind, first)

    def transfer_rung(self, call: CallState) -> None:
        """A ring after a transfer to an agent: the target rung (blind), or after their
        miss the transferring agent rung back (a recall)."""
        stage, visit = call.pending_transfer  # type: ignore[misc]
        if stage == _TO_AGENT:
            call.pending_transfer = (_RINGING, visit)
            self.transfer_of_kind(call, visit, TransferKind.AGENT)
        elif stage == _MISSED:
            self.recalled(call, visit)

    def follow_transfer(self, call: CallState, queue: str) -> None:
        """The call enters ``queue`` while a transfer to an agent is pending: the target's
        own line (rung next), or after their miss another line (a recall)."""
        stage, visit = call.pending_transfer  # type: ignore[misc]
        if stage == _MISSED:
            self.recalled(call, visit)
        elif not queue.startswith(DIRECT_PREFIX):
            call.pending_transfer = None

    def recalled(self, call: CallState, visit: Visit | None) -> None:
        call.pending_transfer = None
        call.recalls += 1
        if self._transfer_recalled is not None:
            self._transfer_recalled(call, visit)

    def parked(self, r: CallParked) -> None:
        """The agent parked the call: their talk (and any hold) ends there, as at a transfer,
        but it is no transfer; the next answer (a pickup, the parker rung back, a queue's
        agent) starts a new talk."""
        call = self.calls.get(r.call)
        if call is None:
            return
        call.parks += 1
        if call.hold_from is not None:
            self.end_hold(call, r.t)
        if call.handling is not None:
            self.end_talk(call.handling, r.t)

    def end_talk(self, handling: Handling, t: float) -> None:
        if not handling.talking:
            return
        handling.talking = False
        seconds = t - handling.answered
        call = handling.call
        call.talk += seconds
        if self._talk_ended is not None:
            self._talk_ended(handling, seconds)
        if call.handling is handling:
            if call.hold_from is not None:
                self.end_hold(call, t)
            call.handling = None

    def end_wrap_up(self, handling: Handling, seconds: float) -> None:
        handling.call.wrap_up += seconds
        if self._wrap_up_ended is not None:
            self._wrap_up_ended(handling, seconds)
        del self.handlings[handling.agent]

    def ended(self, r: CallEnded) -> None:
        call = self.calls.pop(r.call, None)
        if call is None:
            return
        t, cause = r.t, r.cause
        if call.hold_from is not None:
            self.end_hold(call, t)
        if call.handling is not None:
            self.end_talk(call.handling, t)
        path = call.ivr
        if path is None and (cause is IVR_COMPLETED or cause is IVR_HANG_UP
                             or cause is IVR_ABANDONED):  # the records skipped the IVR's
            path = call.ivr = IvrPath(t)
        if path is not None:
            path.end(t)
        visit = call.visit
        if visit is not None:
            # Ended while waiting with no record saying how: trust the cause. (A named agent
            # who did not take the call rung on them alone: it left their target by rule.)
            if (cause is EndCause.VOICEMAIL or cause is EndCause.BUSY
                    or cause is EndCause.AGENT_UNREACHABLE):
                self.overflow_visit(call, visit, cause.value, t)
            elif cause is EndCause.INTERRUPTED or cause is EndCause.CARRIED_OVER:
                self.leave(call, visit, VisitEnd.IN_SYSTEM, t)
            elif cause is EndCause.CALLBACK_GIVEN_UP:
                self.leave(call, visit, VisitEnd.CALLBACK_GIVEN_UP, t)
            else:
                self.abandon_visit(call, visit, t, call.wait_until(t))
        self.close(call, t, cause)

    def close(self, call: CallState, t: float | None, cause: EndCause | None) -> None:
        call.ended_at = t
        call.cause = cause
        call.outcome = outcome_of(call, cause)
        if t is not None and call.wait is None:
            call.wait = call.wait_until(t)
        if self._call_closed is not None:
            self._call_closed(call)

    # --- the IVR -------------------------------------------------------------------

    def flow_entered(self, r: IvrFlowEntered) -> None:
        call = self.calls.get(r.call)
        if call is not None and call.answered_at is None:
            if call.ivr is None:
                call.ivr = IvrPath(r.t)
            call.ivr.close_node(r.t)
            call.ivr.flows.append(r.flow)

    def ivr_path(self, call_id: int, t: float) -> IvrPath | None:
        """The IVR path of a call being reduced; one starting at ``t`` if the records skipped
        its ``IvrFlowEntered``. None too after an answer: a post-call survey's records are
        its own (``SurveyScored``), not the IVR's figures."""
        call = self.calls.get(call_id)
        if call is None or call.answered_at is not None:
            return None
        if call.ivr is None:
            call.ivr = IvrPath(t)
        return call.ivr

    def node_entered(self, r: IvrNodeEntered) -> None:
        path = self.ivr_path(r.call, r.t)
        if path is not None:
            if not path.flows or path.flows[-1] != r.flow:  # its IvrFlowEntered skipped
                path.flows.append(r.flow)
            path.enter_node(r.flow, r.node, r.kind, r.t)

    def ivr_digits(self, r: IvrDigits) -> None:
        path = self.ivr_path(r.call, r.t)
        if path is not None:
            path.digits.append((r.node, r.digits, r.ended_by))

    def variable_set(self, r: IvrVariableSet) -> None:
        path = self.ivr_path(r.call, r.t)
        if path is not None:
            path.variables[r.name] = r.value

    def looked_up(self, r: IvrLookedUp) -> None:
        path = self.ivr_path(r.call, r.t)
        if path is not None:
            path.lookups.append((r.lookup, r.key, r.result))

    def ivr_exited(self, r: IvrExited) -> None:
        path = self.ivr_path(r.call, r.t)
        if path is not None:
            path.exited(r)

    def survey_scored(self, r: SurveyScored) -> None:
        call = self.calls.get(r.call)
        if call is not None:
            call.survey = r.score
            if self._survey_scored is not None:
                self._survey_scored(call, r)

    # --- agents ----------------------------------------------------------------

    def agent(self, name: str, t: float) -> AgentStatus:
        agent = self.agents.get(name)
        if agent is None:
            agent = self.agents[name] = AgentStatus(name, t)
            if self._agent_opened is not None:
                self._agent_opened(agent)
        return agent

    def agent_state(self, r: AgentStateChanged) -> None:
        t = r.t
        agent = self.agents.get(r.agent)
        if agent is None:
            agent = self.agent(r.agent, t)
        before = agent.state
        if before is not LOGGED_OUT and t > agent.since and self._agent_span is not None:
            self._agent_span(agent, t)
        agent.state = state = r.state
        agent.reason = r.reason
        agent.since = t
        if state is TALKING or state is HELD:
            return
        # Ringing or going ready after a ring has no answer to close; everything
        # else may end the talk or the wrap-up of the agent's last answer.
        if state is RINGING or (state is READY and before is RINGING):
            return
        handling = self.handlings.get(r.agent)
        if handling is not None:
            self.follow(handling, before, state, t)

    def follow(self, handling: Handling, before: AgentState, state: AgentState, t: float) -> None:
        """The agent left talk: the talk ends, then the wrap-up (none if not in WRAP_UP)."""
        if before is TALKING or before is HELD:
            self.end_talk(handling, t)
            if state is WRAP_UP:
                handling.wrap_from = t
            else:
                self.end_wrap_up(handling, 0.0)
        elif state is WRAP_UP:
            return  # still wrapping up
        elif before is WRAP_UP and handling.wrap_from is not None:
            self.end_wrap_up(handling, t - handling.wrap_from)
        else:
            # The agent moved on without the records closing this answer.
            del self.handlings[handling.agent]
