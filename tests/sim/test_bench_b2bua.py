"""`ccbox bench sip`'s run through the appliance, plain and with a transfer in every call."""

from __future__ import annotations

import pytest

from sim.bench_b2bua import B2buaStep, measure_b2bua


def step(**changes: object) -> B2buaStep:
    figures: dict[str, object] = {"rate": 10, "placed": 100, "successful": 100, "failed": 0,
                                  "achieved_rate": 10.0, "cpu_ms_per_call": 2.0,
                                  "failures": {}, "timed_out": False}
    return B2buaStep(**(figures | changes))  # type: ignore[arg-type]


def test_a_step_passes_with_every_call_through() -> None:
    assert step().passed


def test_a_call_the_appliance_did_not_transfer_fails_the_step() -> None:
    # The caller's side cannot tell: a refused REFER leaves it talking to the first agent.
    assert not step(untransferred=1).passed


def test_a_call_unaccounted_for_fails_the_step() -> None:
    assert not step(successful=99).passed


@pytest.mark.slow
def test_every_call_is_transferred_once_and_ends_well() -> None:
    """SIPp callers -> queue -> SIPp agents that REFER each call to a second queue, whose
    SIPp agents answer: every call succeeds on the caller's side and the appliance's records
    hold one transfer for each."""
    figures = measure_b2bua(rates=(10,), seconds=2.0, agents=20, transfer=True)
    (only,) = figures["steps"]  # type: ignore[misc]
    assert only["placed"] == 20
    assert only["successful"] == 20 and only["untransferred"] == 0
    assert only["passed"], only
    assert figures["sustained"] == 10
