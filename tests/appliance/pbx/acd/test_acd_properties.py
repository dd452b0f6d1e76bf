"""Properties of call control and the ACD under random inputs (hypothesis).

A ``RuleBasedStateMachine`` drives ``CallControl`` with callers, agents and time
in any order, and after every input checks the event log (``LogChecker``), the
action stream and the core's own state against each other. ``LogChecker`` is
also used on whole simulations (``tests/sim/test_sim_properties.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from appliance.config import ConfigError, Site, parse_site
from appliance.eventlog import EventLog
from appliance.events import (
    AgentRung,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnnounced,
    CallAnswered,
    CallBlocked,
    CallEnded,
    CallHeld,
    CallOffered,
    CallOverflowed,
    CallQueued,
    CallResumed,
    CallTransferred,
    EndCause,
    OverflowCause,
    Record,
    RingNoAnswer,
)
from appliance.kpi import CENTER_ENDS
from appliance.pbx.acd.agent import ON_CALL, TRANSITIONS
from appliance.pbx.acd.core import (
    REASON_AUTOPAUSE_OVER,
    REASON_BUSY,
    REASON_DECLINED,
    REASON_NO_ANSWER,
    REASON_UNAVAILABLE,
    REASON_UNREACHABLE,
    direct_target,
    pauses,
)
from appliance.pbx.acd.strategies import STRATEGIES
from appliance.pbx.actions import (
    Announce,
    Connect,
    HangUpAgent,
    HangUpCaller,
    RingAgent,
    StopRinging,
    WrapUp,
)
from appliance.pbx.call import CallState
from appliance.pbx.callcontrol import CallControl
from tests.factories import site_dict

S = AgentState
EPS = 1e-9
STRATEGY_NAMES = sorted(STRATEGIES)
QUEUE_NAMES = ("service", "backup")
FAILURES = frozenset(
    {REASON_NO_ANSWER, REASON_BUSY, REASON_DECLINED, REASON_UNAVAILABLE, REASON_UNREACHABLE})
# The hang-up the core must send the caller's leg for each way a call ends.
CALLER_RELEASED = frozenset(
    {EndCause.BLOCKED, EndCause.NO_ROUTE, EndCause.VOICEMAIL, EndCause.BUSY,
     EndCause.AGENT_HANGUP, EndCause.AGENT_UNREACHABLE}
)
# Calls to this number ring agent a1 alone, outside any queue (`Acd.ring_direct`).
DUTY = "900"
DIRECT = direct_target("a1")


# --- the event log, replayed ------------------------------------------------------------


class _Visit:
    """A call's stay in a queue as the log tells it (for the FIFO property)."""

    __slots__ = ("in_queue", "key", "queue", "refused", "ringing")

    def __init__(self, queue: str, key: tuple[int, float, int]) -> None:
        self.queue = queue
        self.key = key  # (-priority, start of the wait, n-th CallQueued): the core's order
        self.in_queue = True
        self.ringing: set[str] = set()
        self.refused: dict[str, float] = {}  # agent -> until when they are not offered it

    def refused_by(self, agent: str, t: float) -> bool:
        """Whether ``agent`` turned this call down and may be passed over for it at ``t``."""
        return self.refused.get(agent, -math.inf) >= t - EPS


class LogChecker:
    """Replays records one by one and asserts what must hold at every record.

    - records are in time order;
    - every ``AgentStateChanged`` is in ``TRANSITIONS`` and starts from the
      agent's previous state (the first from logged_out), with the call it
      names consistent with the state it enters;
    - an agent has one call at a time, and no two agents talk on (or hold)
      the same call;
    - a call is answered at most once between transfers, only by an agent
      ringing for it, and reports its wait from the start of its wait;
    - every call is offered once and ends at most once, with no record after
      its end;
    - ``CallQueued.position`` counts the calls ahead in the core's order;
    - FIFO: see ``_check_fifo``;
    - given the site (``for_site``): an agent paused for "no_answer" rang for the
      queue's full ring timeout, and at the end of every instant no agent is
      ready while a call of a queue they serve waits (``_end_of_instant``),
      unless they turned that call down less than the queue's ``retry`` ago.
    """

    def __init__(
        self,
        ring_all_queues: frozenset[str] = frozenset(),
        members: dict[str, frozenset[str]] | None = None,
        ring_timeouts: dict[str, float] | None = None,
        retries: dict[str, float] | None = None,
    ) -> None:
        self.ring_all_queues = ring_all_queues
        self.members = members  # queue -> agents serving it
        self.ring_timeouts = ring_timeouts or {}
        self.retries = retries  # queue -> its retry; None: a refusal lasts the whole visit
        self.last_t = -math.inf
        self.agents: dict[str, tuple[AgentState, int]] = {}
        self.ring_started: dict[str, float] = {}
        self.talking_on: dict[int, str] = {}
        self.live: set[int] = set()
        self.ended: dict[int, EndCause] = {}
        self.offered: list[int] = []
        self.answered_now: set[int] = set()  # answered since the last transfer
        self.answered_ever: set[int] = set()
        self.blocked: set[int] = set()
        self.wait_start: dict[int, float | None] = {}
        # Waits before earlier answers, which a transfer carries (`transfer_keeps: wait`).
        self.carried: dict[int, float] = {}
        self.last_wait: dict[int, float] = {}
        self.visits: dict[int, _Visit] = {}
        self.queued_count = 0
        self.rung: set[tuple[int, str]] = set()  # AgentRung not yet followed by RINGING
        self.ring_no_answers: list[tuple[RingNoAnswer, float]] = []  # (record, ring start)
        self.missed: dict[str, tuple[str, float]] = {}  # agent -> (queue, ring start)
        self.n = 0

    @classmethod
    def for_site(cls, site: Site) -> LogChecker:
        members = {
            q.name: frozenset(
                a.id for a in site.expanded_agents() if a.level(q.required_skill) > 0
            )
            for q in site.queues
        }
        ring_all = frozenset(q.name for q in site.queues if q.strategy == "ring_all")
        return cls(ring_all, members, {q.name: q.ring_timeout for q in site.queues},
                   {q.name: q.retry for q in site.queues})

    def reconfigure(self, site: Site, members: dict[str, frozenset[str]],
                    ring_all_queues: frozenset[str], now: float) -> None:
        """The core took a new configuration at ``now``: close the instants before it under
        the members they had, then check with ``members`` (the core's, after the reload)."""
        if now > self.last_t:
            self._end_of_instant()
            self.last_t = now
        self.members = members
        self.ring_all_queues = ring_all_queues
        for queue in site.queues:
            # A ring started before the reload keeps its old timeout: the shortest counts.
            self.ring_timeouts[queue.name] = min(
                self.ring_timeouts.get(queue.name, math.inf), queue.ring_timeout)
        self.retries = {**(self.retries or {}), **{q.name: q.retry for q in site.queues}}

    def feed(self, records: list[Record]) -> None:
        for record in records[self.n:]:
            self.check(record)
        self.n = len(records)

    def finish(self) -> None:
        """The last records are in: check the end of the last instant."""
        self._end_of_instant()

    def check(self, r: Record) -> None:
        assert r.t >= self.last_t - EPS, f"record out of time order: {r} after t={self.last_t}"
        if r.t > self.last_t:
            self._end_of_instant()
        self.last_t = max(self.last_t, r.t)
        if isinstance(r, AgentStateChanged):
            self._agent_state(r)
            return
        call = r.call
        if isinstance(r, CallOffered):
            assert call not in self.wait_start and call not in self.ended, f"offered twice: {r}"
            self.offered.append(call)
            self.live.add(call)
            self.wait_start[call] = None
            return
        assert call in self.live, f"record for a call not up: {r}"
        handler = getattr(self, "_" + type(r).__name__, None)
        if handler is not None:
            handler(r)

    def _end_of_instant(self) -> None:
        """Work conservation, once every input of an instant is in: no agent is ready while
        a call of a queue they serve waits unrung (ring-all: while it is in the queue)."""
        if self.members is None:
            return
        ready = {a for a, (state, _) in self.agents.items() if state is S.READY}
        if not ready:
            return
        for call, visit in self.visits.items():
            if visit.in_queue and (visit.queue in self.ring_all_queues or not visit.ringing):
                idle = {
                    a for a in ready & self.members.get(visit.queue, frozenset())
                    if not visit.refused.get(a, -math.inf) > self.last_t + EPS
                }
                assert not idle, (
                    f"t={self.last_t}: {sorted(idle)} ready while call {call} waits in "
                    f"{visit.queue}"
                )

    # --- agents --------------------------------------------------------------------------

    def _agent_state(self, r: AgentStateChanged) -> None:
        before, before_call = self.agents.get(r.agent, (S.LOGGED_OUT, 0))
        assert (before, r.state) in TRANSITIONS, f"illegal {before} -> {r.state}: {r}"
        if r.state in ON_CALL:
            assert r.call in self.live, f"agent on a call that is not up: {r}"
        else:
            assert r.call == 0, f"agent not on a call names one: {r}"
        if before in ON_CALL and r.state in ON_CALL:
            assert r.call == before_call, f"agent switched calls without freeing up: {r}"
        if r.state is S.RINGING:
            assert (r.call, r.agent) in self.rung, f"ringing without AgentRung: {r}"
            self.rung.discard((r.call, r.agent))
            self.visits[r.call].ringing.add(r.agent)
            self.ring_started[r.agent] = r.t
        missed = self.missed.pop(r.agent, None)
        if missed is not None and r.state is S.NOT_READY and r.reason == "no_answer":
            queue, started = missed
            timeout = self.ring_timeouts.get(queue, 0.0)
            assert r.t - started >= timeout - 1e-6, (
                f"{r.agent} paused for no answer after ringing {r.t - started:g} s "
                f"of {timeout:g}: {r}"
            )
        if before is S.RINGING:
            visit = self.visits[before_call]
            if r.state is S.READY and r.agent in visit.ringing:
                # A ring withdrawn (not refused) means the call is leaving the queue:
                # answered by another agent, abandoned or overflowed.
                visit.in_queue = False
            visit.ringing.discard(r.agent)
            if r.state is S.TALKING:
                assert self.talking_on.get(r.call) == r.agent, f"talking without answer: {r}"
        if r.state in (S.TALKING, S.HELD):
            holder = self.talking_on.get(r.call)
            assert holder == r.agent, f"two agents on call {r.call}: {holder} and {r.agent}"
        elif before in (S.TALKING, S.HELD):
            assert self.talking_on.pop(before_call, None) == r.agent
        self.agents[r.agent] = (r.state, r.call)

    def _ringing_for(self, agent: str, call: int) -> bool:
        return self.agents.get(agent, (S.LOGGED_OUT, 0)) == (S.RINGING, call)

    def _on_call(self, agent: str, call: int) -> bool:
        state, on = self.agents.get(agent, (S.LOGGED_OUT, 0))
        return state in (S.TALKING, S.HELD) and on == call

    # --- calls ---------------------------------------------------------------------------

    def _CallBlocked(self, r: CallBlocked) -> None:
        self.blocked.add(r.call)

    def _CallQueued(self, r: CallQueued) -> None:
        call = r.call
        visit = self.visits.get(call)
        assert visit is None or not visit.in_queue, f"queued while still in a queue: {r}"
        assert call not in self.talking_on, f"queued while an agent talks on it: {r}"
        if self.wait_start[call] is None:
            self.wait_start[call] = r.t
        self.queued_count += 1
        key = (-r.priority, self.wait_start[call] - self.carried.get(call, 0.0),
               self.queued_count)
        ahead = sum(
            1
            for other in self.visits.values()
            if other.in_queue
            and other.queue == r.queue
            and other.key < key
            and (r.queue in self.ring_all_queues or not other.ringing)
        )
        assert r.position == ahead + 1, f"position {r.position}, expected {ahead + 1}: {r}"
        self.visits[call] = _Visit(r.queue, key)

    def _AgentRung(self, r: AgentRung) -> None:
        visit = self.visits.get(r.call)
        assert visit is not None and visit.in_queue and visit.queue == r.queue, r
        assert self.agents.get(r.agent, (S.LOGGED_OUT, 0))[0] is S.READY, f"rang a busy agent: {r}"
        self._check_fifo(r, visit)
        self.rung.add((r.call, r.agent))

    def _check_fifo(self, r: AgentRung, visit: _Visit) -> None:
        """No call served before this one waits in the queue unrung (FIFO within a priority,
        higher priorities first).

        Ring-all: a call stays in line while it rings, and an agent who frees up joins the
        ringing of the first call in line; so an agent is rung for a call only when no call
        ahead of it in the same queue is still there at all, ringing or not.
        """
        ring_all = r.queue in self.ring_all_queues
        for call, other in self.visits.items():
            if (
                call != r.call
                and other.in_queue
                and other.queue == r.queue
                and other.key < visit.key
                and (ring_all or not other.ringing)
                and not other.refused_by(r.agent, r.t)
            ):
                raise AssertionError(
                    f"FIFO: call {r.call} (key {visit.key}) rung on {r.agent} at t={r.t} "
                    f"while call {call} (key {other.key}) waits ahead of it in {r.queue}"
                    + (f", ringing {sorted(other.ringing)}" if other.ringing else ", unrung")
                )

    def _RingNoAnswer(self, r: RingNoAnswer) -> None:
        assert self._ringing_for(r.agent, r.call), f"ring-no-answer, agent not ringing: {r}"
        visit = self.visits[r.call]
        visit.ringing.discard(r.agent)
        # A direct call is not offered again: it ends.
        retry = math.inf if self.retries is None else self.retries.get(r.queue, math.inf)
        visit.refused[r.agent] = r.t + retry
        self.ring_no_answers.append((r, self.ring_started[r.agent]))
        self.missed[r.agent] = (r.queue, self.ring_started[r.agent])

    def _CallAnswered(self, r: CallAnswered) -> None:
        call = r.call
        assert call not in self.answered_now, f"answered twice without a transfer: {r}"
        assert self._ringing_for(r.agent, call), f"answered by an agent not ringing: {r}"
        visit = self.visits[call]
        assert visit.in_queue or visit.ringing == {r.agent}, r
        assert visit.queue == r.queue, r
        assert abs(r.wait - (r.t - self.wait_start[call])) <= 1e-6, f"wrong wait: {r}"
        visit.in_queue = False
        visit.ringing.discard(r.agent)
        self.answered_now.add(call)
        self.answered_ever.add(call)
        self.talking_on[call] = r.agent
        self.last_wait[call] = r.wait

    def _CallAbandoned(self, r: CallAbandoned) -> None:
        visit = self.visits.get(r.call)
        assert visit is not None and visit.queue == r.queue, r
        assert r.call not in self.talking_on, f"abandoned while talking: {r}"
        assert abs(r.wait - (r.t - self.wait_start[r.call])) <= 1e-6, f"wrong wait: {r}"
        visit.in_queue = False

    def _CallOverflowed(self, r: CallOverflowed) -> None:
        visit = self.visits.get(r.call)
        if r.cause is OverflowCause.MAX_WAIT:
            assert visit is not None and visit.queue == r.queue, r
        if visit is not None:
            visit.in_queue = False

    def _CallHeld(self, r: CallHeld) -> None:
        assert self.agents.get(r.agent) == (S.HELD, r.call), f"held, agent not holding: {r}"

    def _CallResumed(self, r: CallResumed) -> None:
        assert self.agents.get(r.agent) == (S.TALKING, r.call), r

    def _CallTransferred(self, r: CallTransferred) -> None:
        assert self._on_call(r.agent, r.call), f"transferred by an agent not on it: {r}"
        assert r.call in self.answered_now, r
        self.answered_now.discard(r.call)
        self.wait_start[r.call] = None  # a transfer starts a new wait ...
        # ... and its place in line counts the waits before (the default `transfer_keeps`)
        self.carried[r.call] = self.carried.get(r.call, 0.0) + self.last_wait[r.call]

    def _CallAnnounced(self, r: CallAnnounced) -> None:
        visit = self.visits.get(r.call)
        assert visit is not None and visit.in_queue and visit.queue == r.queue, r

    def _CallEnded(self, r: CallEnded) -> None:
        call = r.call
        for agent, (state, on) in self.agents.items():
            assert not (on == call and state in (S.RINGING, S.TALKING, S.HELD)), (
                f"call ended while {agent} is {state} on it: {r}"
            )
        if r.cause is EndCause.BLOCKED:
            assert call in self.blocked, r
        if r.cause in (EndCause.CALLER_HANGUP, EndCause.AGENT_HANGUP):
            assert call in self.answered_now, f"hang-up cause for an unanswered call: {r}"
        visit = self.visits.get(call)
        if visit is not None:
            visit.in_queue = False
        self.live.discard(call)
        self.ended[call] = r.cause
        self.visits.pop(call, None)
        self.answered_now.discard(call)

    # --- outcomes ------------------------------------------------------------------------

    def outcomes(self) -> dict[str, int]:
        """Each offered call counted once: answered if ever answered, else by how it ended."""
        counts = dict.fromkeys(CENTER_ENDS, 0)
        for call in self.offered:
            if call in self.answered_ever:
                counts["answered"] += 1
            elif call not in self.ended:
                counts["in_system"] += 1
            else:
                cause = self.ended[call]
                assert cause not in (EndCause.CALLER_HANGUP, EndCause.AGENT_HANGUP), call
                # The reducer counts a named agent who could not take the call as no route.
                counts[cause.value if cause is not EndCause.AGENT_UNREACHABLE
                       else "no_route"] += 1
        return counts


# --- sites -----------------------------------------------------------------------------


def parse_site_dict(data: dict[str, Any]) -> Site:
    return parse_site(yaml.safe_dump(data), source="<test>")


def overflows(other: str | None) -> st.SearchStrategy[dict[str, Any]]:
    choices = [st.just({"action": "busy"}), st.just({"action": "voicemail"})]
    if other is not None:
        choices.append(st.just({"action": "queue", "target": other}))
    return st.one_of(*choices)


@st.composite
def queue_configs(draw: st.DrawFn, name: str, other: str | None) -> dict[str, Any]:
    queue: dict[str, Any] = {
        "name": name,
        "strategy": draw(st.sampled_from(STRATEGY_NAMES)),
        "wrap_up": draw(st.integers(0, 10)),
        "ring_timeout": draw(st.integers(5, 20)),
        "priority": draw(st.integers(0, 2)),
        "join_empty": draw(st.sampled_from([True, True, True, False])),
        "autopause": draw(st.sampled_from(["no", "on_no_answer", "on_any_failure"])),
        "retry": draw(st.sampled_from([1, 5, 30])),
    }
    if draw(st.booleans()):
        queue["autopause_ready_after"] = draw(st.integers(1, 60))
    if draw(st.integers(0, 3)) == 0:
        queue["capacity"] = draw(st.integers(1, 4))
        queue["on_full"] = draw(overflows(other))
    if draw(st.booleans()):
        queue["max_wait"] = draw(st.integers(5, 90))
        queue["on_max_wait"] = draw(overflows(other))
    if draw(st.booleans()):
        queue["announcements"] = {
            "first_after": draw(st.integers(0, 30)),
            "every": draw(st.integers(5, 60)),
            "duration": draw(st.integers(1, 10)),
        }
    return queue


@st.composite
def acd_sites(draw: st.DrawFn) -> Site:
    """1-4 agents, 1-2 queues with any strategy and overflows, 1-6 trunks on "pstn" and a
    trunk group "aux" that no route serves. Calls with a calling number starting with 9 go
    to the last queue, with the route's priority if it has one; calls to DUTY ring a1."""
    names = QUEUE_NAMES[: draw(st.integers(1, 2))]
    queues = [
        draw(queue_configs(name, next((n for n in names if n != name), None))) for name in names
    ]
    if len(queues) == 2 and all(q.get("on_full", {}).get("action") == "queue" for q in queues):
        queues[1]["on_full"] = {"action": "busy"}  # on_full cycles are refused by the schema
    agents = []
    for i in range(draw(st.integers(1, 4))):
        served = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
        agents.append({"id": f"a{i + 1}", "skills": {n: draw(st.integers(1, 10)) for n in served}})
    for name in names:
        if not any(name in a["skills"] for a in agents):
            agents[draw(st.integers(0, len(agents) - 1))]["skills"][name] = 5
    vip: dict[str, Any] = {"trunk_group": "pstn", "ani_prefix": "9", "queue": names[-1]}
    if draw(st.booleans()):
        vip["priority"] = draw(st.integers(0, 3))
    duty = {"trunk_group": "pstn", "dnis": DUTY, "agent": "a1"}
    data = site_dict(
        trunks=draw(st.integers(1, 6)),
        queue=queues[0],
        extra_queues=queues[1:],
        routes=[duty, vip],
    )
    data["agents"] = agents
    data["trunk_groups"].append({"name": "aux", "kind": "sip", "channels": 2})
    return parse_site_dict(data)


# --- the state machine -----------------------------------------------------------------


class AcdMachine(RuleBasedStateMachine):
    """Callers, agents and time in any order; the log, the actions and the state agree."""

    @initialize(
        site=acd_sites(),
        seed=st.integers(0, 2**32 - 1),
        start=st.lists(
            st.sampled_from(["ready", "ready", "ready", "paused", "out"]), min_size=4, max_size=4
        ),
    )
    def setup(self, site: Site, seed: int, start: list[str]) -> None:
        self.site = site
        self.log = EventLog()
        self.cc = CallControl(site, self.log, Random(seed))
        self.now = 0.0
        self.agent_ids = [a.id for a in site.expanded_agents()]
        self.queue_names = [q.name for q in site.queues]
        self.checker = LogChecker.for_site(site)
        # Per queue, the shortest and longest ring timeouts it has had (reloads change them).
        self.shortest_ring = {q.name: q.ring_timeout for q in site.queues}
        self.longest_ring = dict(self.shortest_ring)
        self.ever_ring_all = {q.name for q in site.queues if q.strategy == "ring_all"}
        self.refusals: dict[str, RingNoAnswer] = {}  # agent -> their ring that just failed
        self.auto_ready_due: dict[str, float] = {}  # agent -> when their automatic pause ends
        self.rings: dict[tuple[int, str], float] = {}  # RingAgent not yet withdrawn: its time
        self.connected: dict[int, str] = {}
        self.caller_hung_up: dict[int, EndCause] = {}
        self.agent_hung_up: set[int] = set()
        self.offered: list[int] = []
        for agent, how in zip(self.agent_ids, start, strict=False):
            if how != "out":
                assert self.cc.agent_login(0.0, agent, ready=how == "ready", reason="meeting")
        self.settle()

    # --- helpers ---------------------------------------------------------------------------

    def agent(self, index: int) -> str:
        return self.agent_ids[index % len(self.agent_ids)]

    def state(self, agent: str) -> AgentState:
        found = self.cc.acd.agents.get(agent)
        return S.LOGGED_OUT if found is None else found.state

    def retired(self, agent: str) -> bool:
        """Removed from the configuration by a reload (perhaps still finishing a call)."""
        return agent not in {a.id for a in self.site.expanded_agents()}

    def settle(self) -> None:
        """Take the core's actions, check the action stream, replay the new records."""
        for action in self.cc.take_actions():
            self.apply(action)
        self.check_pause_policy(self.log.records[self.checker.n:])
        self.checker.feed(self.log.records)
        deadline = self.cc.next_deadline()
        assert deadline is None or deadline >= self.now - EPS, "a timer in the past"

    def check_pause_policy(self, records: list[Record]) -> None:
        """An agent who did not take a call is paused exactly when the queue's autopause
        says so, with the failure as the reason; an automatic pause ends by itself after
        autopause_ready_after, unless the agent moved in between."""
        for r in records:
            if isinstance(r, RingNoAnswer):
                self.refusals[r.agent] = r
                continue
            if not isinstance(r, AgentStateChanged):
                continue
            refusal = self.refusals.pop(r.agent, None)
            if r.reason == REASON_AUTOPAUSE_OVER:
                due = self.auto_ready_due.pop(r.agent, None)
                assert r.state is S.READY and due is not None and abs(r.t - due) < 1e-6, r
                continue
            self.auto_ready_due.pop(r.agent, None)  # the agent moved: no automatic end
            if refusal is None or r.reason not in FAILURES:
                continue  # not the outcome of a ring (or a request made while ringing won)
            if refusal.queue == DIRECT:  # a direct ring not taken never pauses
                assert r.state is S.READY, r
                continue
            config = self.cc.acd.queues[refusal.queue].config
            paused = pauses(config.autopause, r.reason)
            assert r.state is (S.NOT_READY if paused else S.READY), (r, config.autopause)
            if paused and config.autopause_ready_after is not None:
                self.auto_ready_due[r.agent] = r.t + config.autopause_ready_after

    def apply(self, action: Any) -> None:
        if isinstance(action, RingAgent):
            pair = (action.call, action.agent)
            assert pair not in self.rings, f"rung twice: {action}"
            self.rings[pair] = self.now
        elif isinstance(action, StopRinging):
            assert self.rings.pop((action.call, action.agent), None) is not None, (
                f"stop ringing a phone that does not ring: {action}"
            )
        elif isinstance(action, Connect):
            assert self.rings.pop((action.call, action.agent), None) is not None, (
                f"connected without an outstanding ring: {action}"
            )
            assert action.call not in self.connected, f"connected twice: {action}"
            self.connected[action.call] = action.agent
        elif isinstance(action, HangUpAgent):
            assert self.connected.pop(action.call, None) == action.agent, action
            self.agent_hung_up.add(action.call)
        elif isinstance(action, HangUpCaller):
            assert action.call not in self.caller_hung_up, f"caller hung up twice: {action}"
            self.caller_hung_up[action.call] = action.cause
            if action.cause is EndCause.AGENT_HANGUP:
                assert action.call in self.connected, action
                del self.connected[action.call]
        elif isinstance(action, WrapUp):
            assert action.until > self.now, action
        else:
            assert isinstance(action, Announce), action

    def snapshot(self) -> tuple[Any, ...]:
        agents = tuple((a.state, a.call, a.reason) for a in self.cc.acd.agents.values())
        calls = tuple((c.id, c.state, c.queue, c.agent) for c in self.cc.calls.values())
        return len(self.log.records), agents, calls, self.cc.next_deadline()

    def refused(self, accepted: bool, before: tuple[Any, ...]) -> None:
        """An input the core refuses changes nothing."""
        if not accepted:
            assert self.snapshot() == before
            assert self.cc.take_actions() == []

    def agent_input(self, name: str, expected: bool, *args: Any) -> bool:
        before = self.snapshot()
        accepted = getattr(self.cc, name)(self.now, *args)
        assert accepted is expected, f"{name}{args} returned {accepted}, expected {expected}"
        self.refused(accepted, before)
        self.settle()
        return accepted

    # --- time ------------------------------------------------------------------------------

    @rule(
        dt=st.one_of(
            st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0]), st.floats(0.0, 15.0), st.floats(0.0, 120.0)
        )
    )
    def advance(self, dt: float) -> None:
        target = self.now + dt
        while (deadline := self.cc.next_deadline()) is not None and deadline <= target:
            self.now = deadline
            n = len(self.checker.ring_no_answers)
            self.cc.on_deadline(deadline)
            self.settle()
            for record, started in self.checker.ring_no_answers[n:]:
                # Only the ring timer fires at a deadline: every RingNoAnswer here is a timeout.
                self.check_full_ring(record, started)
            self.check_state()
        self.now = target
        assert all(due > target for due in self.auto_ready_due.values()), (
            f"an automatic pause outlived autopause_ready_after: {self.auto_ready_due}")

    def check_full_ring(self, record: RingNoAnswer, started: float) -> None:
        # A direct ring lasts as a1's first queue's: at least the shortest of any.
        timeout = self.shortest_ring.get(record.queue, min(self.shortest_ring.values()))
        assert record.t - started >= timeout - 1e-6, (
            f"{record.agent} marked no-answer after {record.t - started:g} s of ringing "
            f"(ring_timeout {timeout:g}): {record}"
        )

    # --- callers ---------------------------------------------------------------------------

    @rule(
        calls=st.lists(
            st.tuples(st.sampled_from(["pstn", "pstn", "pstn", "aux"]), st.booleans(),
                      st.sampled_from(["800", "800", "800", DUTY])),
            min_size=1,
            max_size=2,
        )
    )
    def offer(self, calls: list[tuple[str, bool, str]]) -> None:
        """One or two calls at the same instant; "9..." callers take the VIP route, calls to
        DUTY ring a1 alone."""
        for group, vip, dnis in calls:
            n = len(self.offered)
            ani = ("9" if vip else "1") + f"{n:04d}"
            call = self.cc.offer_call(self.now, group, ani, dnis)
            assert all(call > c for c in self.offered)
            self.offered.append(call)
            self.settle()
            assert self.checker.offered[-1] == call

    @precondition(lambda self: self.offered)
    @rule(index=st.integers(0, 1000), live=st.booleans())
    def caller_hangs_up(self, index: int, live: bool) -> None:
        """A caller of a call still up (or of any call: refused once it has ended) hangs up."""
        pool = sorted(self.cc.calls) if live and self.cc.calls else self.offered
        call = pool[index % len(pool)]
        live = self.cc.calls.get(call)
        expected = live is not None
        before = self.snapshot()
        accepted = self.cc.caller_hangup(self.now, call)
        assert accepted is expected
        self.refused(accepted, before)
        self.settle()
        assert call not in self.cc.calls

    # --- agents ----------------------------------------------------------------------------

    @precondition(lambda self: self.rings)
    @rule(
        index=st.integers(0, 1000),
        answer=st.sampled_from([True, True, True, False]),
        reason=st.sampled_from(
            [REASON_BUSY, REASON_DECLINED, REASON_UNAVAILABLE, REASON_UNREACHABLE]
        ),
    )
    def agent_takes_a_ring(self, index: int, answer: bool, reason: str) -> None:
        call, agent = sorted(self.rings)[index % len(self.rings)]
        if answer:
            self.agent_input("agent_answer", True, agent, call)
            assert self.state(agent) is S.TALKING and self.connected[call] == agent
            return
        pending = self.cc.acd.agents[agent].pending
        queue = self.cc.calls[call].queue
        paused = queue != DIRECT and pauses(self.cc.acd.queues[queue].config.autopause, reason)
        self.agent_input("agent_decline", True, agent, call, reason)
        assert (call, agent) not in self.rings
        if pending is not None:
            assert self.state(agent) is (S.LOGGED_OUT if pending.logout else S.NOT_READY)
        elif paused:
            assert self.state(agent) is S.NOT_READY
            assert self.cc.acd.agents[agent].reason == reason
        else:
            # Still available, for other calls: not rung again for this one at once.
            assert self.state(agent) in (S.READY, S.RINGING)
            assert self.cc.acd.agents[agent].call != call

    @precondition(lambda self: self.offered)
    @rule(agent=st.integers(0, 3), index=st.integers(0, 1000), answer=st.booleans())
    def agent_takes_any_call(self, agent: int, index: int, answer: bool) -> None:
        agent_id = self.agent(agent)
        call = self.offered[index % len(self.offered)]
        expected = (call, agent_id) in self.rings
        self.agent_input("agent_answer" if answer else "agent_decline", expected, agent_id, call)

    def on_call(self) -> list[str]:
        return [a for a in self.agent_ids if self.state(a) in (S.TALKING, S.HELD)]

    @precondition(lambda self: self.on_call())
    @rule(
        index=st.integers(0, 3),
        act=st.sampled_from(["hangup", "hangup", "hold", "transfer", "transfer"]),
        destination=st.integers(0, 1),
    )
    def agent_handles_the_call(self, index: int, act: str, destination: int) -> None:
        agents = self.on_call()
        agent = agents[index % len(agents)]
        self.agent_acts(agent, act, self.queue_names[destination % len(self.queue_names)])

    @rule(
        agent=st.integers(0, 3),
        act=st.sampled_from(["hangup", "hold", "transfer"]),
        destination=st.sampled_from([*QUEUE_NAMES, "nowhere"]),
    )
    def any_agent_acts(self, agent: int, act: str, destination: str) -> None:
        """The same, by any agent: refused unless the agent is on a call."""
        self.agent_acts(self.agent(agent), act, destination)

    def agent_acts(self, agent: str, act: str, destination: str) -> None:
        before = self.state(agent)
        on_call = before in (S.TALKING, S.HELD)
        found = self.cc.acd.agents.get(agent)
        call = 0 if found is None else found.call
        if act == "hangup":
            if self.agent_input("agent_hangup", on_call, agent):
                assert call not in self.cc.calls
                assert self.caller_hung_up[call] is EndCause.AGENT_HANGUP
        elif act == "hold" and before is not S.HELD:
            self.agent_input("agent_hold", before is S.TALKING, agent)
        elif act == "hold":
            self.agent_input("agent_resume", True, agent)
        else:
            known = self.cc.acd.live_queue(destination)
            if self.agent_input("agent_transfer", on_call and known, agent, destination):
                assert self.state(agent) not in (S.TALKING, S.HELD)
                assert call in self.agent_hung_up

    def away(self) -> list[str]:
        return [a for a in self.agent_ids
                if self.state(a) in (S.NOT_READY, S.WRAP_UP) and not self.retired(a)]

    @precondition(lambda self: self.away())
    @rule(index=st.integers(0, 3))
    def agent_comes_back(self, index: int) -> None:
        """A paused agent, or one in wrap-up, goes ready."""
        agents = self.away()
        agent = agents[index % len(agents)]
        self.agent_input("agent_ready", True, agent)
        assert self.state(agent) in (S.READY, S.RINGING)

    @rule(
        agent=st.integers(0, 3),
        change=st.sampled_from(["login", "login_paused", "logout", "ready", "ready", "pause"]),
        reason=st.sampled_from(["break", "lunch", "training"]),
    )
    def agent_presence(self, agent: int, change: str, reason: str) -> None:
        """Log in, log out, go ready or pause, whatever the agent is doing."""
        agent_id = self.agent(agent)
        before = self.state(agent_id)
        retired = self.retired(agent_id)
        if change.startswith("login"):
            ready = change == "login"
            expected = before is S.LOGGED_OUT and not retired
            self.agent_input("agent_login", expected, agent_id, ready, reason)
        elif change == "logout":
            self.agent_input("agent_logout", before is not S.LOGGED_OUT, agent_id)
            if before in (S.READY, S.NOT_READY, S.RINGING):
                assert self.state(agent_id) is S.LOGGED_OUT
        elif change == "ready":
            expected = before not in (S.READY, S.LOGGED_OUT) and not retired
            self.agent_input("agent_ready", expected, agent_id)
        else:
            expected = before is not S.LOGGED_OUT and not retired
            self.agent_input("agent_not_ready", expected, agent_id, reason)
            if before in (S.READY, S.NOT_READY):
                assert self.state(agent_id) is S.NOT_READY
                assert self.cc.acd.agents[agent_id].reason == reason

    # --- reloads -----------------------------------------------------------------------------

    @rule(site=acd_sites())
    def reload(self, site: Site) -> None:
        """A new configuration: other queues, agents, skills, strategies, pause policies."""
        self.apply_site(site)

    @precondition(lambda self: self.on_call())
    @rule(index=st.integers(0, 3))
    def remove_an_agent_on_a_call(self, index: int) -> None:
        """The same configuration without one agent who is on a call."""
        agents = self.on_call()
        gone = agents[index % len(agents)]
        data = self.site.model_dump(mode="json", exclude_defaults=True)
        data["agents"] = [a for a in data["agents"] if a["id"] != gone]
        try:
            site = parse_site_dict(data)
        except ConfigError:
            assume(False)  # the agent was the last to serve a queue
        self.apply_site(site)
        assert self.state(gone) in (S.TALKING, S.HELD), "the call goes on"

    def apply_site(self, site: Site) -> None:
        self.cc.reload(site, self.now)
        self.site = site
        acd = self.cc.acd
        for queue in site.queues:
            name = queue.name
            self.shortest_ring[name] = min(self.shortest_ring.get(name, math.inf),
                                           queue.ring_timeout)
            self.longest_ring[name] = max(self.longest_ring.get(name, 0.0), queue.ring_timeout)
            if queue.strategy == "ring_all":
                self.ever_ring_all.add(name)
        self.agent_ids = sorted(set(self.agent_ids) | set(acd.agents))
        self.queue_names = [q.name for q in site.queues]
        members = {q.name: frozenset(m.agent.id for m in q.members) for q in acd.queues.values()}
        ring_all = frozenset(q.name for q in acd.queues.values() if q.ring_all)
        self.checker.reconfigure(site, members, ring_all, self.now)
        self.settle()

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def state_agrees_with_log_and_actions(self) -> None:
        if hasattr(self, "cc"):
            self.check_state()

    def check_state(self) -> None:
        cc, checker = self.cc, self.checker
        calls = cc.calls
        acd = cc.acd
        # (iv) conservation: offered == ended + up, trunks match the calls up.
        assert len(checker.offered) == len(checker.ended) + len(calls)
        assert set(calls) == checker.live
        for group in set(cc.trunks.busy) | {c.trunk_group for c in calls.values()}:
            up = sum(1 for c in calls.values() if c.trunk_group == group)
            assert cc.trunks.busy[group] == up, (group, cc.trunks.busy, up)
        # The caller's and agent's legs released exactly as the calls ended.
        for call, cause in checker.ended.items():
            if cause in CALLER_RELEASED:
                assert self.caller_hung_up.get(call) is cause, (call, cause)
            else:
                assert call not in self.caller_hung_up, (call, cause)
            if cause is EndCause.CALLER_HANGUP:
                assert call in self.agent_hung_up, (call, cause)
        # (ii) every agent on a call refers to one live call, consistently.
        talking: dict[int, str] = {}
        for agent in acd.agents.values():
            assert checker.agents.get(agent.id, (S.LOGGED_OUT, 0)) == (agent.state, agent.call)
            if agent.state is S.RINGING:
                call = calls[agent.call]
                assert call.state is CallState.QUEUED
                assert sum(m.agent is agent for m in call.ringing) == 1
                ringing_for = self.now - self.rings[(call.id, agent.id)]
                longest = self.longest_ring.get(call.queue, max(self.longest_ring.values()))
                assert ringing_for < longest, (
                    f"{agent.id} rings for {ringing_for:g} s, past the ring timeout"
                )
            elif agent.state in (S.TALKING, S.HELD):
                call = calls[agent.call]
                assert call.agent == agent.id and call.id not in talking
                expected = CallState.TALKING if agent.state is S.TALKING else CallState.HELD
                assert call.state is expected
                talking[call.id] = agent.id
        for call in calls.values():
            if call.state in (CallState.TALKING, CallState.HELD):
                assert talking.get(call.id) == call.agent
            elif call.state is CallState.QUEUED:
                assert len({m.agent.id for m in call.ringing}) == len(call.ringing)
                for m in call.ringing:
                    assert m.agent.state is S.RINGING and m.agent.call == call.id
                    assert m.queue.name == call.queue
                if call.queue not in self.ever_ring_all:
                    assert len(call.ringing) <= 1
            else:
                raise AssertionError(f"call {call} up in state {call.state}")
        # (vi) the driver's view from the actions is the core's view.
        assert set(self.rings) == {
            (a.call, a.id) for a in acd.agents.values() if a.state is S.RINGING
        }
        assert self.connected == talking
        for queue in acd.queues.values():
            queued = [c for c in calls.values() if c.state is CallState.QUEUED
                      and c.queue == queue.name]
            # (v) queue sizes count the calls in the queue, ringing ones included.
            assert queue.size == len(queued), (queue.name, queue.size, queued)
            waiting = queued if queue.ring_all else [c for c in queued if not c.ringing]
            head = queue.head()
            if waiting:
                assert head is min(waiting, key=lambda c: c.key), (queue.name, head, waiting)
            else:
                assert head is None, (queue.name, head)
            # (vii) work conservation: no ready member while a call waits unrung, unless the
            # member turned that call down lately; a ring-all call in line takes every member
            # who frees up.
            ready = [m.agent.id for m in queue.members if m.agent.state is S.READY]
            cached = getattr(queue, "ready", None)
            if cached is not None:  # the core's own list of ready members, in member order
                assert [m.agent.id for m in cached] == ready, (queue.name, cached, ready)
            for call in waiting:
                idle = set(ready) - acd.refused_by(call.id)
                assert not idle, f"{queue.name}: {sorted(idle)} ready while {call} waits"
            # Only an automatic pause has an automatic end.
            for member in queue.members:
                if member.agent.pause_timer is not None:
                    assert member.agent.state is S.NOT_READY, member.agent
            # Only calls in a queue carry refusals.
            for call_id in acd._refusals:
                assert calls[call_id].state is CallState.QUEUED


TestAcdMachine = AcdMachine.TestCase
TestAcdMachine.settings = settings(
    max_examples=500,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# --- by hand: cases the machine found --------------------------------------------------


def test_ring_all_agent_joining_late_gets_the_full_ring_timeout() -> None:
    site = parse_site_dict(site_dict(agents=2, strategy="ring_all", ring_timeout=15))
    log = EventLog()
    cc = CallControl(site, log, Random(1))
    cc.agent_login(0.0, "a1")
    cc.agent_login(0.0, "a2")
    first = cc.offer_call(0.0, "pstn")
    assert cc.agent_answer(0.0, "a1", first)
    cc.offer_call(1.0, "pstn")  # rings a2 from t=1
    cc.agent_hangup(15.5, "a1")  # a1 frees up and joins the ringing at t=15.5
    assert cc.acd.agents["a1"].state is S.RINGING
    cc.on_deadline(16.0)  # a2's 15 s are up
    # a1 has rung for half a second; it must not be timed out and paused yet.
    assert [r.agent for r in log.records if isinstance(r, RingNoAnswer)] == ["a2"]
    assert cc.acd.agents["a1"].state is S.RINGING
    cc.on_deadline(30.5)  # and a1's
    assert [r.agent for r in log.records if isinstance(r, RingNoAnswer)] == ["a2", "a1"]


def test_a_call_queued_when_the_heap_is_compacted_is_still_served() -> None:
    """Found by the machine: the push that compacted the waiting heap put the call on the old
    list, so the call never rang while its agent sat ready."""
    site = parse_site_dict(site_dict(agents=1, trunks=100))
    cc = CallControl(site, EventLog(), Random(1))
    cc.agent_login(0.0, "a1", ready=False, reason="break")
    calls = [cc.offer_call(float(i), "pstn") for i in range(30)]
    for call in calls[1:]:
        cc.caller_hangup(31.0, call)  # 29 stale heap entries for one waiting call
    late = cc.offer_call(40.0, "pstn")  # this push compacts the heap
    cc.take_actions()
    cc.agent_ready(41.0, "a1")
    assert cc.take_actions() == [RingAgent(calls[0], "a1", "service")]
    cc.agent_answer(42.0, "a1", calls[0])
    cc.agent_hangup(50.0, "a1")
    assert RingAgent(late, "a1", "service") in cc.take_actions()


# --- strategies are pure functions -----------------------------------------------------------


@dataclass
class _AgentView:
    idle_since: float
    calls_taken: int


@dataclass
class _Candidate:
    agent: _AgentView
    order: int
    level: int


@st.composite
def candidate_lists(draw: st.DrawFn) -> list[_Candidate]:
    orders = sorted(draw(st.lists(st.integers(0, 30), min_size=1, max_size=8, unique=True)))
    small = st.sampled_from([0.0, 1.0, 2.5, 10.0])
    return [
        _Candidate(
            _AgentView(draw(small | st.floats(0, 1e4)), draw(st.integers(0, 3))),
            order,
            draw(st.integers(1, 10)),
        )
        for order in orders
    ]


def _copy(candidates: list[_Candidate]) -> list[_Candidate]:
    return [
        _Candidate(_AgentView(c.agent.idle_since, c.agent.calls_taken), c.order, c.level)
        for c in candidates
    ]


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(STRATEGY_NAMES),
    candidates=candidate_lists(),
    now=st.floats(0, 1e5),
    seed=st.integers(0, 2**32 - 1),
    memory=st.integers(-1, 31),
)
def test_strategies_are_pure_and_pick_as_documented(
    name: str, candidates: list[_Candidate], now: float, seed: int, memory: int
) -> None:
    strategy = STRATEGIES[name]
    twin = _copy(candidates)
    picked = list(strategy(candidates, now, Random(seed), memory))
    again = list(strategy(twin, now, Random(seed), memory))
    assert [c.order for c in picked] == [c.order for c in again]
    assert twin == candidates, "the strategy changed its inputs"
    assert picked and all(any(p is c for c in candidates) for p in picked)
    orders = [c.order for c in picked]

    def best(key: Any) -> int:
        return min(candidates, key=key).order

    if name == "ring_all":
        assert orders == [c.order for c in candidates]
        return
    assert len(picked) == 1
    (chosen,) = picked
    if name == "linear":
        assert chosen.order == min(c.order for c in candidates)
    elif name in ("cyclic", "rr_memory"):
        after = [c.order for c in candidates if c.order > memory]
        assert chosen.order == (min(after) if after else min(c.order for c in candidates))
    elif name == "longest_idle":
        assert chosen.order == best(lambda c: (c.agent.idle_since, c.order))
    elif name == "fewest_calls":
        assert chosen.order == best(lambda c: (c.agent.calls_taken, c.agent.idle_since, c.order))
    elif name == "skills":
        assert chosen.order == best(lambda c: (-c.level, c.agent.idle_since, c.order))
        assert chosen.level == max(c.level for c in candidates)


@settings(max_examples=50, deadline=None)
@given(candidates=candidate_lists(), seed=st.integers(0, 2**32 - 1))
def test_random_strategy_draws_from_the_stream_it_is_given(
    candidates: list[_Candidate], seed: int
) -> None:
    rng = Random(seed)
    picks = {STRATEGIES["random"](candidates, 0.0, rng, -1)[0].order for _ in range(200)}
    assert picks <= {c.order for c in candidates}
    # 200 uniform draws over at most 8 candidates miss one with probability < 1e-11.
    assert picks == {c.order for c in candidates}
