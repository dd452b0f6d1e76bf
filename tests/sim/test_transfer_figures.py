"""Transfers in the simulation change the figures as a hand computation says.

A front queue whose agents hand a share P of their calls to a back queue, with agents enough
that nobody waits: the transfer rate is P (within its 95 % interval), the back queue is
offered exactly the calls transferred, each transferred call is handled twice (calls
handled = answered x (1 + P)), and the agents' talk time is the calls' talks added up:
offered calls x (1 + P) x the mean talk, within its interval. Without transfers the same
traffic gives a transfer rate of 0 and one handling a call.
"""

from __future__ import annotations

import math

import yaml

from appliance.config import Site, parse_site
from appliance.eventlog import EventLog
from appliance.events import CallTransferred
from appliance.kpi.compute import compute_kpis
from appliance.kpi.report import KpiReport
from sim.experiment import kpi_settings
from sim.world import RunSpec, World
from tests.factories import site_dict

P = 0.25
TALK = 60.0  # exponential: its sd is its mean
HOURS = 40.0


def transfer_site(probability: float) -> Site:
    call_type = {"name": "general", "trunk_group": "pstn",
                 "talk_time": {"dist": "exponential", "mean": TALK},
                 "patience": {"dist": "fixed", "value": 3600}}
    if probability:
        call_type["transfer"] = {"probability": probability, "target": "back"}
    data = site_dict(agents=20, trunks=60, extra_queues=[{"name": "back"}],
                     behaviour={"answer_delay": {"dist": "fixed", "value": 0}},
                     traffic={"calls_per_hour": 120, "call_types": [call_type]})
    return parse_site(yaml.safe_dump(data), source="<test>")


def figures(probability: float) -> tuple[KpiReport, EventLog]:
    site = transfer_site(probability)
    log = World(site, RunSpec(hours=HOURS, seed=11)).run()
    return compute_kpis(log.records, kpi_settings(site, 0.0, HOURS * 3600.0)), log


def within(value: float, expected: float, sd: float, n: int) -> bool:
    return abs(value - expected) <= 1.96 * sd / math.sqrt(n)


def test_the_transfer_rate_and_the_second_queues_calls_are_the_configured_share() -> None:
    report, log = figures(P)
    center = report.center
    assert center.answered > 3000 and center.waited == 0  # nobody waits: agents enough
    assert within(center.transfer_rate, P, math.sqrt(P * (1 - P)), center.answered)
    transferred = sum(1 for r in log if isinstance(r, CallTransferred))
    assert center.transferred == transferred
    back = report.queues["back"]
    assert back.entered_queue == transferred == report.queues["service"].transferred
    assert back.answered == transferred  # no one abandons a queue without a wait


def test_a_transferred_call_is_handled_twice_and_talks_twice() -> None:
    report, _ = figures(P)
    answered = report.center.answered
    agents = report.center_agents
    handled = answered + report.center.transferred
    assert agents.calls_handled == handled
    assert within(agents.talk_time / handled, TALK, TALK, handled)
    assert within(agents.calls_handled / answered, 1 + P, math.sqrt(P * (1 - P)), answered)


def test_without_transfers_each_call_is_handled_once() -> None:
    report, log = figures(0.0)
    assert report.center.transfer_rate == 0.0
    assert not any(isinstance(r, CallTransferred) for r in log)
    assert report.center_agents.calls_handled == report.center.answered
