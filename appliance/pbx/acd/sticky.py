"""Sticky agent: which agent last served each caller number.

Sans-I/O and clock-free: every input carries ``now``. One memory for the whole site, not
one per queue: a caller's relationship is with the agent, whichever queue they came
through; a queue with `sticky` set offers the caller to that agent only if the agent
serves it.

Memory is bounded twice: an answer is forgotten once older than the longest
`remember_hours` of the site's queues (``keep``), and beyond ``capacity`` numbers the
one served longest ago goes first. Answers arrive in time order, so the oldest entry is
always at the front and forgetting costs O(1) per answer.
"""

from __future__ import annotations

from collections import OrderedDict

# Numbers that name nobody: never remembered (the network withheld or lost the number).
ANONYMOUS = frozenset({"", "anonymous", "unknown", "unavailable", "restricted"})
# About 200 bytes a number: some 20 MB at most, whatever the traffic.
DEFAULT_CAPACITY = 100_000
HOUR = 3600.0


class StickyMemory:
    """caller number -> (agent id, time of their last answer), oldest first."""

    __slots__ = ("_last", "capacity", "keep")

    def __init__(self, keep: float = 0.0, capacity: int = DEFAULT_CAPACITY) -> None:
        self.keep = keep  # seconds; 0: sticky is off everywhere, nothing is remembered
        self.capacity = capacity
        self._last: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._last)

    def remember(self, ani: str, agent: str, now: float) -> None:
        """``agent`` answered a call from ``ani`` at ``now`` (times never go back)."""
        if self.keep <= 0 or ani.lower() in ANONYMOUS:
            return
        last = self._last
        last[ani] = (agent, now)
        last.move_to_end(ani)
        self.forget_old(now)

    def forget_old(self, now: float) -> None:
        """Drop answers older than ``keep`` and the oldest beyond ``capacity``."""
        last = self._last
        horizon = now - self.keep
        while last:
            ani, (_, t) = next(iter(last.items()))
            if t >= horizon and len(last) <= self.capacity:
                return
            del last[ani]

    def last_agent(self, ani: str, now: float, within: float) -> str | None:
        """The agent who last answered ``ani``, if within ``within`` seconds of ``now``."""
        entry = self._last.get(ani)
        if entry is None or now - entry[1] > within:
            return None
        return entry[0]
