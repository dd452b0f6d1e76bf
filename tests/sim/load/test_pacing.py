"""The load's RTP grid: ticks from the origin, each stream's packets owed, caught up, skipped."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sim.load.pacing import BURST, PTIME, SAMPLES, Cadence, Grid


def test_ticks_are_counted_from_the_origin_whenever_the_sender_wakes() -> None:
    grid = Grid(100.0)
    assert [grid.tick(100.0 + t) for t in (-0.001, 0.0, 0.0199, 0.02, 0.04, 1.0)] == \
        [-1, 0, 0, 1, 2, 50]
    assert grid.deadline(100.005) == 100.0 + PTIME
    assert grid.deadline(100.0 + 57 * PTIME + 0.013) == 100.0 + 58 * PTIME  # late: no drift


def test_a_hair_before_a_deadline_is_its_tick() -> None:
    grid = Grid(7.3)
    assert grid.tick(grid.deadline(7.31) - 1e-9) == 1


def test_on_time_each_tick_sends_its_own_packet() -> None:
    cadence = Cadence(first=10)
    sent = [list(cadence.due(tick)) for tick in (9, 10, 11, 11, 12)]
    assert sent == [[], [10], [11], [], [12]]
    assert (cadence.late, cadence.skipped) == (0, 0)


def test_late_packets_go_at_once_up_to_a_burst_and_older_ones_are_skipped() -> None:
    cadence = Cadence(first=0)
    assert list(cadence.due(0)) == [0]
    assert list(cadence.due(3)) == [1, 2, 3]  # 40 ms late: caught up
    assert (cadence.late, cadence.skipped) == (2, 0)
    assert list(cadence.due(3 + 4 + BURST)) == list(range(3 + 4 + 1, 3 + 4 + BURST + 1))
    assert (cadence.late, cadence.skipped) == (2 + BURST - 1, 4)


def test_sequence_numbers_count_packets_and_timestamps_count_ticks() -> None:
    cadence = Cadence(first=40)
    stamps = [cadence.stamp(tick) for tick in (40, 41, 45, 46)]  # 42-44 skipped
    assert stamps == [(0, 0), (1, SAMPLES), (2, 5 * SAMPLES), (3, 6 * SAMPLES)]


def test_sequence_numbers_and_timestamps_wrap() -> None:
    cadence = Cadence(first=0)
    cadence.seq = 0xFFFF
    wraps = 2**32 * 5 // SAMPLES  # 160 = 5 x 32: this tick's timestamp is 2**32 x 5
    assert cadence.stamp(wraps) == (0xFFFF, 0)
    assert cadence.stamp(wraps + 1) == (0, SAMPLES)


@given(first=st.integers(0, 1000), steps=st.lists(st.integers(0, 3 * BURST), max_size=60))
def test_every_tick_owed_is_sent_once_or_skipped_and_bursts_are_bounded(
        first: int, steps: list[int]) -> None:
    cadence = Cadence(first)
    tick, sent = first - 1, []
    for step in steps:
        tick += step
        due = list(cadence.due(tick))
        assert len(due) <= BURST and all(t <= tick for t in due)
        sent += due
    assert sent == sorted(set(sent))
    assert len(sent) + cadence.skipped == max(0, tick - first + 1)
    if all(step <= BURST for step in steps):
        assert cadence.skipped == 0
