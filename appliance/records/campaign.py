"""Per-number outcomes of outbound campaigns (`CampaignNumberDone` in the event log): one row
per listed number once it has its final outcome. A pure core like `cdr.py`: records in, rows
out, no clock."""

from __future__ import annotations

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
