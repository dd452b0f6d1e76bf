"""Callback keeping the caller's place: what the ACD does with a call whose caller hung up
to be called back.

The call stays in its queue's heap with the key it had, ``(-priority, first_queued_at,
seq)``, so callers who joined later are served after it, and it after those ahead of it.
It has no caller leg and holds no trunk while it waits. When it comes up:

- agent first (and any callback an agent is rung for): the agent answers, the customer is
  called (``PlaceCallback`` with the agent), and the two are connected when the customer
  answers; that answer is the call's ``CallAnswered``.
- caller first: the customer is called the moment the entry reaches the head with an agent
  free; once they answer the call waits again as any caller does, with its old key (at the
  head), and is rung and answered as usual. While their phone rings one free agent of the
  queue is held for them (`held`): a caller who joined later is not served first.

An attempt that does not reach the customer (busy, no answer within the ring timeout, a
failure, no free channel, the agent hanging up) frees the agent at once without a pause or
a refusal - the customer's phone is not the agent's fault - and the entry goes back to its
place after ``retry_after``, until ``attempts`` calls have been made; then it is given up.

A callback pending when the box stopped comes back in the next run (`Callbacks.carry`): a new
call, its attempts and its wait kept, put in its queue whatever the queue's size or who is
logged in (it had its place already), ahead of everyone who joined after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from appliance.events import (
    AgentStateChanged,
    CallAnswered,
    CallbackAnswered,
    CallbackCarried,
    CallbackFailed,
    CallbackGivenUp,
    CallbackOffered,
    CallbackPlaced,
    CallbackRequested,
    CallQueued,
    EndCause,
    new,
)
from appliance.pbx.acd.agent import TALKING
from appliance.pbx.actions import (
    CancelCallback,
    Connect,
    OfferCallback,
    PlaceCallback,
    ReleaseAgent,
)
from appliance.pbx.call import Call, CallState

if TYPE_CHECKING:
    from appliance.clock import TimerHandle
    from appliance.config.schema import Callback
    from appliance.pbx.acd.agent import Agent
    from appliance.pbx.acd.core import Acd
    from appliance.pbx.acd.queue import QueueRuntime
    from appliance.pbx.trunks import TrunkGroups

# Why an attempt failed (`CallbackFailed.reason`); drivers report the first three.
BUSY = "busy"
FAILED = "failed"
NO_ANSWER = "no_answer"
NO_CHANNEL = "no_channel"
AGENT_HANGUP = "agent_hangup"
# The reason logged with READY for an agent freed by a failed attempt.
REASON_CALLBACK_FAILED = "callback_failed"


class PendingCallback(NamedTuple):
    """A callback an earlier run left pending (read back from its records)."""

    run: str
    call: int
    trunk_group: str
    ani: str
    dnis: str
    queue: str
    priority: int
    number: str
    attempts: int  # calls to the number made already
    waited: float  # seconds since it first queued, up to the stop (earlier runs' included)
    first_wall: float | None  # when it first queued, on the wall clock; None if unknown


class CallbackEntry:
    """A call's callback: the number, the attempts made, and what it is doing now."""

    __slots__ = ("agent", "attempts", "config", "connected", "dialing", "holds", "number",
                 "timer", "trunk")

    def __init__(self, config: Callback, number: str) -> None:
        self.config = config
        self.number = number
        self.attempts = 0
        self.agent = ""  # the agent on the line while the customer is called (agent first)
        self.dialing = False  # the customer's phone rings
        self.connected = False  # the customer answered
        self.trunk = ""  # the trunk group a channel is held of; "" for none
        self.holds = ""  # the queue a free agent is held of while the customer is called
        self.timer: TimerHandle | None = None  # the ring timeout, or the wait to retry

    @property
    def waiting(self) -> bool:
        """Whether it is a place in line with nobody on it (neither dialling nor answered)."""
        return not self.connected and not self.dialing

    def dials_first(self) -> bool:
        """Whether the customer is called before an agent is rung for it."""
        return self.waiting and self.config.mode == "caller_first"


def pending(call: Call) -> bool:
    """Whether the call is a callback not yet answered by its customer."""
    entry = call.callback
    return entry is not None and not entry.connected


def unserved(call: Call) -> bool:
    """Whether the call is a callback whose customer has not talked to an agent yet (they
    may be on the line, called first): a stop of the box carries it over to the next run."""
    return call.callback is not None and not call.answered


class Callbacks:
    """The ACD's callbacks. `trunks` gives the channels the calls out take."""

    def __init__(self, acd: Acd, trunks: TrunkGroups | None) -> None:
        self.acd = acd
        self.trunks = trunks
        self.dialling: dict[str, int] = {}  # caller-first calls out, by queue: agents held

    def held(self, queue: QueueRuntime) -> int:
        """How many of the queue's free agents wait for customers called first."""
        return self.dialling.get(queue.name, 0)

    # --- the offer and the request -------------------------------------------------

    def arm_offer(self, call: Call, queue: QueueRuntime, now: float) -> None:
        """Offer the callback once the call has waited the queue's `offer_after` here."""
        config = queue.config.callback
        if config is None or config.offer_after is None or call.offer_timer is not None:
            return
        due = max(call.queued_at + config.offer_after, now)
        call.offer_timer = self.acd._deadlines.schedule(due, self._offer, call)

    def _offer(self, now: float, call: Call) -> None:
        call.offer_timer = None
        config = self.acd.queues[call.queue].config.callback
        if config is None or call.callback is not None or call.ivr is not None:
            return
        self.acd._log.append(new(CallbackOffered, (now, call.id, call.queue)))
        self.acd._outbox.append(new(OfferCallback, (call.id, call.queue, config.key)))

    def key(self, call: Call) -> str:
        """The key that asks for a callback in the call's queue now; "" for none."""
        queue = self.acd.queues.get(call.queue)
        config = None if queue is None else queue.config.callback
        return "" if config is None or call.callback is not None else config.key

    def request(self, call: Call, number: str, now: float) -> None:
        """The caller confirmed `number` and leaves: the call keeps its place (in the heap,
        or ringing the agents it rings), without the timers of a waiting caller."""
        queue = self.acd.queues[call.queue]
        assert queue.config.callback is not None  # asked for by its key, of this queue
        call.callback = CallbackEntry(queue.config.callback, number)
        for name in ("max_wait_timer", "announce_timer", "offer_timer"):
            timer = getattr(call, name)
            if timer is not None:
                timer.cancel()
                setattr(call, name, None)
        self.acd._log.append(new(CallbackRequested, (now, call.id, call.queue, number)))

    def carried_to(self, name: str) -> QueueRuntime | None:
        """The queue a callback of an earlier run waited in, if it is still the site's and
        still offers callbacks; None if not."""
        queue = self.acd.queues.get(name)
        if queue is None or queue.config.callback is None or not self.acd.live_queue(name):
            return None
        return queue

    def carry(self, call: Call, queue: QueueRuntime, pending: PendingCallback, waited: float,
              now: float) -> None:
        """Put `call`, the callback `pending` of an earlier run, in `queue` (`carried_to`) as
        one that has waited `waited` seconds, whatever its size or who is logged in."""
        acd = self.acd
        assert queue.config.callback is not None
        call.callback = entry = CallbackEntry(queue.config.callback, pending.number)
        entry.attempts = pending.attempts
        call.priority, call.carried_wait = pending.priority, waited
        acd._log.append(new(CallbackCarried, (now, call.id, queue.name, pending.number,
                                              pending.attempts, waited, pending.run,
                                              pending.call)))
        acd._join(call, queue, now)
        queue.push(call)
        acd._log.append(new(CallQueued, (now, call.id, queue.name, call.priority,
                                         queue.position(call))))
        acd._offer(call, queue, now)

    # --- calling the customer ----------------------------------------------------------

    def agent_answered(self, agent: Agent, call: Call, queue: QueueRuntime, now: float) -> None:
        """An agent took a callback that waited: they are on the line while it is placed."""
        acd = self.acd
        acd._leave_queue(call, queue)
        agent.move(TALKING, "", call.id)
        call.agent = agent.id
        acd._log.append(new(AgentStateChanged, (now, agent.id, TALKING, "", call.id)))
        acd._stop_ringing(call, now, except_agent=agent)
        self.place(call, agent.id, now)

    def dial_first(self, call: Call, queue: QueueRuntime, now: float) -> None:
        """Caller first: the entry left the line for an agent who is free; call the customer."""
        self.acd._leave_queue(call, queue)
        entry = call.callback
        assert entry is not None
        entry.holds = queue.name
        self.dialling[queue.name] = self.held(queue) + 1
        self.place(call, "", now)

    def place(self, call: Call, agent: str, now: float) -> None:
        entry = call.callback
        assert entry is not None
        entry.attempts += 1
        entry.agent = agent
        group = entry.config.trunk_group or call.trunk_group
        log = self.acd._log.append
        log(new(CallbackPlaced, (now, call.id, entry.number, entry.attempts, agent)))
        if self.trunks is not None and not self.trunks.seize(group):
            self._failed(call, NO_CHANNEL, now)
            return
        entry.trunk, entry.dialing = group, True
        self.acd._outbox.append(new(PlaceCallback, (call.id, entry.number, group, agent)))
        entry.timer = self.acd._deadlines.schedule(now + entry.config.ring_timeout,
                                                   self._rang_out, call)

    def _rang_out(self, now: float, call: Call) -> None:
        assert call.callback is not None
        call.callback.timer = None
        self.acd._outbox.append(new(CancelCallback, (call.id,)))
        self._failed(call, NO_ANSWER, now)

    def answered(self, call: Call, now: float) -> bool:
        """The customer answered; False if the call was not calling them."""
        entry = call.callback
        if entry is None or not entry.dialing:
            return False
        self._stop_timer(entry)
        entry.dialing, entry.connected = False, True
        self._unhold(entry, now, serve=False)  # the call takes the held agent, at the head
        self.acd._log.append(new(CallbackAnswered, (now, call.id)))
        if entry.agent:
            self._connect(call, entry.agent, now)
        else:
            self._wait_again(call, now)
        return True

    def _connect(self, call: Call, agent_id: str, now: float) -> None:
        acd = self.acd
        call.state = CallState.TALKING
        call.answered, call.answered_at = True, now
        wait = now - call.first_queued_at
        acd._log.append(new(CallAnswered, (now, call.id, call.queue, agent_id, wait)))
        acd._outbox.append(new(Connect, (call.id, agent_id)))
        acd.sticky.remember(call.ani, agent_id, now)

    def failed(self, call: Call, reason: str, now: float) -> bool:
        """The attempt failed (`reason`: BUSY, FAILED, NO_ANSWER); False if the call was not
        calling its customer."""
        entry = call.callback
        if entry is None or not entry.dialing:
            return False
        self._stop_timer(entry)
        self._failed(call, reason, now)
        return True

    def agent_hung_up(self, call: Call, now: float) -> None:
        """The agent on the line gave up before the customer answered."""
        entry = call.callback
        assert entry is not None and entry.dialing
        self._stop_timer(entry)
        self.acd._outbox.append(new(CancelCallback, (call.id,)))
        self._failed(call, AGENT_HANGUP, now)

    def _failed(self, call: Call, reason: str, now: float) -> None:
        entry = call.callback
        assert entry is not None
        entry.dialing = False
        self._unhold(entry, now)
        self.release_trunk(entry)
        self.acd._log.append(new(CallbackFailed, (now, call.id, entry.attempts, reason)))
        if entry.agent:
            self._free_agent(call, entry, now)
        if entry.attempts >= entry.config.attempts:
            self.acd._log.append(new(CallbackGivenUp, (now, call.id, entry.attempts)))
            self.acd._end_call(call, EndCause.CALLBACK_GIVEN_UP, now)
        else:
            call.state = CallState.ROUTING  # out of the line until the retry
            entry.timer = self.acd._deadlines.schedule(now + entry.config.retry_after,
                                                       self._retry, call)

    def _free_agent(self, call: Call, entry: CallbackEntry, now: float) -> None:
        agent = self.acd.agents[entry.agent]
        entry.agent = call.agent = ""
        self.acd._outbox.append(new(ReleaseAgent, (call.id, agent.id)))
        # Ready again at their place in the longest-idle order (no call was had), or paused
        # or logged out as they asked meanwhile; never paused for the customer's phone.
        if not self.acd._apply_pending(agent, now):
            self.acd._become_ready(agent, now, withdrawn=True, reason=REASON_CALLBACK_FAILED)

    def _retry(self, now: float, call: Call) -> None:
        assert call.callback is not None
        call.callback.timer = None
        self._wait_again(call, now)

    def _wait_again(self, call: Call, now: float) -> None:
        """Back in line with the key the call had: at its old place."""
        queue = self.acd._queue_of(call)
        call.state = CallState.QUEUED
        queue.size += 1
        queue.push(call)
        self.acd._offer(call, queue, now)

    # --- the end -------------------------------------------------------------------

    @staticmethod
    def _stop_timer(entry: CallbackEntry) -> None:
        if entry.timer is not None:
            entry.timer.cancel()
            entry.timer = None

    def ended(self, call: Call, now: float) -> None:
        """The call is over (for any reason): its timers stop, a held agent is free."""
        entry = call.callback
        if entry is not None:
            self._stop_timer(entry)
            self._unhold(entry, now)

    def _unhold(self, entry: CallbackEntry, now: float, serve: bool = True) -> None:
        """The customer called first is no longer called: the agent held is free for the
        next caller (`serve`)."""
        name, entry.holds = entry.holds, ""
        if not name:
            return
        self.dialling[name] -= 1
        queue = self.acd.queues.get(name)
        if serve and queue is not None:
            for membership in queue.ready[:]:
                self.acd._agent_available(membership.agent, now)

    def release_trunk(self, entry: CallbackEntry) -> None:
        if entry.trunk and self.trunks is not None:
            self.trunks.release(entry.trunk)
        entry.trunk = ""
