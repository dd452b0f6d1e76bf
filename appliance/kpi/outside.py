"""The outside calls of a report's window: how many the phones placed, how they turned out
and how long the answered ones talked (`OutsideCallDetail` rows of the calls that ended in
the window). Apart from the queue figures, which outside calls leave as they were."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from rich.table import Table

from appliance.events import Record
from appliance.records.outside import outside_call_details


@dataclass(frozen=True)
class OutsideSummary:
    """Outside calls ended in a window: counted by outcome (`OutsideCallDetail.outcome`)."""

    placed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    talk: float = 0.0  # seconds, the answered calls together

    @property
    def avg_talk(self) -> float | None:
        answered = self.outcomes.get("answered", 0)
        return self.talk / answered if answered else None

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "avg_talk": self.avg_talk}


def outside_summary(records: Iterable[Record], start: float = 0.0,
                    end: float = float("inf")) -> OutsideSummary:
    """The outside calls of `records` that ended in [start, end)."""
    rows = [row for row in outside_call_details(records) if start <= row.ended_at < end]
    outcomes = Counter(row.outcome for row in rows)
    return OutsideSummary(len(rows), dict(outcomes.most_common()), sum(r.talk for r in rows))


def outside_table(summary: OutsideSummary) -> Table:
    """The summary as a table of outcomes (the commonest first), with the answered calls'
    average talk."""
    table = Table(title=f"Outside calls ({summary.placed})")
    table.add_column("outcome")
    table.add_column("calls", justify="right")
    for outcome, calls in summary.outcomes.items():
        table.add_row(outcome, str(calls))
    average = summary.avg_talk
    if average is not None:
        table.add_row("average talk", f"{average:.0f} s")
    return table
