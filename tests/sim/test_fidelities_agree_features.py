"""Call fidelity and SIP fidelity (0 % loss) agree on the features SIP carries through the
box's gateways too: a queue's callbacks (agent first and caller first) and an outbound
campaign, within their 95 % confidence intervals, on small sites of their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from appliance.config import Site, parse_site
from appliance.kpi import KpiReport, KpiSettings, compute_kpis
from appliance.kpi.replications import ReplicationSummary, summarize
from appliance.pbx.b2bua import B2bua
from sim.sipfidelity import SipRunSpec, SipWorld
from sim.world import RunSpec, World
from tests.factories import site_dict

REPLICATIONS = 4
SHARED = ("center.answer_rate", "center.abandon_rate", "center.service_level")
CALLBACK_FIGURES = (*SHARED, "center.callbacks_requested", "center.callbacks_connected",
                    "center.callback_service_level")
OUTCOMES = ("connected", "busy", "no_answer", "abandoned")


def replications(site: Site, hours: float, fidelity: str) -> ReplicationSummary:
    reports: list[KpiReport] = []
    for replication in range(REPLICATIONS):
        world = (World(site, RunSpec(hours, 3, replication)) if fidelity == "call" else
                 SipWorld(site, SipRunSpec(hours, 3, replication=replication)))
        reports.append(compute_kpis(world.run().records, KpiSettings(interval=3600.0 * hours)))
    return summarize(reports)


def assert_agree(site: Site, hours: float, figures: tuple[str, ...]) -> None:
    call, sip = replications(site, hours, "call"), replications(site, hours, "sip")
    for key in figures:
        a, b = call[key], sip[key]
        assert a.n == b.n == REPLICATIONS, key
        assert abs(a.mean - b.mean) <= a.half_width + b.half_width, (key, a, b)


def callback_site(mode: str) -> Site:
    """Two agents offered 2.7 Erlang: most callers wait long enough to be offered a callback,
    some take it, most of those answer the call back."""
    call_type: dict[str, Any] = {
        "name": "general", "trunk_group": "pstn",
        "talk_time": {"dist": "exponential", "mean": 120},
        "patience": {"dist": "exponential", "mean": 90},
        "retrial": {"after_abandon": 0, "after_busy": 0},
        "callback": {"accept": 0.6, "answer": 0.8,
                     "ring_delay": {"dist": "uniform", "low": 3, "high": 12}},
    }
    data = site_dict(
        agents=2, trunks=60,
        queue={"callback": {"offer_after": 30, "mode": mode, "attempts": 2,
                            "retry_after": 60, "ring_timeout": 20}},
        traffic={"calls_per_hour": 80, "call_types": [call_type]},
        behaviour={"answer_delay": {"dist": "uniform", "low": 1, "high": 4}})
    return parse_site(yaml.safe_dump(data), source="<test>")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["agent_first", "caller_first"])
def test_callbacks_agree_in_call_and_sip_fidelity(mode: str) -> None:
    assert_agree(callback_site(mode), 3.0, CALLBACK_FIGURES)


def campaign_site(folder: Path) -> Site:
    """Four agents with light inbound traffic, and a campaign dialing 300 numbers to them."""
    folder.joinpath("list.csv").write_text(
        "number\n" + "".join(f"0301{i:06d}\n" for i in range(300)), encoding="utf-8")
    data = site_dict(agents=4, trunks=30, wrap_up=5, traffic={
        "calls_per_hour": 30,
        "call_types": [{"name": "general", "trunk_group": "pstn",
                        "talk_time": {"dist": "exponential", "mean": 90},
                        "patience": {"dist": "exponential", "mean": 60}}]})
    data["trunk_groups"][0]["outbound"] = {"gateway": "192.0.2.9:5060", "ring_timeout": 25}
    data["campaigns"] = [{
        "name": "reminder", "list": str(folder / "list.csv"), "trunk_group": "pstn",
        "queue": "service", "ratio": 2.0, "attempts": 2, "retry": {"busy": 300},
        "model": {"answer_probability": 0.4, "busy_probability": 0.15,
                  "ring_time": {"dist": "uniform", "low": 3, "high": 12},
                  "talk_time": {"dist": "exponential", "mean": 60}}}]
    return parse_site(yaml.safe_dump(data), source="<test>")


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(B2bua, "run_campaigns"), reason="the box dials no campaigns")
def test_a_campaign_agrees_in_call_and_sip_fidelity(tmp_path: Path) -> None:
    outcomes = tuple(f"campaign.reminder.outcome.{o}" for o in OUTCOMES)
    assert_agree(campaign_site(tmp_path), 2.0, (*SHARED, *outcomes))
