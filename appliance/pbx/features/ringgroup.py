"""One call's hunt through a ring group (clock-free): which members ring when, who answered,
and when nobody will. The B2BUA carries the effects out (`b2bua/ringgroups.py`).

Two strategies: `all` rings every member who can take a call at once, for `ring_seconds`;
`in_turn` rings them one after another, each for `ring_seconds`, in the group's order. A
member who refuses (busy, declined, unreachable) is out of this hunt. The first answer wins
and every other member still ringing is stopped; a hunt with nobody left to ring ends in the
group's fallback. Whatever happens, a hunt ends exactly once: in one answer, in the fallback,
or given up by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Strategy = Literal["all", "in_turn"]


@dataclass(frozen=True)
class Ring:
    """Ring `member` for the call."""

    member: str


@dataclass(frozen=True)
class StopRinging:
    """Stop ringing `member` (CANCEL): someone else answered, or its turn is over."""

    member: str


@dataclass(frozen=True)
class Fallback:
    """Nobody answered and nobody is left to ring: the group's fallback takes the call."""


Effect = Ring | StopRinging | Fallback


class Hunt:
    """The members rung for one call. `ringing` are those rung and not yet done; `deadline`
    is when the ringing members' time is up (None: nothing to wait for); `answered` is the
    member who took the call; `over` says the hunt ended (answered, fallback or given up).
    `can_ring(member, now)` says whether a member can take a call, asked at their turn."""

    def __init__(self, members: Sequence[str], strategy: Strategy, ring_seconds: float,
                 can_ring: Callable[[str, float], bool]) -> None:
        self.waiting = list(members)  # not rung yet, in order
        self.strategy, self.ring_seconds, self.can_ring = strategy, ring_seconds, can_ring
        self.ringing: list[str] = []
        self.deadline: float | None = None
        self.answered: str | None = None
        self.over = False

    def start(self, now: float) -> list[Effect]:
        """Ring the first member (`in_turn`) or every member (`all`) who can take a call."""
        return self._next_turn(now)

    def answer(self, member: str) -> list[Effect] | None:
        """`member` answered: the others still ringing are stopped. None if the answer is not
        taken (the hunt is over, or `member` is not ringing): hang that member up."""
        if self.over or member not in self.ringing:
            return None
        self.answered, self.over, self.deadline = member, True, None
        self.ringing.remove(member)
        return self._stop_all()

    def refuse(self, member: str, now: float) -> list[Effect]:
        """`member` refused or could not be reached: out of the hunt; the next turn comes
        when nobody else is ringing."""
        if self.over or member not in self.ringing:
            return []
        self.ringing.remove(member)
        return [] if self.ringing else self._next_turn(now)

    def time_up(self, now: float) -> list[Effect]:
        """The ringing members' time is up (at `deadline`): stopped, and the next turn."""
        if self.over or self.deadline is None or now < self.deadline:
            return []
        return [*self._stop_all(), *self._next_turn(now)]

    def give_up(self) -> list[Effect]:
        """The caller left (or the call is taken elsewhere): stop everyone still ringing."""
        self.over, self.deadline = True, None
        return self._stop_all()

    def _stop_all(self) -> list[Effect]:
        stopped, self.ringing = self.ringing, []
        return [StopRinging(member) for member in stopped]

    def _next_turn(self, now: float) -> list[Effect]:
        if self.strategy == "all":
            self.ringing = [member for member in self.waiting if self.can_ring(member, now)]
            self.waiting = []
        while self.waiting and not self.ringing:
            member = self.waiting.pop(0)
            if self.can_ring(member, now):
                self.ringing.append(member)
        if not self.ringing:
            self.over, self.deadline = True, None
            return [Fallback()]
        self.deadline = now + self.ring_seconds
        return [Ring(member) for member in self.ringing]
