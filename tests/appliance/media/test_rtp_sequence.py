"""Sequence and timestamp arithmetic and the RFC 3550 A.1/A.8 reception statistics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from appliance.media.rtp import (
    MAX_DROPOUT,
    MAX_MISORDER,
    SEQ_MOD,
    SequenceTracker,
    seq_diff,
    ts_diff,
)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(1, 0, 1), (0, 1, -1), (0, 65535, 1), (65535, 0, -1), (100, 65500, 136),
     (32767, 0, 32767), (32768, 0, -32768), (5, 5, 0)],
)
def test_seq_diff_wraps(a: int, b: int, expected: int) -> None:
    assert seq_diff(a, b) == expected


def test_ts_diff_wraps() -> None:
    assert ts_diff(80, (1 << 32) - 80) == 160
    assert ts_diff((1 << 32) - 80, 80) == -160
    assert ts_diff(1 << 31, 0) == -(1 << 31)


@given(st.integers(0, 0xFFFF), st.integers(-32768, 32767))
def test_seq_diff_inverts_modular_addition(b: int, delta: int) -> None:
    assert seq_diff((b + delta) % SEQ_MOD, b) == delta


@given(st.integers(0, (1 << 32) - 1), st.integers(-(1 << 31), (1 << 31) - 1))
def test_ts_diff_inverts_modular_addition(b: int, delta: int) -> None:
    assert ts_diff((b + delta) % (1 << 32), b) == delta


def feed(tracker: SequenceTracker, sequences: list[int], step: float = 0.02) -> list[bool]:
    return [tracker.update(seq, 160 * i, i * step) for i, seq in enumerate(sequences)]


def test_probation_needs_two_packets_in_sequence() -> None:
    tracker = SequenceTracker(8000)
    assert feed(tracker, [10, 20, 21, 22]) == [False, False, True, True]
    assert tracker.base_seq == 21 and tracker.extended_highest == 22
    assert (tracker.expected, tracker.received, tracker.lost) == (2, 2, 0)


def test_wrap_counts_a_cycle() -> None:
    tracker = SequenceTracker(8000)
    feed(tracker, [65533, 65534, 65535, 0, 2])
    assert tracker.cycles == SEQ_MOD
    assert tracker.extended_highest == SEQ_MOD + 2
    assert (tracker.expected, tracker.received, tracker.lost) == (5, 4, 1)


def test_duplicates_count_as_received_and_make_loss_negative() -> None:
    tracker = SequenceTracker(8000)
    feed(tracker, [1, 2, 3, 3, 3])
    assert (tracker.expected, tracker.received, tracker.lost) == (2, 4, -2)


def test_a_big_jump_is_ignored_until_confirmed_by_its_successor() -> None:
    tracker = SequenceTracker(8000)
    feed(tracker, [100, 101, 102])
    assert tracker.update(40000, 0, 1.0) is False
    assert tracker.extended_highest == 102
    assert tracker.update(40001, 160, 1.02) is True  # the source restarted
    assert (tracker.base_seq, tracker.extended_highest, tracker.received) == (40001, 40001, 1)


def test_constant_transit_gives_zero_jitter() -> None:
    tracker = SequenceTracker(8000)
    feed(tracker, list(range(50)))
    assert tracker.jitter == pytest.approx(0.0, abs=1e-6)


def test_jitter_follows_rfc_3550_a8() -> None:
    tracker = SequenceTracker(8000)
    tracker.update(0, 0, 0.0)
    tracker.update(1, 160, 0.020)
    tracker.update(2, 320, 0.050)  # 10 ms late: D = 80 units
    assert tracker.jitter == pytest.approx(80 / 16)
    tracker.update(3, 480, 0.060)  # back on time: D = -80
    assert tracker.jitter == pytest.approx(80 / 16 + (80 - 80 / 16) / 16)


def test_jitter_survives_timestamp_wrap() -> None:
    tracker = SequenceTracker(8000)
    top = (1 << 32) - 160
    for i in range(4):
        tracker.update(i, (top + 160 * i) % (1 << 32), 0.02 * i)
    assert tracker.jitter == pytest.approx(0.0, abs=1e-6)


def test_close_interval_reports_fraction_lost() -> None:
    tracker = SequenceTracker(8000)
    feed(tracker, [0, 1, 2, 4, 5, 8])  # base 1: expected 8, received 5 of 1..8
    assert tracker.close_interval() == ((3 << 8) // 8, 3)
    feed(tracker, [9, 10])
    assert tracker.close_interval() == (0, 3)


class TrackerAgainstModel(RuleBasedStateMachine):
    """A sender numbers packets 0, 1, 2 ... (index); the network loses, reorders and duplicates
    them. The model predicts, from indexes alone, what A.1 counts."""

    def __init__(self) -> None:
        super().__init__()
        self.tracker = SequenceTracker(8000)
        self.now = 0.0
        self.next_index = 0
        self.sent: list[int] = []

    def seq(self, index: int) -> int:
        return (self.start + index) % SEQ_MOD

    @initialize(start=st.integers(0, 0xFFFF) | st.integers(65400, 0xFFFF),
                ts0=st.integers(0, (1 << 32) - 1))
    def begin(self, start: int, ts0: int) -> None:
        self.start, self.ts0 = start, ts0
        assert self.tracker.update(self.seq(0), ts0, 0.0) is False
        self.sent.append(0)
        self.base_index, self.base_seq = 1, self.seq(1)
        self.max_index, self.received, self.bad_seq = 1, 1, SEQ_MOD + 1
        assert self.send(1) is True
        self.next_index = 2

    def send(self, index: int) -> bool:
        self.now += 0.02
        return self.tracker.update(self.seq(index), (self.ts0 + 160 * index) % (1 << 32), self.now)

    def model_deliver(self, index: int) -> bool:
        delta = index - self.max_index
        if -MAX_MISORDER < delta < MAX_DROPOUT:
            self.max_index = max(self.max_index, index)
            self.received += 1
            return True
        if self.seq(index) != self.bad_seq:
            self.bad_seq = (self.seq(index) + 1) % SEQ_MOD
            return False
        self.base_index, self.base_seq = index, self.seq(index)
        self.max_index, self.received, self.bad_seq = index, 1, SEQ_MOD + 1
        return True

    def deliver(self, index: int) -> None:
        expected = self.model_deliver(index)
        assert self.send(index) is expected

    @rule(skip=st.integers(0, 60))
    def advance(self, skip: int) -> None:
        """The next packet after `skip` losses (which may still turn up later)."""
        self.sent.extend(range(self.next_index, self.next_index + skip + 1))
        self.next_index += skip + 1
        self.deliver(self.next_index - 1)
        del self.sent[:-1000]

    @rule(data=st.data())
    def deliver_old(self, data: st.DataObject) -> None:
        """A copy of any recently sent packet: a duplicate, a late one, or a stale one."""
        self.deliver(data.draw(st.sampled_from(self.sent)))

    @rule(behind=st.integers(MAX_MISORDER, 900))
    def stale_pair(self, behind: int) -> None:
        """Two old packets in a row: RFC 3550 takes them for a restarted source."""
        index = self.max_index - behind
        if index >= 0:
            self.deliver(index)
            self.deliver(index + 1)

    @invariant()
    def counts_match(self) -> None:
        expected = self.max_index - self.base_index + 1
        assert self.tracker.extended_highest == self.base_seq + self.max_index - self.base_index
        assert self.tracker.expected == expected
        assert self.tracker.received == self.received
        assert self.tracker.lost == expected - self.received
        assert self.tracker.jitter >= 0


TestTrackerAgainstModel = TrackerAgainstModel.TestCase
TestTrackerAgainstModel.settings = settings(max_examples=200, stateful_step_count=60)
