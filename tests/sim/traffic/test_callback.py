"""Callers who take a queue's callback, at call fidelity: the figures it changes and those it
must not."""

from __future__ import annotations

from typing import Any

import yaml

from appliance.config import Site, parse_site
from appliance.events import AgentRung, CallbackRequested, CallQueued
from appliance.kpi import KpiSettings, compute_kpis
from appliance.kpi.report import CallStats
from sim.world import RunSpec, World
from tests.factories import site_dict

HOURS = 3


def loaded(callback: dict[str, Any] | None, caller: dict[str, Any] | None) -> Site:
    """Two agents offered 2.7 Erlang (80 calls an hour of 120 s): the line only grows."""
    call_type: dict[str, Any] = {
        "name": "general", "trunk_group": "pstn",
        "talk_time": {"dist": "fixed", "value": 120},
        "patience": {"dist": "fixed", "value": 60},
        "retrial": {"after_abandon": 0, "after_busy": 0},
    }
    if caller is not None:
        call_type["callback"] = caller
    data = site_dict(
        agents=2, trunks=200, queue={"callback": callback} if callback else None,
        traffic={"calls_per_hour": 80, "call_types": [call_type]},
        behaviour={"answer_delay": {"dist": "fixed", "value": 2}})
    return parse_site(yaml.safe_dump(data), source="<test>")


def run(site: Site) -> tuple[list, CallStats]:
    records = World(site, RunSpec(hours=HOURS, seed=5)).run().records
    return records, compute_kpis(records, KpiSettings(interval=3600.0 * HOURS)).center


OFFER = {"offer_after": 20, "attempts": 2, "retry_after": 60, "ring_timeout": 30}


def test_every_caller_taking_the_callback_means_no_abandon_and_service_in_order() -> None:
    records, center = run(loaded(OFFER, {"accept": 1.0, "answer": 1.0}))
    plain = run(loaded(None, None))[1]
    # Hand computation: every caller who waits 20 s is offered the callback and takes it,
    # 2 s later, well within their 60 s of patience: none abandons, and each caller who
    # waited is called back. The plain queue loses every caller who would wait over 60 s.
    requests = {r.call for r in records if isinstance(r, CallbackRequested)}
    assert center.callbacks_requested == len(requests) > 50
    assert center.abandoned == 0 < plain.abandoned
    assert center.callback_given_up == 0  # every customer answers within the ring timeout
    # Served in order: agents take calls from the line in the order the calls joined it.
    joined = {r.call: r.t for r in records if isinstance(r, CallQueued)}
    taken: list[int] = []
    for r in records:
        if isinstance(r, AgentRung) and r.call not in taken:
            taken.append(r.call)
    assert [joined[c] for c in taken] == sorted(joined[c] for c in taken)
    # Nothing is lost: each call is answered, abandoned, or still in the line at the end.
    assert center.offered == center.answered + center.abandoned + center.in_system


def test_nobody_accepting_gives_the_plain_queue_s_figures() -> None:
    with_offer = run(loaded(OFFER, {"accept": 0.0}))[1]
    plain = run(loaded(None, None))[1]
    for figure in ("offered", "answered", "abandoned", "service_level", "asa"):
        assert getattr(with_offer, figure) == getattr(plain, figure), figure
    assert with_offer.callbacks_requested == 0


def test_customers_who_never_answer_are_given_up_after_the_attempts_not_abandoned() -> None:
    _, center = run(loaded(OFFER, {"accept": 1.0, "answer": 0.0}))
    assert center.callback_given_up > 20
    assert center.callbacks_connected == 0
    assert center.offered == (center.answered + center.abandoned + center.in_system
                              + center.callback_given_up)
