"""Distribution strategies: which free agent(s) a call rings.

Each strategy is a pure function of the candidates (the queue's members that
are ready, in the queue's configured member order), the time, a random stream
handed in, and the queue's memory (the member order of the last agent rung or
answered, -1 for none). It returns the memberships to ring: one, or all of them
for ring-all. The core owns the memory and updates it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from random import Random
from typing import Protocol


class AgentView(Protocol):
    idle_since: float
    calls_taken: int


class Candidate(Protocol):
    """A queue member as strategies see it."""

    agent: AgentView
    order: int  # position in the queue's member list, from 0
    level: int  # skill level for the queue's skill, 1-10, higher is better


Strategy = Callable[[Sequence[Candidate], float, Random, int], Sequence[Candidate]]


def ring_all(candidates: Sequence[Candidate], now: float, rng: Random, last: int):
    """Ring-down: every free agent at once; the first to answer takes the call."""
    return candidates


def linear(candidates: Sequence[Candidate], now: float, rng: Random, last: int):
    """Hunting in a fixed order: always from the top of the member list."""
    return (candidates[0],)


def _after(candidates: Sequence[Candidate], last: int):
    for candidate in candidates:
        if candidate.order > last:
            return (candidate,)
    return (candidates[0],)


def cyclic(candidates: Sequence[Candidate], now: float, rng: Random, last: int):
    """Hunting in a cycle: start after the agent rung last, wrap around."""
    return _after(candidates, last)


def rr_memory(candidates: Sequence[Candidate], now: float, rng: Random, last: int):
    """Round-robin with memory: start after the agent who answered last."""
    return _after(candidates, last)


def longest_idle(candidates: Sequence[Candidate], now: float, rng: Random, last: int):
    """Balancing: the agent ready for the longest time; ties by member order."""
    best = candidates[0]
    best_since = best.agent.idle_since
    for candidate in candidates:
        if candidate.agent.idle_since < best_since:
            best = candidate
            best_since = candidate.agent.idle_since
    return (best,)


def fewest_calls(candidates: Sequence[Candidate], now: float, rng: Random, last: int):
    """The agent who has answered the fewest calls; ties by longest idle, then order."""
    best = min(candidates, key=lambda c: (c.agent.calls_taken, c.agent.idle_since, c.order))
    return (best,)


def random(candidates: Sequence[Candidate], now: float, rng: Random, last: int):
    """Any free agent, uniformly, from the run's own random stream."""
    return (candidates[rng.randrange(len(candidates))],)


def skills(candidates: Sequence[Candidate], now: float, rng: Random, last: int):
    """Skills-based: the highest level for the queue's skill; ties by longest idle, then order."""
    best = min(candidates, key=lambda c: (-c.level, c.agent.idle_since, c.order))
    return (best,)


STRATEGIES: dict[str, Strategy] = {
    "ring_all": ring_all,
    "linear": linear,
    "cyclic": cyclic,
    "rr_memory": rr_memory,
    "longest_idle": longest_idle,
    "fewest_calls": fewest_calls,
    "random": random,
    "skills": skills,
}

# Strategies whose memory moves when an agent is rung, and when one answers.
REMEMBER_RUNG = frozenset({"cyclic"})
REMEMBER_ANSWERED = frozenset({"rr_memory"})
