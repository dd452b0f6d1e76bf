"""A callback carried over a restart in the figures: its earlier wait counts in the
callbacks' service level of the run that connects it, and the run it was carried out of
says so in its detail record."""

from __future__ import annotations

from appliance.events import (
    AgentRung,
    CallAnswered,
    CallbackCarried,
    CallbackPlaced,
    CallbackRequested,
    CallEnded,
    CallOffered,
    CallQueued,
    EndCause,
)
from appliance.kpi import KpiSettings, compute_kpis
from appliance.records import call_details


def carried(waited: float) -> list:
    """The next run: the callback, carried having waited `waited` s, connected 8 s in."""
    return [CallOffered(0, 1, "pstn", "0301", "100", 1),
            CallbackCarried(0, 1, "sales", "0301", 1, waited, "before", 3),
            CallQueued(0, 1, "sales", 0, 1), AgentRung(2, 1, "sales", "a1"),
            CallbackPlaced(3, 1, "0301", 2, "a1"), CallAnswered(8, 1, "sales", "a1", 8.0),
            CallEnded(60, 1, EndCause.CALLER_HANGUP)]


def test_a_carried_callback_connects_within_the_threshold_only_with_its_earlier_wait() -> None:
    late = compute_kpis(carried(100.0), KpiSettings(default_sl_threshold=20))
    soon = compute_kpis(carried(5.0), KpiSettings(default_sl_threshold=20))
    for report, within in ((late, 0), (soon, 1)):
        for tally in (report.center, report.queues["sales"]):
            assert (tally.callbacks_requested, tally.callbacks_connected,
                    tally.callbacks_within_sl) == (0, 1, within)
    [detail] = call_details(carried(100.0))
    assert (detail.callback_number, detail.callback_attempts, detail.callback_outcome) == (
        "0301", 2, "connected")


def test_the_run_it_was_carried_out_of_ends_it_carried_over() -> None:
    records = [CallOffered(0, 3, "pstn", "0301", "100", 1), CallQueued(0, 3, "sales", 0, 1),
               CallbackRequested(5, 3, "sales", "0301"),
               CallEnded(90, 3, EndCause.CARRIED_OVER)]
    [detail] = call_details(records)
    assert (detail.cause, detail.callback_outcome) == ("carried_over", "carried_over")
    center = compute_kpis(records, KpiSettings()).center
    assert (center.offered, center.in_system, center.callbacks_requested) == (1, 1, 1)
