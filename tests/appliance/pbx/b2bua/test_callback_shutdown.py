"""A callback the box is placing when it shuts down (SIGTERM): its legs end, but the call is
neither failed nor ended in call control, so that the next start carries it over with the
attempts the customer really had (the one cut off by the shutdown is not one of them)."""

from __future__ import annotations

from pathlib import Path

from appliance.events import (
    CallbackAnswered,
    CallbackFailed,
    CallbackGivenUp,
    CallEnded,
    OutsideCallEnded,
)
from appliance.records.recovery import close_interrupted_calls
from tests.appliance.pbx.b2bua.test_callback import (
    NUMBER,
    agent_answers,
    booked,
    customer_answers,
)
from tests.appliance.records.test_recovery import store_run


def shut_down(lab) -> None:
    lab.box.shutdown(lab.net.now)
    lab.net.poke(lab.box.local)
    lab.run(2)


def carried_attempts(lab, tmp_path: Path) -> int:
    """What the next start finds of the lab's callback: the attempts it keeps."""
    database = tmp_path / "records.db"
    store_run(database, "before", list(lab.log))
    [callback] = [c.callback for c in close_interrupted_calls(database) if c.callback]
    assert callback.number == NUMBER
    return callback.attempts


def test_the_customer_rung_at_a_shutdown_costs_no_attempt_and_the_agent_gets_a_bye(
        tmp_path: Path) -> None:
    lab, _ = booked()
    phone, ringing, far = agent_answers(lab)
    shut_down(lab)
    assert phone.calls[ringing.id].state == "ended"
    assert lab.gateway.calls[far.id].state == "ended"  # cancelled
    assert [r.cause for r in lab.log if isinstance(r, OutsideCallEnded)] == ["cancelled"]
    assert not [r for r in lab.log if isinstance(r, (CallbackFailed, CallbackGivenUp,
                                                     CallEnded))]
    assert lab.box.is_idle()
    assert carried_attempts(lab, tmp_path) == 0


def test_a_customer_called_first_waiting_for_an_agent_at_a_shutdown_is_carried_over(
        tmp_path: Path) -> None:
    lab, _ = booked("caller_first")
    far, ringing = customer_answers(lab)
    assert [r.call for r in lab.log if isinstance(r, CallbackAnswered)]
    shut_down(lab)
    assert lab.gateway.calls[far.id].state == "ended"  # our BYE
    assert lab.phones["a1"].calls[ringing.id].state == "ended"  # cancelled
    assert not [r for r in lab.log if isinstance(r, CallEnded)]
    assert lab.box.is_idle()
    assert carried_attempts(lab, tmp_path) == 0
