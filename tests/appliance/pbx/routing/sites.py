"""Small sites for routing tests: two groups (SIP with called numbers, analog without), three
queues, a duty agent; keyword arguments add the routing parts a test cares about."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from appliance.config import Site, load_site, parse_site
from appliance.wallclock import WallClock, from_origin

TENANTS = Path(__file__).parents[3] / "data" / "sites" / "tenants.yaml"

MONDAY = datetime(2026, 9, 28)  # a Monday, midnight; the week before China's National Day


def site_data(routes: list[dict[str, Any]], **parts: Any) -> dict[str, Any]:
    return {
        "site": "routing",
        "trunk_groups": [{"name": "carrier", "kind": "sip", "channels": 8},
                         {"name": "lines", "kind": "analog", "channels": 4}],
        "queues": [{"name": "sales"}, {"name": "service"}, {"name": "night"}],
        "agents": [{"id": "1001-1002", "skills": {"sales": 5, "service": 5}},
                   {"id": "9001", "skills": {"night": 5}}],
        "routes": routes,
        **parts,
    }


def build(routes: list[dict[str, Any]], **parts: Any) -> Site:
    return parse_site(yaml.safe_dump(site_data(routes, **parts)), source="<test>")


def tenants() -> Site:
    return load_site(TENANTS)


def clock(origin: datetime = MONDAY) -> WallClock:
    """Core time 0 is `origin`."""
    return from_origin(origin)


def at(when: datetime, origin: datetime = MONDAY) -> float:
    """The core time of the local time `when`, on `clock(origin)`."""
    return (when - origin).total_seconds()
