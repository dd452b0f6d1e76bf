"""Call fidelity and SIP fidelity (0 % loss) run the same callers and agents, so they must
agree on the figures that size a site: service level, ASA and abandon rate, within their
95 % confidence intervals, for each reference site."""

from __future__ import annotations

import pytest

from appliance.config import resolve_site
from appliance.kpi import KpiReport, compute_kpis
from appliance.kpi.replications import ReplicationSummary, summarize
from sim.experiment import kpi_settings
from sim.sipfidelity import SipRunSpec, SipWorld
from sim.world import RunSpec, World

HOURS = 2.0  # the first two hours of the site's day
REPLICATIONS = 4
FIGURES = ("center.service_level", "center.asa", "center.abandon_rate")


def replications(site_name: str, fidelity: str) -> ReplicationSummary:
    site = resolve_site(site_name)
    reports: list[KpiReport] = []
    for replication in range(REPLICATIONS):
        world = (World(site, RunSpec(HOURS, 1, replication)) if fidelity == "call" else
                 SipWorld(site, SipRunSpec(HOURS, 1, replication=replication)))
        log = world.run()
        reports.append(compute_kpis(log.records, kpi_settings(site, 0.0, world.length)))
    return summarize(reports)


@pytest.mark.slow
@pytest.mark.parametrize("site_name", ["small", "medium", "digital"])
def test_call_and_sip_fidelity_agree_within_their_confidence_intervals(site_name: str) -> None:
    call, sip = replications(site_name, "call"), replications(site_name, "sip")
    assert sip["center.offered"].mean > 0.9 * call["center.offered"].mean
    for key in FIGURES:
        a, b = call[key], sip[key]
        assert a.n == b.n == REPLICATIONS, key
        assert abs(a.mean - b.mean) <= a.half_width + b.half_width, (key, a, b)
