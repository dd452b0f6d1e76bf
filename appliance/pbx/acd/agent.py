"""The agent state machine. Everything that decides an agent's legal moves lives here.

One owner: only the ACD core changes an agent's state, through ``Agent.move``,
which refuses any transition outside ``TRANSITIONS`` (a bug, not a user error).
Requests an agent makes while busy (log out, pause with a reason) are kept as
``pending`` and applied when their wrap-up ends, reason and all.
"""

from __future__ import annotations

from bisect import insort
from operator import attrgetter

from appliance.events import AgentState

_member_order = attrgetter("order")

LOGGED_OUT = AgentState.LOGGED_OUT
READY = AgentState.READY
NOT_READY = AgentState.NOT_READY
RINGING = AgentState.RINGING
TALKING = AgentState.TALKING
HELD = AgentState.HELD
WRAP_UP = AgentState.WRAP_UP

TRANSITIONS: frozenset[tuple[AgentState, AgentState]] = frozenset(
    {
        (LOGGED_OUT, READY),  # log in ready
        (LOGGED_OUT, NOT_READY),  # log in paused
        (READY, RINGING),  # offered a call
        (READY, NOT_READY),  # pause
        (READY, LOGGED_OUT),
        (NOT_READY, READY),  # unpause, or an automatic pause is over
        (NOT_READY, NOT_READY),  # another reason code
        (NOT_READY, LOGGED_OUT),
        (RINGING, TALKING),  # answered
        (RINGING, READY),  # ring withdrawn, or not taken and the queue does not pause
        (RINGING, NOT_READY),  # not taken, and the queue's autopause says pause
        (RINGING, LOGGED_OUT),  # logged out while ringing
        (TALKING, HELD),
        (TALKING, WRAP_UP),  # hang-up or transfer
        # On the line for a callback the customer did not answer: free again, with no
        # wrap-up (or paused or logged out, as asked meanwhile).
        (TALKING, READY),
        (TALKING, NOT_READY),
        (TALKING, LOGGED_OUT),
        (HELD, TALKING),
        (HELD, WRAP_UP),  # the caller hung up while on hold
        (WRAP_UP, READY),
        (WRAP_UP, NOT_READY),  # a pause asked for during the call
        (WRAP_UP, LOGGED_OUT),  # a log-out asked for during the call
        # An attended transfer: the agent consulted takes the call at once, from where
        # the consultation left them (paused for it, ready, or wrapping up).
        (READY, TALKING),
        (NOT_READY, TALKING),
        (WRAP_UP, TALKING),
    }
)

# The same table by state, for the check on every move.
NEXT_STATES: dict[AgentState, frozenset[AgentState]] = {
    state: frozenset(new for old, new in TRANSITIONS if old is state) for state in AgentState
}

# States in which the agent counts as staffing its queues (for expected waits).
STAFFED = frozenset({READY, RINGING, TALKING, HELD, WRAP_UP})
# States in which the agent owns a call.
ON_CALL = frozenset({RINGING, TALKING, HELD, WRAP_UP})


class IllegalTransition(RuntimeError):
    """The core tried a move the state machine forbids: always a bug in the core."""


class PendingRequest:
    """What a busy agent asked for, applied once their current call is wrapped up."""

    __slots__ = ("logout", "reason")

    def __init__(self, logout: bool, reason: str) -> None:
        self.logout = logout
        self.reason = reason


class Agent:
    """An agent's live state as the ACD sees it."""

    __slots__ = (
        "call",
        "calls_taken",
        "id",
        "idle_since",
        "memberships",
        "pause_timer",
        "pending",
        "reason",
        "ring_timer",
        "state",
        "wrap_up_timer",
    )

    def __init__(self, agent_id: str) -> None:
        self.id = agent_id
        self.state = LOGGED_OUT
        self.reason = ""
        self.call = 0  # the call rung, talked on, held or wrapped up; 0 for none
        self.idle_since = 0.0  # when the agent last became ready (longest-idle)
        self.calls_taken = 0  # answered since the run started (fewest-calls)
        self.pending: PendingRequest | None = None
        self.wrap_up_timer = None
        self.ring_timer = None  # the ring-no-answer timeout while ringing
        self.pause_timer = None  # the automatic return to ready of an automatic pause
        # Filled by the ACD: this agent's place in each queue it serves.
        self.memberships: list = []

    def move(self, new: AgentState, reason: str = "", call: int = 0) -> None:
        old = self.state
        if new not in NEXT_STATES[old]:
            raise IllegalTransition(f"agent {self.id}: {old} -> {new} is not a legal move")
        self.state = new
        self.reason = reason
        self.call = call
        # Each queue keeps its ready members in member order, so that offering
        # a call need not look at every member.
        if old is READY:
            for membership in self.memberships:
                membership.queue.ready.remove(membership)
        elif new is READY:
            for membership in self.memberships:
                insort(membership.queue.ready, membership, key=_member_order)

    def __repr__(self) -> str:
        return f"Agent({self.id!r}, {self.state}, call={self.call})"
