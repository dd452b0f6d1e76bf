"""Per-number outcomes of outbound campaigns (`CampaignNumberDone` in the event log): one row
per listed number once it has its final outcome; and each number's progress so far (its
attempts and last outcome, one row per campaign and number whatever the run), from which a
restarted box takes the campaigns up. A pure core like `cdr.py`: records in, rows out, no
clock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from appliance.events import (
    CampaignAbandoned,
    CampaignAnswered,
    CampaignBusy,
    CampaignDialed,
    CampaignFailed,
    CampaignNoAnswer,
    CampaignNumberDone,
    Record,
)


class CampaignNumberDetail(NamedTuple):
    """A number's final outcome in a campaign: ``connected``, ``do_not_call``, or the last
    attempt's (no_answer, busy, failed, abandoned) once its attempts were used up."""

    campaign: str
    number: str
    outcome: str
    attempts: int
    done_at: float


def campaign_number_row(record: Record) -> CampaignNumberDetail | None:
    """The row `record` closes, if it closes one."""
    if type(record) is not CampaignNumberDone:
        return None
    return CampaignNumberDetail(record.campaign, record.number, record.outcome,  # type: ignore[union-attr]
                                record.attempts, record.t)  # type: ignore[union-attr]


class CampaignProgress(NamedTuple):
    """A number's progress in a campaign: calls placed (``attempts``), the last ``outcome``
    (``dialed`` while a call is up; then ``connected``, ``no_answer``, ``busy``, ``failed``,
    ``abandoned`` or ``do_not_call``), its time ``t`` on its run's clock, and whether that
    outcome is the number's final one (``done``)."""

    campaign: str
    number: str
    attempts: int
    outcome: str
    t: float
    done: int


# The records that move a number on, and the outcome each says.
_STEPS: dict[type, str] = {
    CampaignDialed: "dialed", CampaignAnswered: "connected", CampaignNoAnswer: "no_answer",
    CampaignBusy: "busy", CampaignFailed: "failed", CampaignAbandoned: "abandoned",
}


def campaign_progress_row(record: Record) -> CampaignProgress | None:
    """The progress `record` sets for its number, if it moves one on."""
    kind = type(record)
    if kind is CampaignNumberDone:
        return CampaignProgress(record.campaign, record.number, record.attempts,  # type: ignore[union-attr]
                                record.outcome, record.t, 1)  # type: ignore[union-attr]
    outcome = _STEPS.get(kind)
    if outcome is None:
        return None
    return CampaignProgress(record.campaign, record.number, record.attempt,  # type: ignore[union-attr]
                            outcome, record.t, 0)


def outcomes_by_campaign(rows: Iterable[CampaignNumberDetail]) -> dict[str, dict[str, int]]:
    """How many numbers of each campaign ended with each outcome, campaigns and outcomes in
    the order first seen; ``attempts`` counts the calls placed."""
    found: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = found.setdefault(row.campaign, {"attempts": 0})
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
        counts["attempts"] += row.attempts
    return found
