"""The park lot's slots and deadlines, driven by inputs alone."""

from __future__ import annotations

import math

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from appliance.pbx.features.park import ParkError, ParkLot


def test_the_lowest_free_slot_is_given_and_freed_by_a_pickup() -> None:
    lot = ParkLot(701, 3, 45.0)
    assert [lot.park(c, "a1", "sales", 0.0).slot for c in (1, 2, 3)] == [701, 702, 703]
    assert lot.park(4, "a1", "sales", 0.0) is None  # full
    assert lot.pick_up(702).call == 2
    assert lot.pick_up(702) is None
    assert lot.park(4, "a2", "", 1.0).slot == 702


def test_a_wait_runs_out_after_the_timeout_in_deadline_order() -> None:
    lot = ParkLot(701, 5, 45.0)
    lot.park(1, "a1", "sales", 10.0)
    lot.park(2, "a2", "sales", 5.0)
    assert lot.next_deadline() == 50.0
    assert lot.on_deadline(49.9) == []
    assert [p.call for p in lot.on_deadline(55.0)] == [2, 1]
    assert lot.next_deadline() is None and len(lot) == 0


def test_a_caller_who_left_frees_the_slot_and_never_times_out() -> None:
    lot = ParkLot(701, 2, 45.0)
    lot.park(1, "a1", "sales", 0.0)
    assert lot.caller_left(1).slot == 701
    assert lot.caller_left(1) is None
    assert lot.next_deadline() is None and lot.on_deadline(100.0) == []


def test_a_call_cannot_be_parked_twice() -> None:
    lot = ParkLot(701, 2, 45.0)
    lot.park(1, "a1", "sales", 0.0)
    with pytest.raises(ParkError):
        lot.park(1, "a1", "sales", 0.0)


class ParkLotMachine(RuleBasedStateMachine):
    """Whatever the order of parks, pickups, hang-ups and timeouts, every parked call leaves
    its slot exactly once, and no slot ever holds two calls."""

    def __init__(self) -> None:
        super().__init__()
        self.lot = ParkLot(701, 3, 45.0)
        self.now = 0.0
        self.next_call = 0
        self.parked: dict[int, int] = {}  # call -> slot, the model's view
        self.ends: dict[int, list[str]] = {}

    @rule(parker=st.sampled_from(["a1", "a2"]))
    def park(self, parker: str) -> None:
        self.next_call += 1
        entry = self.lot.park(self.next_call, parker, "sales", self.now)
        if entry is None:
            assert len(self.parked) == self.lot.size
            return
        assert entry.slot not in self.parked.values()
        self.parked[entry.call] = entry.slot
        self.ends[entry.call] = []

    @rule(offset=st.integers(0, 3))
    def pick_up(self, offset: int) -> None:
        slot = 701 + offset  # 704: outside the lot, never parked in
        entry = self.lot.pick_up(slot)
        expected = next((c for c, s in self.parked.items() if s == slot), None)
        assert (entry and entry.call) == expected
        if entry is not None:
            self._ended(entry.call, "picked_up")

    @precondition(lambda self: self.next_call > 0)
    @rule(data=st.data())
    def caller_left(self, data: st.DataObject) -> None:
        call = data.draw(st.integers(1, self.next_call))
        entry = self.lot.caller_left(call)
        assert (entry is not None) == (call in self.parked)
        if entry is not None:
            self._ended(call, "caller_left")

    @rule(seconds=st.floats(0.0, 60.0))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds
        due = self.lot.next_deadline()
        for entry in self.lot.on_deadline(self.now):
            assert entry.deadline <= self.now and due is not None and entry.deadline >= due
            self._ended(entry.call, "timed_out")

    def _ended(self, call: int, how: str) -> None:
        del self.parked[call]
        self.ends[call].append(how)

    @invariant()
    def slots_match_the_model(self) -> None:
        assert {s: p.call for s in range(701, 704) if (p := self.lot.parked(s))} == {
            s: c for c, s in self.parked.items()}
        deadline = self.lot.next_deadline()
        assert (deadline is None) == (not self.parked)
        assert deadline is None or deadline > self.now  # the ones due have left

    def teardown(self) -> None:
        for entry in self.lot.on_deadline(math.inf):
            self._ended(entry.call, "timed_out")
        assert all(len(ends) == 1 for ends in self.ends.values())


TestParkLot = ParkLotMachine.TestCase
TestParkLot.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
