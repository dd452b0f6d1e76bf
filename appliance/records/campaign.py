"""Per-number outcomes of outbound campaigns (`CampaignNumberDone` in the event log): one row
per listed number once it has its final outcome. A pure core like `cdr.py`: records in, rows
out, no clock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from appliance.events import CampaignNumberDone, Record


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


def outcomes_by_campaign(rows: Iterable[CampaignNumberDetail]) -> dict[str, dict[str, int]]:
    """How many numbers of each campaign ended with each outcome, campaigns and outcomes in
    the order first seen; ``attempts`` counts the calls placed."""
    found: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = found.setdefault(row.campaign, {"attempts": 0})
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
        counts["attempts"] += row.attempts
    return found
