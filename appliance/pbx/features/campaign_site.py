"""A site's campaign as its dialer sees it: the dialer's settings, its calling hours on the
site's schedules and calendar, and where an answered call goes. Shared by the live box's
campaign runner (`appliance.pbx.b2bua.campaigns`) and the simulator's
(`sim.traffic.campaign`), so that both dial a campaign alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from appliance.eventlog import EventLog
from appliance.pbx.features.campaign import (
    Contact,
    Dialer,
    DialerSettings,
    Hours,
    Past,
    always_open,
)
from appliance.pbx.routing import Calendar, Kind, Numbers, Opening, Target, opening_at

if TYPE_CHECKING:
    from appliance.config import Campaign, Site
    from appliance.wallclock import WallClock


def dialer_settings(campaign: Campaign) -> DialerSettings:
    return DialerSettings(campaign.ratio, campaign.max_rate, campaign.attempts,
                          campaign.retry_seconds(), campaign.weight)


def calling_hours(site: Site, campaign: Campaign, wallclock: WallClock | None) -> Hours:
    """Whether `campaign` may dial at a core time: its schedule open then (any time without
    one). `wallclock` may be None only for a campaign without hours: call control refuses
    schedules without a clock."""
    if campaign.hours is None:
        return always_open
    assert wallclock is not None
    week = site.schedules[campaign.hours].week
    calendar = Calendar([(h.first, h.last) for h in site.holidays], site.working_days)
    return lambda now: opening_at(week, calendar, wallclock(now)) is Opening.OPEN


def answered_target(campaign: Campaign) -> Target:
    """Where an answered call goes: the campaign's queue, or its IVR flow."""
    if campaign.queue is not None:
        return Target(Kind.QUEUE, campaign.queue)
    return Target(Kind.FLOW, campaign.flow or "")


def new_dialer(site: Site, campaign: Campaign, contacts: Iterable[Contact], log: EventLog,
               wallclock: WallClock | None, past: Mapping[str, Past] | None = None) -> Dialer:
    """The dialer of `campaign` over `contacts` (its list as read), logging to `log`, its
    numbers taken up where earlier runs left them (`past`, by number)."""
    dialer = Dialer(campaign.name, contacts, Numbers(campaign.do_not_call),
                    dialer_settings(campaign), log, calling_hours(site, campaign, wallclock))
    dialer.restore(past or {})
    return dialer


# A number's progress as the records keep it (`appliance.records.campaign.CampaignProgress`):
# campaign, number, attempts, outcome, Unix time, done.
ProgressRow = tuple[str, str, int, str, float, int]


def past_from(rows: Iterable[ProgressRow], origin: float) -> dict[str, dict[str, Past]]:
    """Each campaign's numbers as earlier runs left them, by campaign and number, their
    times on the clock of a run whose t = 0 is the Unix time `origin`."""
    past: dict[str, dict[str, Past]] = {}
    for campaign, number, attempts, outcome, wall, done in rows:
        past.setdefault(campaign, {})[number] = Past(attempts, outcome, wall - origin,
                                                     bool(done))
    return past
