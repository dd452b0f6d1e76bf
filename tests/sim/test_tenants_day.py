"""A day and a night of the two-tenant site in simulation (call fidelity): the calls routing
sends away after hours and on a holiday get figures of their own."""

from __future__ import annotations

from pathlib import Path

import yaml
from rich.console import Console

from appliance.config import Site, parse_site
from appliance.kpi import CENTER_ENDS, KpiReport, compute_kpis, render_report
from sim.experiment import kpi_settings
from sim.world import RunSpec, World

TENANTS = Path(__file__).parents[1] / "data" / "sites" / "tenants.yaml"
HOURS = 24
TALK = {"dist": "exponential", "mean": 120}


def tenants_with_traffic() -> Site:
    """The tenants' site, called on each of its three kinds of number for 24 hours from
    Wednesday 2026-09-30 08:00: open hours, the evening after hours, then from midnight
    National Day (a holiday)."""
    data = yaml.safe_load(TENANTS.read_text())
    data["traffic"] = {
        "start_date": "2026-09-30",
        "calls_per_hour": 12,
        "call_types": [
            {"name": kind, "trunk_group": "carrier", "dnis": dnis, "talk_time": TALK}
            for kind, dnis in (("sales", "4008001000"), ("care", "4008001001"),
                               ("clinic", "4008002001"))
        ],
    }
    return parse_site(yaml.safe_dump(data), source=str(TENANTS))


def simulated_day() -> KpiReport:
    site = tenants_with_traffic()
    records = World(site, RunSpec(hours=HOURS, seed=1)).run().records
    return compute_kpis(records, kpi_settings(site, 0.0, HOURS * 3600.0))


def closed_in(report: KpiReport, labels: tuple[str, ...]) -> int:
    """The closed calls of the intervals whose labels start with one of ``labels``."""
    return sum(i.calls.closed for i in report.intervals if i.label.startswith(labels))


def test_the_travel_sales_number_is_closed_after_hours_and_on_the_holiday() -> None:
    report = simulated_day()
    center = report.center
    assert center.closed > 0 and center.blacklisted == 0 and center.no_route == 0
    assert center.offered == sum(getattr(center, end) for end in CENTER_ENDS)
    assert center.blocked == 0  # 30 SIP channels are plenty: closed is not blocked
    open_hours = tuple(f"{h:02d}:" for h in (9, 10, 11, 13, 14, 15, 16, 17))
    assert closed_in(report, open_hours) == 0
    assert closed_in(report, ("18:", "19:", "20:", "21:", "22:", "23:")) > 0  # after hours
    assert closed_in(report, ("d2 ",)) > 0  # National Day, from midnight
    assert sum(i.calls.closed for i in report.intervals) == center.closed


def test_the_report_of_the_day_has_a_closed_row() -> None:
    console = Console(record=True, width=150)
    render_report(simulated_day(), console, title="tenants")
    text = console.export_text()
    row = next(line for line in text.splitlines() if line.startswith("│ Closed"))
    assert row.split("│")[2].strip() != "0"
    assert "│ Blacklisted" not in text
