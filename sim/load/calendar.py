"""The site's calendar as the simulation sees it, pinned into the lab site.

The box reads schedules and holidays at the real local time, the simulation at the site's
own day (`traffic.start` on `start_date`); a load run at night would find a daytime site
closed. A live load is short and the calendar is not compressed, so each route with a
schedule is judged once for the simulated window and written without it: the destination
of the opening it has throughout (open, after hours, holiday), or left out if it has none
then (the next route takes the call, as on the box). A window in which a route opens or
closes cannot be pinned: ValueError.
"""

from __future__ import annotations

from typing import Any

from appliance.config import Site
from appliance.config.routing import DESTINATIONS
from appliance.pbx.routing.schedule import Calendar, Opening, opening_at
from sim.world import site_wallclock

STEP = 60.0  # seconds between looks at a route's opening (no schedule keeps shorter spans)
_FIELD = {Opening.OPEN: None, Opening.CLOSED: "after_hours", Opening.HOLIDAY: "holiday"}


def pinned_routes(site: Site, seconds: float) -> list[dict[str, Any]]:
    """`site`'s routes (as data) for a run of `seconds` from the traffic's start, with no
    schedule: each scheduled one sends calls where it would throughout the window."""
    calendar = Calendar(((h.first, h.last) for h in site.holidays), site.working_days)
    routes = []
    for index, route in enumerate(site.routes):
        data = route.model_dump(mode="json", exclude_none=True)
        if route.schedule is not None:
            opening = _opening(site, calendar, route.schedule, seconds, index)
            data = _destination_for(data, opening)
        if data is not None:
            routes.append(data)
    return routes


def _opening(site: Site, calendar: Calendar, schedule: str, seconds: float,
             index: int) -> Opening:
    """The one opening of `schedule` over the window; ValueError if it changes."""
    week = site.schedules[schedule].week
    clock = site_wallclock(site)
    looks = [clock(t) for t in _times(seconds)]
    openings = {opening_at(week, calendar, when) for when in looks}
    if len(openings) > 1:
        raise ValueError(
            f"route {index + 1}'s schedule {schedule!r} opens or closes between "
            f"{looks[0]:%a %H:%M} and {looks[-1]:%a %H:%M}: the calendar is not compressed, "
            f"so load a window inside one opening (fewer --minutes)")
    return openings.pop()


def _times(seconds: float) -> list[float]:
    count = int(seconds // STEP)
    return [step * STEP for step in range(count + 1)] + [seconds]


def _destination_for(route: dict[str, Any], opening: Opening) -> dict[str, Any] | None:
    """The route sending every call where `opening` does; None if it has nowhere then."""
    field = _FIELD[opening]
    conditions = {key: value for key, value in route.items()
                  if key not in ("schedule", "after_hours", "holiday")}
    if field is None:
        return conditions
    other = route.get(field) or (route.get("after_hours") if field == "holiday" else None)
    if other is None:
        return None
    kept = {key: value for key, value in conditions.items() if key not in DESTINATIONS}
    return {**kept, **other}

