"""A queue (skill group) at run time: its members and its waiting calls."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from operator import itemgetter
from typing import TYPE_CHECKING

from appliance.pbx.acd.agent import LOGGED_OUT, READY, STAFFED, Agent
from appliance.pbx.acd.strategies import (
    REMEMBER_ANSWERED,
    REMEMBER_RUNG,
    STRATEGIES,
    Strategy,
)
from appliance.pbx.call import Call

if TYPE_CHECKING:
    from appliance.config import Queue


class Membership:
    """An agent's place in one queue: order in the member list and skill level."""

    __slots__ = ("agent", "level", "order", "queue")

    def __init__(self, agent: Agent, queue: QueueRuntime, order: int, level: int) -> None:
        self.agent = agent
        self.queue = queue
        self.order = order
        self.level = level

    def __repr__(self) -> str:
        return f"Membership({self.agent.id!r} in {self.queue.name!r}, level {self.level})"


# Weight of the newest handle time in the queue's running estimate of it.
AHT_SMOOTHING = 0.1


class QueueRuntime:
    """Waiting calls are a heap ordered by (-priority, start of wait, sequence).

    The heap holds calls that wait for an agent. A call rung on one agent
    leaves the heap and goes back with its old key on ring-no-answer, which
    puts it back at the head. A ring-all call stays in the heap while it rings,
    so an agent who frees up meanwhile is rung too.
    """

    __slots__ = (
        "_heap",
        "aht_estimate",
        "config",
        "members",
        "memory",
        "name",
        "ready",
        "remember_answered",
        "remember_rung",
        "ring_all",
        "size",
        "strategy",
        "strategy_name",
    )

    def __init__(self, config: Queue) -> None:
        self.name = config.name
        self._take(config)
        self.members: list[Membership] = []
        self.ready: list[Membership] = []  # members who are ready, in member order (Agent.move)
        self.memory = -1  # member order of the last agent rung/answered (round-robin)
        self.size = 0  # calls in the queue, ringing ones included
        self.aht_estimate = config.expected_aht
        self._heap: list[tuple[int, float, int, int, Call]] = []

    def reconfigure(self, config: Queue) -> bool:
        """Take the settings of ``config`` (same name) for what happens from now on; True if
        the queue switched to or from ring-all, which the ACD must follow up."""
        was_ring_all = self.ring_all
        self._take(config)
        return was_ring_all != self.ring_all

    def _take(self, config: Queue) -> None:
        self.config = config
        self.strategy_name = config.strategy
        self.strategy: Strategy = STRATEGIES[config.strategy]
        self.ring_all = config.strategy == "ring_all"
        self.remember_rung = config.strategy in REMEMBER_RUNG
        self.remember_answered = config.strategy in REMEMBER_ANSWERED

    # --- waiting calls -----------------------------------------------------

    def push(self, call: Call) -> None:
        neg_priority, since, seq = call.key  # type: ignore[misc]
        if len(self._heap) > 2 * self.size + 16:
            self._compact()
        heapq.heappush(self._heap, (neg_priority, since, seq, call.heap_version, call))

    def _compact(self) -> None:
        """Drop stale entries, which pile up while nobody takes calls from the head."""
        name = self.name
        heap = [e for e in self._heap if e[3] == e[4].heap_version and e[4].queue == name]
        heapq.heapify(heap)
        self._heap = heap

    @staticmethod
    def remove(call: Call) -> None:
        """Drop the call from the heap (lazily: its entries go stale)."""
        call.heap_version += 1

    def head(self) -> Call | None:
        """The waiting call served next, or None."""
        heap = self._heap
        while heap:
            entry = heap[0]
            call = entry[4]
            if entry[3] == call.heap_version and call.queue == self.name:
                return call
            heapq.heappop(heap)
        return None

    def first_waiting(self, skip: Callable[[Call], bool]) -> Call | None:
        """The waiting call served next among those ``skip`` does not exclude, or None.

        Looks at every waiting call: for the rare agent who refused the head."""
        name = self.name
        entries = [
            e for e in self._heap
            if e[3] == e[4].heap_version and e[4].queue == name and not skip(e[4])
        ]
        return min(entries, key=itemgetter(0, 1, 2))[4] if entries else None

    def position(self, call: Call) -> int:
        """1-based place of ``call`` among the calls waiting here."""
        key = call.key
        ahead = 0
        for entry in self._heap:
            other = entry[4]
            if (
                entry[3] == other.heap_version
                and other.queue == self.name
                and other is not call
                and entry[:3] < key  # type: ignore[operator]
            ):
                ahead += 1
        return ahead + 1

    # --- members -----------------------------------------------------------

    def ready_members(self) -> list[Membership]:
        return [m for m in self.members if m.agent.state is READY]

    def check(self) -> None:
        """Raise AssertionError if the ready list disagrees with the members' states."""
        assert self.ready == self.ready_members(), (self.name, self.ready, self.ready_members())

    def staffed(self) -> int:
        """Members logged in and not paused: those who will take calls soon."""
        return sum(1 for m in self.members if m.agent.state in STAFFED)

    def logged_in(self) -> int:
        return sum(1 for m in self.members if m.agent.state is not LOGGED_OUT)

    def record_handle_time(self, seconds: float) -> None:
        self.aht_estimate += AHT_SMOOTHING * (seconds - self.aht_estimate)

    def expected_wait(self, position: int) -> float | None:
        """Expected wait of the caller at ``position``, from current staffing.

        With n agents staffing the queue and a mean handle time h, an agent
        frees up every h/n seconds on average, so the caller at position k
        waits about k*h/n. None when nobody staffs the queue.
        """
        staffed = self.staffed()
        if staffed == 0:
            return None
        return position * self.aht_estimate / staffed
