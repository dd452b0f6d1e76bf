"""Routes pinned to the simulated window's calendar, for a box that reads the real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import Site, resolve_site
from appliance.config.loader import load_site
from sim.load.calendar import pinned_routes
from sim.load.world import lab_site_file

SITE = resolve_site("small-ivr")  # office hours, Mon-Fri 08:00-17:00; the day starts 08:00


def _with(**traffic: object) -> Site:
    data = SITE.model_dump(mode="json")
    data["traffic"].update(traffic)
    return type(SITE).model_validate(data)


def test_a_window_in_opening_hours_goes_to_the_route_s_own_destination() -> None:
    assert pinned_routes(SITE, 3600) == [{"trunk_group": "pstn", "flow": "main",
                                          "caller_priority": {}}]


def test_a_window_after_hours_or_on_a_holiday_goes_where_those_send_calls() -> None:
    assert pinned_routes(_with(start="18:00"), 600)[0]["prompt"] == "closed"
    assert pinned_routes(_with(start_date="2026-05-01"), 600)[0]["prompt"] == "holiday"


def test_a_window_across_a_closing_time_cannot_be_pinned() -> None:
    with pytest.raises(ValueError, match="opens or closes between Mon 08:00 and Mon 17:30"):
        pinned_routes(SITE, 9.5 * 3600)


def test_the_lab_site_has_no_schedule_left_on_its_routes(tmp_path: Path) -> None:
    lab = load_site(lab_site_file(SITE, tmp_path, 2))
    assert [(route.schedule, route.target) for route in lab.routes] == [(None, ("flow", "main"))]
