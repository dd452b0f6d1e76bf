"""Post-call survey figures: how many callers scored, and the mean score, per agent and per
queue, from the reduction's ``SurveyScored`` facts. A score that is not a number (a flow
that keeps letters, say) counts in ``scored`` but not in the mean."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SurveyStats:
    scored: int
    """Surveys that ended with a score."""
    mean_score: float | None
    """The mean of the numeric scores; None without one."""


@dataclass(frozen=True)
class SurveyReport:
    agents: dict[str, SurveyStats]
    """Per agent scored, sorted by id."""
    queues: dict[str, SurveyStats]
    """Per queue whose callers scored, sorted by name."""

    def to_dict(self) -> dict[str, Any]:
        return {part: {name: {"scored": s.scored, "mean_score": s.mean_score}
                       for name, s in getattr(self, part).items()}
                for part in ("agents", "queues")}


class SurveyTally:
    """Scores added up per agent and per queue; ``report`` is None when none came."""

    def __init__(self) -> None:
        self.agents: dict[str, list[float | None]] = {}
        self.queues: dict[str, list[float | None]] = {}

    def add(self, agent: str, queue: str, score: str) -> None:
        value = _number(score)
        self.agents.setdefault(agent, []).append(value)
        self.queues.setdefault(queue, []).append(value)

    def report(self) -> SurveyReport | None:
        if not self.agents:
            return None
        return SurveyReport({a: _stats(self.agents[a]) for a in sorted(self.agents)},
                            {q: _stats(self.queues[q]) for q in sorted(self.queues)})


def _number(score: str) -> float | None:
    try:
        return float(score)
    except ValueError:
        return None


def _stats(scores: list[float | None]) -> SurveyStats:
    numbers = [s for s in scores if s is not None]
    return SurveyStats(len(scores), sum(numbers) / len(numbers) if numbers else None)
