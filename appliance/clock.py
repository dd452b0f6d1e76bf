"""A core's timers: how cores ask to be woken without reading a clock.

Cores never read a clock. Every input carries ``now``; a core keeps its own
timers in a ``Deadlines`` heap, says when it next needs attention through
``next_deadline()`` and is told when that time comes through
``on_deadline(now)`` (the aioquic shape). A driver - SimPy in simulation,
asyncio on the box - keeps one wake-up armed for the earliest deadline with
``appliance.drive.Wakeup``.

Equal deadlines run in the order they were scheduled, by the heap's own
(when, sequence) key, so results never depend on how a driver breaks ties.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any


def _cancelled(*_args: Any) -> None:
    """What a cancelled handle would call: nothing."""


class TimerHandle:
    """A scheduled callback; ``cancel()`` makes it a no-op (it stays in the heap until its
    time or the next compaction, but lets go of its callback and arguments at once: a call's
    session timer is cancelled long before it is due, and must not keep the call alive)."""

    __slots__ = ("args", "callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self.callback = _cancelled
        self.args = ()


_COMPACT_EVERY = 4096  # timers scheduled between looks at how many are cancelled


class Deadlines:
    """A core's timers: a heap of (when, sequence, handle) with lazy cancellation.

    ``soonest`` is the earliest time of the timers set since a driver last reset
    it to infinity: a driver compares it with the deadline it knows instead of
    asking ``next_deadline()`` after every input.
    """

    __slots__ = ("_heap", "scheduled", "soonest")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self.scheduled = 0
        self.soonest = math.inf

    def schedule(self, when: float, callback: Callable[..., None], *args: Any) -> TimerHandle:
        handle = TimerHandle(when, callback, args)
        self.scheduled += 1
        if when < self.soonest:
            self.soonest = when
        heapq.heappush(self._heap, (when, self.scheduled, handle))
        if not self.scheduled % _COMPACT_EVERY:
            self._compact()
        return handle

    def _compact(self) -> None:
        """Drop cancelled handles once they are most of the heap (timers set far ahead and
        cancelled, like session timers, would otherwise pile up); amortised O(1) a timer.
        The order of the live timers is their (when, sequence), so nothing reorders."""
        heap = self._heap
        live = [entry for entry in heap if not entry[2].cancelled]
        if len(live) < len(heap) // 2:
            heap[:] = live
            heapq.heapify(heap)

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def run_due(self, now: float) -> None:
        """Run, in order, every callback due at or before ``now``.

        Each is called as ``callback(now, *args)``. Callbacks may schedule new
        timers; those that are due run too.
        """
        heap = self._heap
        while heap and heap[0][0] <= now:
            handle = heapq.heappop(heap)[2]
            if not handle.cancelled:
                handle.cancelled = True  # a handle fires once
                handle.callback(now, *handle.args)

    def __len__(self) -> int:
        return sum(1 for _, _, h in self._heap if not h.cancelled)
