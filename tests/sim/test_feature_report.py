"""The simulator's report of the PBX features it models: callbacks and transfers by kind, by
the same code as the box's report (`appliance.kpi.compute`, `appliance.kpi.render`)."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from appliance.events import CallbackOffered, CallbackRequested, CallTransferred
from appliance.kpi import KpiSettings, compute_kpis
from appliance.kpi.render import render_report
from sim.experiment import kpi_settings
from sim.world import RunSpec, World
from tests.sim.test_transfer_figures import transfer_site
from tests.sim.traffic.test_callback import HOURS, OFFER, loaded


def shown(report: object) -> str:
    out = StringIO()
    render_report(report, Console(file=out, width=200), title="sim")  # type: ignore[arg-type]
    return out.getvalue()


def test_callbacks_offered_after_20_s_all_miss_a_20_s_service_level() -> None:
    # Hand computation: a callback is offered after 20 s of waiting, so every connected
    # callback waited over 20 s: the callbacks' service level is 0 at a 20 s threshold and
    # 1 at a threshold longer than any wait; every offer and request is counted once.
    records = World(loaded(OFFER, {"accept": 1.0, "answer": 1.0}),
                    RunSpec(hours=HOURS, seed=5)).run().records
    report = compute_kpis(records, KpiSettings(interval=3600.0 * HOURS))
    center, queue = report.center, report.queues["service"]
    offered = {r.call for r in records if isinstance(r, CallbackOffered)}
    requested = {r.call for r in records if isinstance(r, CallbackRequested)}
    assert center.callbacks_offered == queue.callbacks_offered == len(offered) > 50
    assert center.callbacks_requested == queue.callbacks_requested == len(requested)
    assert center.callbacks_connected == queue.callbacks_connected > 0
    assert (center.callbacks_within_sl, center.callback_service_level) == (0, 0.0)
    patient = compute_kpis(records, KpiSettings(interval=3600.0 * HOURS,
                                                default_sl_threshold=10 ** 6)).center
    assert patient.callback_service_level == patient.callbacks_connected / len(requested)
    text = shown(report)
    for said in ("Callbacks offered", "Callbacks requested", "Callbacks connected",
                 "Callback service level", "CB offered"):
        assert said in text, said


def test_simulated_transfers_are_blind_to_a_queue() -> None:
    site = transfer_site(0.25)
    records = World(site, RunSpec(hours=4, seed=11)).run().records
    report = compute_kpis(records, kpi_settings(site, 0.0, 4 * 3600.0))
    center = report.center
    transferred = sum(1 for r in records if isinstance(r, CallTransferred))
    assert center.transferred == center.transferred_to_queue == transferred > 0
    assert (center.transferred_to_agent, center.transferred_attended, center.recalls) == (
        0, 0, 0)
    assert center.transfer_rate_queue == center.transfer_rate
    assert report.resolution is not None
    text = shown(report)
    assert "Transfer rate, to a queue" in text and "First-call resolution" in text
    assert "Transfer rate, attended" not in text  # a kind that did not occur has no row
