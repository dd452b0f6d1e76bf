"""Callbacks pending when the box stops: closed ``carried_over`` in their run and put back in
their queue by the next one, ahead of its callers, their attempts kept."""

from __future__ import annotations

from pathlib import Path

from appliance.events import (
    CallbackCarried,
    CallbackGivenUp,
    CallEnded,
    CallQueued,
    EndCause,
)
from appliance.pbx.actions import PlaceCallback, RingAgent
from appliance.records import RecordReader
from appliance.records.recovery import close_interrupted_calls
from tests.appliance.pbx.acd.test_callback import harness, request
from tests.appliance.records.test_recovery import store_run


def stopped_run(tmp_path: Path, attempts: int = 3):
    """A run where two callbacks wait (the first tried once, not reached) and a caller waits
    on the line when the box stops; what the next start finds."""
    h = harness(attempts=attempts, retry_after=5, ring_timeout=30)
    first = request(h, 0.0, "5551000")
    second = request(h, 10.0, "5552000")
    h.cc.offer_call(20.0, "pstn", "5553000")  # on the line: cut off, not carried
    h.cc.agent_ready(30.0, "a1")
    h.cc.agent_answer(31.0, "a1", first)
    h.cc.callback_failed(35.0, first, busy=True)
    h.cc.agent_not_ready(36.0, "a1", "break")
    h.at(60.0)
    database = tmp_path / "records.db"
    store_run(database, "before", list(h.log.records))
    return database, first, second, close_interrupted_calls(database)


def test_pending_callbacks_end_carried_over_and_a_caller_on_the_line_interrupted(
        tmp_path: Path) -> None:
    database, first, second, closed = stopped_run(tmp_path)
    causes = {call.call: call.cause for call in RecordReader(database).calls("before")}
    assert causes == {first: EndCause.CARRIED_OVER, second: EndCause.CARRIED_OVER,
                      second + 1: EndCause.INTERRUPTED}
    carried = [call.callback for call in closed if call.callback is not None]
    assert [(c.call, c.number, c.attempts, c.queue) for c in carried] == [
        (first, "5551000", 1, "service"), (second, "5552000", 0, "service")]
    stop = max(record.t for record in RecordReader(database).events("before"))
    assert [c.waited for c in carried] == [stop, stop - 10.0]  # first queued to the stop
    assert close_interrupted_calls(database) == []


def test_the_next_run_serves_them_first_in_their_order_with_their_attempts(
        tmp_path: Path) -> None:
    _, _, second, closed = stopped_run(tmp_path, attempts=2)
    carried = [(call.callback, call.callback.waited + 100) for call in closed if call.callback]
    h = harness(attempts=2, retry_after=5, ring_timeout=30)
    ids = [h.cc.carry_callback(0.0, pending, waited) for pending, waited in reversed(carried)]
    newcomer = h.cc.offer_call(1.0, "pstn", "5554000")
    assert h.records(CallbackCarried)[0] == CallbackCarried(
        0.0, ids[0], "service", "5552000", 0, carried[1][1], "before", second)
    assert [r.call for r in h.records(CallQueued)] == [*ids, newcomer]
    assert h.cc.trunks.busy["pstn"] == 1  # the newcomer's: the carried seize none
    again, later = ids[1], ids[0]
    h.cc.agent_ready(5.0, "a1")
    assert h.actions()[-1] == RingAgent(again, "a1", "service")  # waited longest
    h.cc.agent_answer(6.0, "a1", again)
    assert h.actions() == [PlaceCallback(again, "5551000", "pstn", "a1")]
    assert h.cc.callback_failed(8.0, again, busy=True)  # its second attempt: the last
    assert h.records(CallbackGivenUp) == [CallbackGivenUp(8.0, again, 2)]
    assert CallEnded(8.0, again, EndCause.CALLBACK_GIVEN_UP) in h.records(CallEnded)
    assert h.actions()[-1] == RingAgent(later, "a1", "service")  # then the other, not the
    assert newcomer in h.cc.calls                                   # newcomer


def test_a_callback_whose_queue_offers_none_now_is_not_carried(tmp_path: Path) -> None:
    _, _, _, closed = stopped_run(tmp_path)
    pending = next(call.callback for call in closed if call.callback is not None)
    h = harness()
    h.cc.acd.queues["service"].config.__dict__["callback"] = None
    assert h.cc.carry_callback(0.0, pending, 10.0) is None
    assert not h.records(CallbackCarried) and not h.cc.calls


def test_an_attempt_cut_off_by_a_crash_is_not_counted(tmp_path: Path) -> None:
    """Killed while the customer's phone rang for the last attempt: not given up, carried
    with the attempts that failed; the one cut off is made again."""
    h = harness(attempts=2, retry_after=5, ring_timeout=30)
    call = request(h, 0.0, "5551000")
    h.cc.agent_ready(30.0, "a1")
    h.cc.agent_answer(31.0, "a1", call)
    h.cc.callback_failed(35.0, call, busy=True)
    h.at(41.0)
    h.cc.agent_answer(42.0, "a1", call)
    assert h.actions()[-1] == PlaceCallback(call, "5551000", "pstn", "a1")  # the last, ringing
    database = tmp_path / "records.db"
    store_run(database, "before", list(h.log.records))
    [closed] = close_interrupted_calls(database)
    assert closed.callback is not None and closed.callback.attempts == 1
    assert [c.cause for c in RecordReader(database).calls("before")] == [
        EndCause.CARRIED_OVER]
