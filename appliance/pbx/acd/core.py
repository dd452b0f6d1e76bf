"""The ACD core: queues, agents, and the matching of waiting calls to free agents.

Sans-I/O: every input carries ``now``; records go to the event log, actions to
the shared outbox, timers to the shared ``Deadlines``. Call control owns calls
and trunks and feeds the ACD the calls it routed to a queue.

Matching rules:
- A call entering a queue rings the free members the queue's strategy picks.
- An agent who becomes ready takes the best waiting call of the queues they
  serve: highest priority first, then the longest wait (FIFO within a priority).
- A call an agent did not take (ring-no-answer, busy, declined, unreachable)
  goes back to the head of its queue. The queue's ``autopause`` says whether
  that agent is paused (with the failure as the reason, and an automatic
  return to ready after ``autopause_ready_after`` if set); an agent not paused
  is not offered that call again for the queue's ``retry`` seconds, so the call
  goes to the others first.

Sticky agent (a queue's ``sticky``): a call's first queue offers it first to the agent
who last answered its caller's number (`StickyMemory`), if they serve the queue. Ready:
they alone are rung; a ring not taken sends the call to the others as above. Logged in
but busy or paused: the call waits for them alone, out of the line, for up to
``sticky.wait`` seconds (they take it when free, before any other call), then joins the
line at the place its wait gives it. An overflow or a transfer does not offer it again.

A call routed to one named agent (`ring_direct`) rings that agent alone, outside any
queue, and only if they are ready: it goes by the queue name ``direct_target(agent)``
in the records, and a ring not taken ends it (``AGENT_UNREACHABLE``) instead of sending
it back to a line - unless an agent transferred it there (`transfer_to_agent`): then it
rings that agent back, and then goes back to the queue it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from random import Random
from typing import TYPE_CHECKING

from appliance.clock import Deadlines, TimerHandle
from appliance.config.schema import Queue
from appliance.eventlog import EventLog
from appliance.events import (
    AgentRung,
    AgentStateChanged,
    CallAbandoned,
    CallAnnounced,
    CallAnswered,
    CallHeld,
    CallOverflowed,
    CallQueued,
    CallResumed,
    CallTransferred,
    EndCause,
    OverflowCause,
    RingNoAnswer,
    StickyOffered,
    new,
)
from appliance.pbx.acd.agent import (
    HELD,
    LOGGED_OUT,
    NOT_READY,
    READY,
    RINGING,
    TALKING,
    WRAP_UP,
    Agent,
    PendingRequest,
)
from appliance.pbx.acd.callback import Callbacks, pending
from appliance.pbx.acd.queue import Membership, QueueRuntime
from appliance.pbx.acd.sticky import HOUR, StickyMemory
from appliance.pbx.actions import (
    Action,
    Announce,
    Connect,
    HangUpAgent,
    HangUpCaller,
    RingAgent,
    StopRinging,
    WrapUp,
)
from appliance.pbx.call import Call, CallState

if TYPE_CHECKING:
    from appliance.config import Overflow, Site
    from appliance.pbx.trunks import TrunkGroups

QUEUED = CallState.QUEUED
# Calls in the order they are served: their (-priority, start of wait, sequence) key.
_SERVICE_ORDER = attrgetter("key")

# Why an agent did not take a call rung on them; also the reason code of the pause
# (or of the return to ready) the ACD logs for it.
REASON_NO_ANSWER = "no_answer"  # the queue's ring timeout ran out
REASON_UNAVAILABLE = "unavailable"  # the phone said so itself (408, 480: no answer, DND)
REASON_UNREACHABLE = "unreachable"  # no phone registered, no response, an unusable answer
REASON_BUSY = "busy"  # busy on another line (486, 600)
REASON_DECLINED = "declined"  # the agent rejected the ring (603)
# The failures `autopause: on_no_answer` pauses for; `on_any_failure` pauses for all.
NO_ANSWER_REASONS = frozenset({REASON_NO_ANSWER, REASON_UNAVAILABLE, REASON_UNREACHABLE})
# The reason logged with READY when an automatic pause ends by itself.
REASON_AUTOPAUSE_OVER = "autopause_over"
# The reason logged with READY when a transferred call's target did not take it and the
# transferring agent's wrap-up is cut short to ring them back.
REASON_RECALL = "recall"
# Where an agent may be to take a call over by an attended transfer (`take_over`).
_CAN_TAKE_OVER = frozenset({READY, NOT_READY, WRAP_UP})


# The queue name of the calls rung on one named agent outside any queue: never a queue's,
# as a queue's name has no ':'.
DIRECT_PREFIX = "agent:"
# A direct call to an agent who serves no queue rings and wraps up as a queue's defaults say.
_PLAIN_QUEUE = Queue(name="direct")


# The target a transfer into a conference room gives the records (`CallTransferred.target`).
ROOM_PREFIX = "conference:"
# The targets a blind transfer out of the ACD to a phone or an outside number gives the records.
EXTENSION_PREFIX = "extension:"
OUTSIDE_PREFIX = "outside:"
# The target a blind transfer to a ring group's number gives the records: counted as a
# transfer to an extension (the group's phones are no agents'), though the call stays.
RING_GROUP_PREFIX = "ring_group:"


def direct_target(agent_id: str) -> str:
    """The queue name the records give a call rung on ``agent_id`` by name (`ring_direct`)."""
    return DIRECT_PREFIX + agent_id


def sticky_keep(site: Site) -> float:
    """Seconds the sticky memory keeps an answer: the longest of the queues' `sticky`."""
    return max((q.sticky.remember_hours * HOUR for q in site.queues if q.sticky), default=0.0)


def pauses(policy: str, reason: str) -> bool:
    """Whether a queue with ``autopause`` ``policy`` pauses an agent who failed with ``reason``."""
    if policy == "on_any_failure":
        return True
    return policy == "on_no_answer" and reason in NO_ANSWER_REASONS

EndCall = Callable[[Call, EndCause, float], None]
AnnouncementSeconds = Callable[[int, float | None], float]
"""How long the announcement of (position, expected wait) takes to play, in seconds."""


class Acd:
    """Agent inputs (answer, ready, log out ...) return False, changing nothing, when they do
    not apply: the agent is not in that state, or is not (or no longer) an agent of the site."""

    def __init__(
        self,
        site: Site,
        calls: dict[int, Call],
        log: EventLog,
        outbox: list[Action],
        deadlines: Deadlines,
        end_call: EndCall,
        rng: Random,
        announcement_seconds: AnnouncementSeconds | None = None,
        trunks: TrunkGroups | None = None,
    ) -> None:
        self._calls = calls
        # None: every announcement lasts the queue's configured `duration`.
        self.announcement_seconds = announcement_seconds
        self._log = log
        self._outbox = outbox
        self._deadlines = deadlines
        self._end_call = end_call
        # Set by call control: takes a call overflowing to voicemail into the mailbox named (""
        # for the queue's own); False if there is no such box, and the call ends instead.
        self.to_voicemail: Callable[[Call, str, float], bool] = lambda call, box, now: False
        self._rng = rng
        self._seq = 0
        # call id -> {agent id: the timer ending that agent's refusal of the call}
        self._refusals: dict[int, dict[str, TimerHandle]] = {}
        # Kept across reloads: who served each caller number last.
        self.sticky = StickyMemory(sticky_keep(site))
        # agent id -> the calls waiting for that agent alone (sticky agent)
        self._held_for: dict[str, list[Call]] = {}
        self.queues: dict[str, QueueRuntime] = {q.name: QueueRuntime(q) for q in site.queues}
        self.agents: dict[str, Agent] = {a.id: Agent(a.id) for a in site.expanded_agents()}
        # Each named agent's own target (`ring_direct`), by its queue name: in no agent's
        # memberships, so no queue ever offers its calls or its agent.
        self._direct: dict[str, QueueRuntime] = {}
        # Gone from the configuration, kept while calls still use them (see `reload`).
        self._retired_queues: set[str] = set()
        self._retired_agents: set[str] = set()
        # Asked first when a named agent does not take a call rung on them alone: True if it
        # found the call somewhere else to go (a parked call rung back: `CallControl`).
        self.direct_not_taken: Callable[[Call, float], bool] | None = None
        self._build_memberships(site)
        # Calls whose callers asked to be called back (`appliance.pbx.acd.callback`); the
        # calls out take channels of `trunks` (none counted without).
        self.callbacks = Callbacks(self, trunks)

    # --- configuration -----------------------------------------------------------

    def reload(self, site: Site, now: float) -> None:
        """Apply a new configuration to what happens from now on; calls keep going.

        Queues are changed in place: their new settings rule every ring, pause, wrap-up
        and overflow decided from now on, while timers already running (a waiting call's
        max-wait, an agent's wrap-up) keep their time. A queue gone from the file takes no
        new call but serves the calls in it with the members it had. Agents added may log
        in; agents removed are logged out, at once if idle or paused, else after their call.
        Skills take effect at once: an agent serves the queues their new skills say.
        """
        configs = {q.name: q for q in site.queues}
        for name, config in configs.items():
            queue = self.queues.get(name)
            if queue is None:
                self.queues[name] = QueueRuntime(config)
            elif queue.reconfigure(config):
                self._strategy_kind_changed(queue)
        self._retired_queues = set(self.queues) - set(configs)
        self.sticky.keep = sticky_keep(site)
        self.sticky.forget_old(now)
        wanted = {a.id for a in site.expanded_agents()}
        for agent_id in wanted - set(self.agents):
            self.agents[agent_id] = Agent(agent_id)
        self._retired_agents = set(self.agents) - wanted
        # Idle ones first: a ringing one's call goes back to its queue and must not be
        # offered to another agent who is leaving too.
        for agent_id in sorted(self._retired_agents,
                               key=lambda a: (self.agents[a].state is RINGING, a)):
            self.logout(agent_id, now)  # with the memberships they had: see Agent.move
        self._drop_logged_out_retirees()
        self._build_memberships(site)
        # Agents who gained a skill may serve calls that were waiting.
        for agent in list(self.agents.values()):
            self._agent_available(agent, now)

    def _build_memberships(self, site: Site) -> None:
        """Members of each queue in file order, from the agents' skills; a retired queue keeps
        the members it had. The queues' ready lists follow the members' states."""
        specs = {a.id: a for a in site.expanded_agents()}
        for queue in self.queues.values():
            if queue.name in self._retired_queues:
                members = [m for m in queue.members if m.agent.id in self.agents]
            else:
                old = {m.agent.id: m for m in queue.members}
                members = []
                skill = queue.config.required_skill
                for spec in specs.values():
                    level = spec.level(skill)
                    if level > 0:
                        membership = old.get(spec.id) or Membership(
                            self.agents[spec.id], queue, 0, level)
                        membership.order, membership.level = len(members), level
                        members.append(membership)
            queue.members = members
            queue.ready = [m for m in members if m.agent.state is READY]
        for agent in self.agents.values():
            agent.memberships = []
        for queue in self.queues.values():
            for membership in queue.members:
                membership.agent.memberships.append(membership)

    def _strategy_kind_changed(self, queue: QueueRuntime) -> None:
        """The queue switched to or from ring-all. A ring-all call stays in line while it
        rings; another call leaves the line while rung. Calls ringing now follow the new
        kind; their rings go on (a call that rang several agents keeps ringing them, and
        returns to the line once none of them rings any more)."""
        for call in self._calls.values():
            if (call.state is QUEUED and call.queue == queue.name and call.ringing
                    and call.sticky is None):
                if queue.ring_all:
                    queue.push(call)
                else:
                    queue.remove(call)

    def _drop_logged_out_retirees(self) -> None:
        for agent_id in [a for a in self._retired_agents if self.agents[a].state is LOGGED_OUT]:
            self._retired_agents.discard(agent_id)
            agent = self.agents.pop(agent_id)
            for membership in agent.memberships:
                membership.queue.members.remove(membership)
            agent.memberships = []

    def live_queue(self, name: str) -> bool:
        """Whether ``name`` is a queue of the configuration in force (not one kept for the
        calls still in it after a reload)."""
        return name in self.queues and name not in self._retired_queues

    # --- calls entering and leaving queues ---------------------------------

    def enqueue(self, call: Call, queue_name: str, now: float) -> None:
        """Put a routed call in a queue (or apply the queue's overflow rule)."""
        queue = self.queues[queue_name]
        config = queue.config
        if config.capacity is not None and queue.size >= config.capacity:
            self._overflow(call, queue, OverflowCause.QUEUE_FULL, config.on_full, now)
            return
        if not config.join_empty and queue.logged_in() == 0:
            self._overflow(call, queue, OverflowCause.NO_AGENTS, config.on_full, now)
            return
        if call.route_priority is not None:
            call.priority = call.route_priority
        else:
            call.priority = config.priority
        first_entry = call.key is None and not call.answered
        self._join(call, queue, now)
        queue.push(call)
        position = queue.position(call)
        self._log.append(new(CallQueued, (now, call.id, queue_name, call.priority, position)))
        if not (first_entry and config.sticky and self._offer_sticky(call, queue, now)):
            self._offer(call, queue, now)
        if not call.ringing:
            self._arm_waiting(call, queue, now)

    def _join(self, call: Call, queue: QueueRuntime, now: float) -> None:
        """The call is in ``queue`` from now (waiting or ringing), at its ``priority``."""
        if call.key is None:
            call.first_queued_at = now
        self._seq += 1
        call.key = (-call.priority, call.first_queued_at - call.carried_wait, self._seq)
        call.queue = queue.name
        call.queued_at = now
        call.state = QUEUED
        queue.size += 1

    def _queue_of(self, call: Call) -> QueueRuntime:
        """The queue the call is in: one of the site's, or a named agent's own target."""
        queue = self.queues.get(call.queue)
        return self._direct[call.queue] if queue is None else queue

    def _arm_waiting(self, call: Call, queue: QueueRuntime, now: float) -> None:
        """Start the max-wait and announcement clocks of a call nobody rings for.

        Most calls ring an agent the moment they arrive and are answered; they
        never need these timers. Both count from entering the queue, so one
        started late, after a ring-no-answer, can be due at once.
        """
        if call.callback is not None:
            return  # its caller is gone, or back from a callback: no timer applies
        config = queue.config
        self.callbacks.arm_offer(call, queue, now)
        if config.max_wait is not None and call.max_wait_timer is None:
            due = max(call.queued_at + config.max_wait, now)
            call.max_wait_timer = self._deadlines.schedule(due, self._on_max_wait, call)
        announcements = config.announcements
        if announcements is not None and call.announce_timer is None:
            due = max(call.queued_at + announcements.first_after, now)
            call.announce_timer = self._deadlines.schedule(due, self._on_announce, call)

    def _leave_queue(self, call: Call, queue: QueueRuntime) -> None:
        """Take the call out of its queue's bookkeeping (not its ringing agents)."""
        queue.size -= 1
        queue.remove(call)
        if call.max_wait_timer is not None:
            call.max_wait_timer.cancel()
            call.max_wait_timer = None
        if call.announce_timer is not None:
            call.announce_timer.cancel()
            call.announce_timer = None
        if call.offer_timer is not None:
            call.offer_timer.cancel()
            call.offer_timer = None
        refusals = self._refusals.pop(call.id, None)
        if refusals is not None:
            for timer in refusals.values():
                timer.cancel()
        if call.sticky is not None:
            self._end_sticky_wait(call)
            call.sticky = None

    def _stop_ringing(self, call: Call, now: float, except_agent: Agent | None = None) -> None:
        """Withdraw the call from every agent it rings; they are ready again."""
        ringing = call.ringing
        if not ringing:
            return
        call.ringing = []
        freed = []
        for membership in ringing:
            agent = membership.agent
            if agent.ring_timer is not None:
                agent.ring_timer.cancel()
                agent.ring_timer = None
            if agent is except_agent:
                continue
            self._outbox.append(new(StopRinging, (call.id, agent.id)))
            self._release(agent, now, announce=False, withdrawn=True)
            freed.append(agent)
        for agent in freed:
            self._agent_available(agent, now)

    def caller_left(self, call: Call, now: float) -> None:
        """The caller hung up while waiting or ringing: an abandon."""
        queue = self._queue_of(call)
        position = queue.position(call)
        self._leave_queue(call, queue)
        wait = now - call.first_queued_at
        self._log.append(new(CallAbandoned, (now, call.id, call.queue, position, wait)))
        self._stop_ringing(call, now)

    def _overflow(
        self, call: Call, queue: QueueRuntime, cause: OverflowCause, rule: Overflow, now: float
    ) -> None:
        self._log_overflow(call, queue, cause, rule, now)
        self._apply_overflow(call, rule, now)

    def _log_overflow(
        self, call: Call, queue: QueueRuntime, cause: OverflowCause, rule: Overflow, now: float
    ) -> None:
        target = rule.target if rule.action == "queue" else rule.action
        self._log.append(new(CallOverflowed, (now, call.id, queue.name, cause, target)))

    def _apply_overflow(self, call: Call, rule: Overflow, now: float) -> None:
        if rule.action == "queue":
            self.enqueue(call, rule.target, now)  # type: ignore[arg-type]
        elif rule.action == "voicemail" and self.to_voicemail(call, rule.target or "", now):
            return
        else:
            cause_end = EndCause.VOICEMAIL if rule.action == "voicemail" else EndCause.BUSY
            self._outbox.append(new(HangUpCaller, (call.id, cause_end)))
            self._end_call(call, cause_end, now)

    def _on_max_wait(self, now: float, call: Call) -> None:
        call.max_wait_timer = None
        queue = self.queues[call.queue]
        if call.ringing and not queue.ring_all:
            return  # an agent is about to answer; a ring-no-answer re-arms the timer
        self._leave_queue(call, queue)
        rule = queue.config.on_max_wait
        # The call's own record first; then the agents it rang are free for others.
        self._log_overflow(call, queue, OverflowCause.MAX_WAIT, rule, now)
        self._stop_ringing(call, now)
        self._apply_overflow(call, rule, now)

    def _on_announce(self, now: float, call: Call) -> None:
        """Tell the caller their place and wait; the next one comes `every` seconds after
        this one has finished playing."""
        queue = self.queues[call.queue]
        announcements = queue.config.announcements
        if announcements is None:  # switched off by a reload
            call.announce_timer = None
            return
        if (call.ringing and not queue.ring_all) or call.ivr is not None:
            # About to be answered, or confirming a callback: no announcement over it.
            # Should the ring fail, the caller hears one a round later, as if it had played.
            call.announce_timer = self._deadlines.schedule(
                now + announcements.duration + announcements.every, self._on_announce, call
            )
            return
        position = queue.position(call)
        expected = queue.expected_wait(position)
        seconds = self.announcement_seconds
        duration = announcements.duration if seconds is None else seconds(position, expected)
        call.announce_timer = self._deadlines.schedule(
            now + duration + announcements.every, self._on_announce, call
        )
        self._log.append(new(CallAnnounced, (now, call.id, queue.name, position, expected)))
        self._outbox.append(new(Announce, (call.id, queue.name, position, expected, duration)))

    # --- sticky agent ------------------------------------------------------------

    def _offer_sticky(self, call: Call, queue: QueueRuntime, now: float) -> bool:
        """Offer the call to the agent who served its caller last; False if there is none
        to offer it to (unknown, not of this queue, logged out, or busy with no wait)."""
        sticky = queue.config.sticky
        membership = self._sticky_member(call, queue, sticky.remember_hours * HOUR, now)
        if membership is None:
            return False
        agent = membership.agent
        ready = agent.state is READY
        if not ready and (sticky.wait <= 0 or agent.state is LOGGED_OUT):
            return False
        wait = 0.0 if ready else sticky.wait
        self._log.append(new(StickyOffered, (now, call.id, queue.name, agent.id, wait)))
        call.sticky = membership
        queue.remove(call)  # theirs alone, even in a ring-all queue
        if ready:
            self._ring(call, membership, now)
        else:
            call.sticky_timer = self._deadlines.schedule(now + wait, self._on_sticky_over, call)
            self._held_for.setdefault(agent.id, []).append(call)
        return True

    def _sticky_member(
        self, call: Call, queue: QueueRuntime, within: float, now: float
    ) -> Membership | None:
        agent_id = self.sticky.last_agent(call.ani, now, within)
        if agent_id is None or agent_id in self._retired_agents:
            return None
        return next((m for m in queue.members if m.agent.id == agent_id), None)

    def _on_sticky_over(self, now: float, call: Call) -> None:
        """The agent did not free up in time: the call joins the line, for everyone."""
        self._end_sticky_wait(call)
        call.sticky = None
        queue = self.queues[call.queue]
        queue.push(call)  # its key: the place its wait gives it
        self._offer(call, queue, now)

    def _end_sticky_wait(self, call: Call) -> None:
        """The call no longer waits for its agent (it may be ringing them)."""
        timer = call.sticky_timer
        if timer is None:
            return
        timer.cancel()
        call.sticky_timer = None
        agent_id = call.sticky.agent.id
        held = self._held_for[agent_id]
        held.remove(call)
        if not held:
            del self._held_for[agent_id]

    def _ring_held(self, agent: Agent, now: float) -> bool:
        """Ring ``agent`` for the best call waiting for them alone; False if there is none."""
        held = self._held_for.get(agent.id)
        if not held:
            return False
        call = min(held, key=_SERVICE_ORDER)
        self._end_sticky_wait(call)
        self._ring(call, call.sticky, now)
        return True

    def _release_held(self, agent_id: str, now: float) -> None:
        """The agent logged out: the calls waiting for them go to everyone now."""
        for call in sorted(self._held_for[agent_id], key=_SERVICE_ORDER):
            self._on_sticky_over(now, call)

    # --- one named agent, outside any queue ----------------------------------------

    def ring_direct(self, call: Call, agent_id: str, now: float) -> bool:
        """Ring ``agent_id`` alone for ``call`` (a route or an IVR exit named them). False,
        changing nothing, unless the agent is logged in and ready: nobody waits for them.

        The call is QUEUED in the queue ``direct_target(agent_id)``, logs what a queue call
        logs and is answered, held, transferred and wrapped up like one. It rings for the
        ring timeout of the agent's first queue (in the site's order; a queue's default if
        they serve none) and its wrap-up is that queue's. A ring not taken (timeout, refusal,
        log-out) does not pause the agent; the call ends, ``AGENT_UNREACHABLE``, unless
        ``direct_not_taken`` sends it elsewhere.
        """
        agent = self.agents.get(agent_id)
        if agent is None or agent.state is not READY or agent_id in self._retired_agents:
            return False
        queue = self._direct_queue(agent)
        call.priority = 0
        self._join(call, queue, now)
        self._log.append(new(CallQueued, (now, call.id, queue.name, 0, 1)))
        self._ring(call, Membership(agent, queue, 0, 1), now)
        return True

    def take_ring(self, call: Call, agent_id: str, now: float) -> bool:
        """A ready ``agent_id`` takes ``call`` from the agents it rings (a pickup): they are
        rung for it (a ``RingAgent``) and answer at once (a ``Connect``); the others' ring
        stops as when one of a ring-all answers, with no pause for them. False, changing
        nothing, unless the agent is ready and the call rings someone."""
        agent = self.agents.get(agent_id)
        if (agent is None or agent.state is not READY or call.state is not QUEUED
                or not call.ringing or agent_id in self._retired_agents):
            return False
        queue = self._queue_of(call)
        membership = next((m for m in agent.memberships if m.queue is queue), None)
        self._ring(call, membership or Membership(agent, queue, 0, 1), now)
        return self.answer(agent_id, call, now)

    def _direct_queue(self, agent: Agent) -> QueueRuntime:
        """The agent's own target, with the settings of their first queue of today's
        configuration."""
        base = next((m.queue.config for m in agent.memberships
                     if self.live_queue(m.queue.name)), _PLAIN_QUEUE)
        name = direct_target(agent.id)
        config = base.model_copy(update={
            "name": name, "strategy": "linear", "autopause": "never", "capacity": None,
            "max_wait": None, "announcements": None})
        queue = self._direct.get(name)
        if queue is None:
            queue = self._direct[name] = QueueRuntime(config)
        else:
            queue.reconfigure(config)
        return queue

    def _direct_not_taken(
        self, call: Call, reason: str, now: float, membership: Membership
    ) -> None:
        """The named agent did not take the call: they leave the ring (ready at their place
        in the longest-idle order, or paused or logged out as they asked meanwhile), the call
        ends, and then they may take a queue's call."""
        agent = membership.agent
        self._withdraw_ring(call, membership, now)
        self._leave_queue(call, self._direct[call.queue])
        if not self._apply_pending(agent, now):
            self._become_ready(agent, now, announce=False, withdrawn=True, reason=reason)
        if not self._recall(call, now) and (self.direct_not_taken is None
                                            or not self.direct_not_taken(call, now)):
            self._outbox.append(new(HangUpCaller, (call.id, EndCause.AGENT_UNREACHABLE)))
            self._end_call(call, EndCause.AGENT_UNREACHABLE, now)
        self._agent_available(agent, now)

    # --- matching ------------------------------------------------------------

    def _offer(self, call: Call, queue: QueueRuntime, now: float) -> None:
        """Ring the free members the strategy picks for a call that just became waiting."""
        if not queue.ready:
            return
        refused = self._refusals.get(call.id)
        # A copy either way: ringing takes agents off the ready list as we go.
        if refused:
            candidates = [m for m in queue.ready if m.agent.id not in refused]
            if not candidates:
                return
        else:
            candidates = queue.ready[:]
        if call.callback is not None and call.callback.dials_first():
            self.callbacks.dial_first(call, queue, now)
            return
        if len(queue.ready) <= self.callbacks.held(queue):
            return  # the free agents wait for customers called back first, ahead of it
        chosen = queue.strategy(candidates, now, self._rng, queue.memory)
        if not queue.ring_all:
            queue.remove(call)  # rung on one agent: out of the waiting heap
        for membership in chosen:
            self._ring(call, membership, now)

    def _ring(self, call: Call, membership: Membership, now: float) -> None:
        agent = membership.agent
        queue = membership.queue
        agent.move(RINGING, "", call.id)
        call.ringing.append(membership)
        if queue.remember_rung:
            queue.memory = membership.order
        self._log.append(new(AgentRung, (now, call.id, queue.name, agent.id)))
        self._log.append(new(AgentStateChanged, (now, agent.id, RINGING, "", call.id)))
        self._outbox.append(new(RingAgent, (call.id, agent.id, queue.name)))
        # Each agent rung has a full ring timeout, also one who joins a ring-all late.
        agent.ring_timer = self._deadlines.schedule(
            now + queue.config.ring_timeout, self._on_ring_timeout, call, membership
        )

    def _agent_available(self, agent: Agent, now: float) -> None:
        """A ready agent takes the best waiting call of the queues they serve."""
        if agent.state is not READY or self._ring_held(agent, now):
            return
        best: Call | None = None
        best_membership: Membership | None = None
        for membership in agent.memberships:
            if len(membership.queue.ready) <= self.callbacks.held(membership.queue):
                continue  # held for a customer called back first (`Callbacks.dial_first`)
            call = membership.queue.head()
            if call is not None and agent.id in self._refusals.get(call.id, ()):
                call = membership.queue.first_waiting(
                    lambda c: agent.id in self._refusals.get(c.id, ()))
            if call is not None and (best is None or call.key < best.key):  # type: ignore[operator]
                best = call
                best_membership = membership
        if best is None:
            return
        queue = best_membership.queue  # type: ignore[union-attr]
        if best.callback is not None and best.callback.dials_first():
            self.callbacks.dial_first(best, queue, now)
            self._agent_available(agent, now)  # free: the next call, if another agent is
            return
        if not queue.ring_all:
            queue.remove(best)
        self._ring(best, best_membership, now)  # type: ignore[arg-type]

    def _on_ring_timeout(self, now: float, call: Call, membership: Membership) -> None:
        membership.agent.ring_timer = None
        self._return_to_head(call, REASON_NO_ANSWER, now, [membership])

    def _return_to_head(self, call: Call, reason: str, now: float, refusing: list) -> None:
        """Agents in ``refusing`` did not take the call (for ``reason``): pause them or keep
        them off this call for a while, as the queue says; re-offer the call."""
        if call.queue in self._direct:
            self._direct_not_taken(call, reason, now, refusing[0])
            return
        queue = self.queues[call.queue]
        for membership in refusing:
            self._withdraw_ring(call, membership, now)
            self._after_ring(membership.agent, call, queue, reason, now)
        if call.ringing:
            return  # ring-all: others still ring
        sticky = call.sticky is not None  # rung alone, out of the line, also in a ring-all
        call.sticky = None
        if sticky or not queue.ring_all:
            queue.push(call)  # same key: back at the head
        self._offer(call, queue, now)
        if not call.ringing:
            self._arm_waiting(call, queue, now)

    def _withdraw_ring(self, call: Call, membership: Membership, now: float) -> None:
        """The agent of ``membership`` did not take the call: their ring stops, on record."""
        agent = membership.agent
        if agent.ring_timer is not None:
            agent.ring_timer.cancel()
            agent.ring_timer = None
        call.ringing.remove(membership)
        self._log.append(new(RingNoAnswer, (now, call.id, call.queue, agent.id)))
        self._outbox.append(new(StopRinging, (call.id, agent.id)))

    def _after_ring(
        self, agent: Agent, call: Call, queue: QueueRuntime, reason: str, now: float
    ) -> None:
        if self._apply_pending(agent, now):
            return
        config = queue.config
        if pauses(config.autopause, reason):
            self._set(agent, NOT_READY, now, reason)
            if config.autopause_ready_after is not None:
                agent.pause_timer = self._deadlines.schedule(
                    now + config.autopause_ready_after, self._on_pause_over, agent)
            return
        # Recorded before the agent is ready again, so that they are not rung for it at once.
        self._refusals.setdefault(call.id, {})[agent.id] = self._deadlines.schedule(
            now + config.retry, self._on_refusal_over, call, agent)
        self._become_ready(agent, now, withdrawn=True, reason=reason)

    def _on_pause_over(self, now: float, agent: Agent) -> None:
        agent.pause_timer = None
        self._become_ready(agent, now, reason=REASON_AUTOPAUSE_OVER)

    def _on_refusal_over(self, now: float, call: Call, agent: Agent) -> None:
        refusals = self._refusals[call.id]
        del refusals[agent.id]
        if not refusals:
            del self._refusals[call.id]
        self._agent_available(agent, now)

    def refused_by(self, call_id: int) -> frozenset[str]:
        """The agents who did not take the call lately and are not offered it yet."""
        return frozenset(self._refusals.get(call_id, ()))

    # --- agent inputs ----------------------------------------------------------

    def answer(self, agent_id: str, call: Call, now: float) -> bool:
        """The agent picked up. False if the call no longer rings them."""
        agent = self.agents.get(agent_id)
        if (agent is None or agent.state is not RINGING or agent.call != call.id
                or call.state is not QUEUED):
            return False
        queue = self._queue_of(call)
        if pending(call):
            self.callbacks.agent_answered(agent, call, queue, now)
            return True
        self._answered(agent, call, queue, now)
        return True

    def _answered(self, agent: Agent, call: Call, queue: QueueRuntime, now: float) -> None:
        """``agent`` takes ``call`` (in ``queue``), on record; Connect them."""
        agent_id = agent.id
        self._leave_queue(call, queue)
        agent.move(TALKING, "", call.id)
        agent.calls_taken += 1
        if queue.remember_answered:
            for membership in agent.memberships:
                if membership.queue is queue:
                    queue.memory = membership.order
        call.state = CallState.TALKING
        call.agent = agent_id
        call.answered_at = now
        wait = now - call.first_queued_at
        self._log.append(new(CallAnswered, (now, call.id, queue.name, agent_id, wait)))
        self._log.append(new(AgentStateChanged, (now, agent_id, TALKING, "", call.id)))
        self._outbox.append(new(Connect, (call.id, agent_id)))
        call.answered = True
        self.sticky.remember(call.ani, agent_id, now)
        # After the answer is on record: the others it rang are free for the next call.
        self._stop_ringing(call, now, except_agent=agent)

    def decline(
        self, agent_id: str, call: Call, now: float, reason: str = REASON_DECLINED
    ) -> bool:
        """The ring failed before the ring timeout (``reason``: one of the REASON_ codes
        above): like ring-no-answer, at once, with the queue's autopause for ``reason``."""
        agent = self.agents.get(agent_id)
        if agent is None or agent.state is not RINGING or agent.call != call.id:
            return False
        membership = next(m for m in call.ringing if m.agent is agent)
        self._return_to_head(call, reason, now, [membership])
        return True

    def hold(self, agent_id: str, now: float) -> bool:
        agent = self.agents.get(agent_id)
        if agent is None or agent.state is not TALKING or pending(self._calls[agent.call]):
            return False  # (on the line while a callback is placed: nobody to hold yet)
        self._set(agent, HELD, now, "", agent.call)
        self._calls[agent.call].state = CallState.HELD
        self._log.append(new(CallHeld, (now, agent.call, agent_id)))
        return True

    def resume(self, agent_id: str, now: float) -> bool:
        agent = self.agents.get(agent_id)
        if agent is None or agent.state is not HELD:
            return False
        self._set(agent, TALKING, now, "", agent.call)
        self._calls[agent.call].state = CallState.TALKING
        self._log.append(new(CallResumed, (now, agent.call, agent_id)))
        return True

    def talk_ended(self, call: Call, now: float) -> None:
        """The call's talk with its agent is over (a hang-up or a transfer): wrap-up."""
        agent = self.agents[call.agent]
        queue = self._queue_of(call)
        wrap_up = queue.config.wrap_up
        queue.record_handle_time(now - call.answered_at + wrap_up)
        agent.move(WRAP_UP, "", call.id)
        self._log.append(new(AgentStateChanged, (now, agent.id, WRAP_UP, "", call.id)))
        call.agent = ""
        if wrap_up > 0:
            agent.wrap_up_timer = self._deadlines.schedule(now + wrap_up, self._on_wrap_up, agent)
            self._outbox.append(new(WrapUp, (agent.id, call.id, now + wrap_up)))
        else:
            self._release(agent, now)

    def transfer(self, agent_id: str, target: str, now: float) -> bool:
        """Blind transfer of the agent's call to a queue; the agent goes to wrap-up. The
        call keeps what the queue's ``transfer_keeps`` says."""
        agent = self._transferring(agent_id)
        if agent is None or not self.live_queue(target):
            return False
        call = self._hand_over(agent, target, now)
        self.enqueue_transferred(call, target, now)
        return True

    def enqueue_transferred(self, call: Call, queue: str, now: float) -> None:
        """Queue `call`, handed over by its agent, in the live `queue`, keeping what the
        queue's ``transfer_keeps`` says of its wait and priority."""
        keeps = self.queues[queue].config.transfer_keeps
        if keeps == "nothing":
            call.carried_wait, call.route_priority = 0.0, None
        elif keeps == "wait_and_priority":
            call.route_priority = call.priority
        self.enqueue(call, queue, now)

    def transfer_to_agent(self, agent_id: str, target: str, now: float) -> bool:
        """Blind transfer of the agent's call to the agent ``target``, rung alone as
        ``ring_direct`` rings (False, nothing changed, unless they are ready). A ring not
        taken rings the transferring agent back (from wrap-up or ready), and if they do not
        take it either, the call goes back to the queue it was answered from, its wait kept."""
        agent = self._transferring(agent_id)
        found = self.agents.get(target)
        if (agent is None or found is None or found.state is not READY
                or target in self._retired_agents):
            return False
        back_to = self._calls[agent.call].queue
        call = self._hand_over(agent, direct_target(target), now)
        call.recall = (agent_id, back_to)
        return self.ring_direct(call, target, now)

    def take_over(self, agent_id: str, target: str, now: float) -> bool:
        """Attended transfer: the agent ``target``, whom the agent consulted, takes the
        agent's call at once, no ring (queued and answered in ``direct_target(target)``, a
        wait of 0); the agent goes to wrap-up. ``target`` may be ready, paused (the pause
        comes back after the call, as one asked for during it) or wrapping up (cut short).
        False, nothing changed, if either is not in a state for it."""
        agent = self._transferring(agent_id)
        taker = self.agents.get(target)
        if (agent is None or taker is None or taker is agent
                or taker.state not in _CAN_TAKE_OVER or target in self._retired_agents):
            return False
        self._set_aside(taker)
        call = self._hand_over(agent, direct_target(target), now)
        queue = self._direct_queue(taker)
        call.priority = 0
        self._join(call, queue, now)
        self._log.append(new(CallQueued, (now, call.id, queue.name, 0, 1)))
        self._answered(taker, call, queue, now)
        return True

    @staticmethod
    def _set_aside(agent: Agent) -> None:
        """What ``agent`` was doing before taking a call over: a pause waits for its end,
        a wrap-up is over."""
        if agent.state is NOT_READY and agent.pending is None:
            agent.pending = PendingRequest(logout=False, reason=agent.reason)
        Acd._end_auto_pause(agent)
        if agent.wrap_up_timer is not None:
            agent.wrap_up_timer.cancel()
            agent.wrap_up_timer = None

    def transfer_out(self, agent_id: str, target: str, now: float) -> Call | None:
        """Blind transfer of the agent's call to `target` outside the ACD (a conference
        room: `ROOM_PREFIX`): on record, the agent wraps up, and the call - returned, for its
        owner to end - waits nowhere. None, nothing changed, if the agent has no call."""
        agent = self._transferring(agent_id)
        return None if agent is None else self._hand_over(agent, target, now)

    def transfer_to_group(self, agent_id: str, target: str, now: float) -> Call | None:
        """Blind transfer of the agent's call to a ring group (`target` on record): as
        `transfer_out`, but the call - returned, for its owner to keep waiting while the
        group rings - may be rung back to the agent later (`recall`). None, nothing
        changed, if the agent has no call."""
        agent = self._transferring(agent_id)
        if agent is None:
            return None
        back_to = self._calls[agent.call].queue
        call = self._hand_over(agent, target, now)
        call.recall = (agent_id, back_to)
        return call

    def recall(self, call: Call, now: float) -> bool:
        """A call `transfer_to_group` handed over was not taken: the transferring agent is
        rung back (wrap-up cut short), and if they do not take it, it goes back to the queue
        it was answered from. False if it has nowhere to go."""
        return self._recall(call, now)

    def _transferring(self, agent_id: str) -> Agent | None:
        """The agent, if they have a call to transfer (not one whose callback is still being
        placed: there is nobody on the line to hand on yet)."""
        agent = self.agents.get(agent_id)
        if (agent is None or (agent.state is not TALKING and agent.state is not HELD)
                or pending(self._calls[agent.call])):
            return None
        return agent

    def _hand_over(self, agent: Agent, target: str, now: float) -> Call:
        """The agent's call leaves them for ``target`` (on record): they wrap up, and the
        call carries its wait so far (before this answer) to its next queue."""
        call = self._calls[agent.call]
        self._log.append(new(CallTransferred, (now, call.id, agent.id, target)))
        self._outbox.append(new(HangUpAgent, (call.id, agent.id)))
        call.carried_wait += call.answered_at - call.first_queued_at
        self.talk_ended(call, now)
        call.key = None  # a new wait starts (its place in line may count the carried wait)
        return call

    def _recall(self, call: Call, now: float) -> bool:
        """A transferred call's target did not take it: ring the transferring agent back if
        they are free (wrap-up cut short), else queue it where it was answered. False if
        it has nowhere to go."""
        if call.recall is None:
            return False
        back, queue = call.recall
        agent = self.agents.get(back)
        call.recall = ("", queue)
        if agent is not None and agent.state is WRAP_UP and agent.pending is None:
            if agent.wrap_up_timer is not None:
                agent.wrap_up_timer.cancel()
                agent.wrap_up_timer = None
            self._become_ready(agent, now, announce=False, reason=REASON_RECALL)
        if agent is not None and self.ring_direct(call, back, now):
            return True
        call.recall = None
        if not self.live_queue(queue):
            return False
        self.enqueue(call, queue, now)
        return True

    def _on_wrap_up(self, now: float, agent: Agent) -> None:
        agent.wrap_up_timer = None
        self._release(agent, now)

    def login(self, agent_id: str, now: float, ready: bool = True, reason: str = "") -> bool:
        agent = self.agents.get(agent_id)
        if agent is None or agent.state is not LOGGED_OUT:
            return False
        if ready:
            self._become_ready(agent, now)
        else:
            self._set(agent, NOT_READY, now, reason or "login")
        return True

    def logout(self, agent_id: str, now: float) -> bool:
        agent = self.agents.get(agent_id)
        if agent is None or agent.state is LOGGED_OUT:
            return False
        state = agent.state
        if state is READY or state is NOT_READY:
            self._set(agent, LOGGED_OUT, now)
        elif state is RINGING:
            agent.pending = PendingRequest(logout=True, reason="")
            self.decline(agent_id, self._calls[agent.call], now)
        else:  # on a call or wrapping up: log out once wrap-up ends
            agent.pending = PendingRequest(logout=True, reason="")
        return True

    def ready(self, agent_id: str, now: float) -> bool:
        agent = self.agents.get(agent_id)
        if agent is None or agent_id in self._retired_agents:
            return False  # a removed agent's log-out after their call stands
        state = agent.state
        if state is NOT_READY:
            self._become_ready(agent, now)
        elif state is WRAP_UP:
            agent.pending = None
            if agent.wrap_up_timer is not None:
                agent.wrap_up_timer.cancel()
                agent.wrap_up_timer = None
            self._release(agent, now)
        elif state is TALKING or state is HELD or state is RINGING:
            agent.pending = None  # withdraw a pause asked for earlier
        else:
            return False
        return True

    def free_to_pick_up(self, agent_id: str, now: float) -> bool:
        """Whether the agent may take a call they pick up (a park slot, another phone's ring):
        ready, or wrapping up with nothing asked for meanwhile - their wrap-up ends now, as
        with their ready key, but no queue call is offered to them first."""
        agent = self.agents.get(agent_id)
        if agent is None or agent_id in self._retired_agents:
            return False
        if agent.state is WRAP_UP and agent.pending is None:
            if agent.wrap_up_timer is not None:
                agent.wrap_up_timer.cancel()
                agent.wrap_up_timer = None
            self._become_ready(agent, now, announce=False)
        return agent.state is READY

    def not_ready(self, agent_id: str, reason: str, now: float) -> bool:
        agent = self.agents.get(agent_id)
        if agent is None or agent_id in self._retired_agents:
            return False  # a removed agent's log-out after their call stands
        state = agent.state
        if state is READY or state is NOT_READY:
            self._set(agent, NOT_READY, now, reason)
        elif state is LOGGED_OUT:
            return False
        else:  # ringing, on a call or wrapping up: pause when the call is done
            if agent.pending is None or not agent.pending.logout:
                agent.pending = PendingRequest(logout=False, reason=reason)
        return True

    def end_pause(self, agent_id: str, reason: str, now: float) -> bool:
        """Give back an agent paused for `reason` (by `not_ready`): ready again if still
        paused for it, or the pause asked for during a call withdrawn. False (nothing
        changed) if the agent has since moved on to another reason, logged out or left."""
        agent = self.agents.get(agent_id)
        if agent is None:
            return False
        pending = agent.pending
        if pending is not None and not pending.logout and pending.reason == reason:
            agent.pending = None
            return True
        if agent.state is NOT_READY and agent.reason == reason:
            return self.ready(agent_id, now)
        return False

    # --- helpers ---------------------------------------------------------------

    def _set(self, agent: Agent, state, now: float, reason: str = "", call: int = 0) -> None:
        self._end_auto_pause(agent)
        agent.move(state, reason, call)
        self._log.append(new(AgentStateChanged, (now, agent.id, state, reason, call)))
        if state is LOGGED_OUT and agent.id in self._held_for:
            self._release_held(agent.id, now)

    def _become_ready(
        self, agent: Agent, now: float, announce: bool = True, withdrawn: bool = False,
        reason: str = "",
    ) -> None:
        """``reason`` says why, where the agent did not ask for it (an automatic pause over,
        a ring not taken)."""
        self._end_auto_pause(agent)
        agent.move(READY, reason)
        self._log.append(new(AgentStateChanged, (now, agent.id, READY, reason, 0)))
        if not withdrawn:
            # A ring taken back (the caller left, another agent answered) is no
            # call: the agent keeps their place in the longest-idle order.
            agent.idle_since = now
        if announce:
            self._agent_available(agent, now)

    @staticmethod
    def _end_auto_pause(agent: Agent) -> None:
        """The agent leaves an automatic pause some other way: its return to ready is off."""
        if agent.pause_timer is not None:
            agent.pause_timer.cancel()
            agent.pause_timer = None

    def _release(
        self, agent: Agent, now: float, announce: bool = True, withdrawn: bool = False
    ) -> None:
        """The agent is done with a call (or its ring was withdrawn): apply what they
        asked for meanwhile, else ready."""
        if not self._apply_pending(agent, now):
            self._become_ready(agent, now, announce, withdrawn)

    def _apply_pending(self, agent: Agent, now: float) -> bool:
        """Carry out a log-out or pause the agent asked for while busy; False if none."""
        pending = agent.pending
        if pending is None:
            return False
        agent.pending = None
        if pending.logout:
            self._set(agent, LOGGED_OUT, now)
            if agent.id in self._retired_agents:
                self._drop_logged_out_retirees()
        else:
            self._set(agent, NOT_READY, now, pending.reason)
        return True

