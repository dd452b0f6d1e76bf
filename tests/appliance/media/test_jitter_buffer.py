"""The fixed-delay jitter buffer: ordering, late and duplicate packets, gaps, wrap-around."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from appliance.media.rtp import SEQ_MOD, JitterBuffer, Loss, RtpPacket

FRAME = 160  # 20 ms at 8 kHz


def packet(sequence: int, start_seq: int = 0, ts0: int = 0) -> RtpPacket:
    index = (sequence - start_seq) % SEQ_MOD
    return RtpPacket(0, sequence, (ts0 + FRAME * index) % (1 << 32), 0x1234, b"\xff" * 4)


def sequences(out: list[RtpPacket | Loss]) -> list[int | Loss]:
    return [item if isinstance(item, Loss) else item.sequence for item in out]


def test_packets_wait_for_their_playout_time() -> None:
    buffer = JitterBuffer(8000, depth=0.06)
    buffer.push(packet(0), now=1.0)
    assert buffer.next_deadline() == 1.06
    assert buffer.pop_due(1.059) == []
    assert sequences(buffer.pop_due(1.06)) == [0]
    assert buffer.next_deadline() is None


def test_reordered_packets_come_out_in_order() -> None:
    buffer = JitterBuffer(8000, depth=0.06)
    for seq, now in [(0, 0.0), (2, 0.04), (1, 0.05), (3, 0.06)]:
        buffer.push(packet(seq), now)
    assert sequences(buffer.pop_due(0.2)) == [0, 1, 2, 3]
    assert buffer.played == 4 and buffer.lost == 0


def test_a_gap_is_reported_before_the_packet_that_ends_it() -> None:
    buffer = JitterBuffer(8000, depth=0.04)
    for seq in (0, 3):
        buffer.push(packet(seq), now=0.0)
    assert sequences(buffer.pop_due(1.0)) == [0, Loss(1, 2), 3]
    assert buffer.lost == 2


def test_late_and_duplicate_packets_are_counted_and_dropped() -> None:
    buffer = JitterBuffer(8000, depth=0.04)
    buffer.push(packet(0), 0.0)
    buffer.push(packet(2), 0.04)
    assert buffer.push(packet(2), 0.045) is False
    assert sequences(buffer.pop_due(0.08)) == [0, Loss(1, 1), 2]
    assert buffer.push(packet(1), 0.09) is False  # its place was already passed
    assert buffer.push(packet(2), 0.09) is False  # a copy of one played: late as well
    assert (buffer.duplicates, buffer.late, buffer.lost, buffer.played) == (1, 2, 1, 2)


def test_order_and_gaps_survive_the_wrap() -> None:
    buffer = JitterBuffer(8000, depth=0.1)
    start = 65534
    for seq in (65534, 0, 65535, 2):
        buffer.push(packet(seq, start), now=0.0)
    assert sequences(buffer.pop_due(1.0)) == [65534, 65535, 0, Loss(1, 1), 2]


@st.composite
def network_runs(draw: st.DrawFn) -> tuple[int, list[tuple[float, int]], list[float]]:
    """(first sequence, arrivals as (time, index), times the consumer polls)."""
    start = draw(st.integers(0, 0xFFFF) | st.integers(65500, 0xFFFF))
    count = draw(st.integers(1, 120))
    arrivals = []
    for index in range(count):
        copies = draw(st.sampled_from([0, 1, 1, 1, 1, 2]))  # lost, once, or duplicated
        for _ in range(copies):
            delay = draw(st.floats(0.0, 0.15))
            arrivals.append((0.02 * index + delay, index))
    arrivals.sort()
    polls = draw(st.lists(st.floats(0.0, 0.02 * count + 0.3), max_size=60))
    return start, arrivals, sorted(polls)


@given(network_runs(), st.sampled_from([0.0, 0.04, 0.08]))
def test_playout_is_ordered_unique_and_accounts_for_every_packet(
    run: tuple[int, list[tuple[float, int]], list[float]], depth: float,
) -> None:
    start, arrivals, polls = run
    buffer = JitterBuffer(8000, depth)
    out: list[tuple[float, RtpPacket | Loss]] = []
    events = sorted([(t, 0, i) for t, i in arrivals] + [(t, 1, -1) for t in polls])
    events.append((math.inf, 1, -1))
    for now, kind, index in events:
        if kind == 0:
            buffer.push(packet((start + index) % SEQ_MOD, start), now)
        else:
            out.extend((now, item) for item in buffer.pop_due(now))

    if not arrivals:
        assert out == [] and buffer.played == buffer.lost == 0
        return
    # Number every output on one line from the first one played, across the wrap.
    first = next(item for _, item in out if isinstance(item, RtpPacket))
    line: list[int] = []
    for when, item in out:
        if isinstance(item, Loss):
            base = first.sequence + (item.sequence - first.sequence) % SEQ_MOD
            line.extend(range(base, base + item.count))
        else:
            line.append(first.sequence + (item.sequence - first.sequence) % SEQ_MOD)
            playout = buffer.playout_time(item)
            assert playout is not None and when >= playout
    assert line == list(range(line[0], line[0] + len(line)))  # in order, no repeats, no holes
    played = [item for _, item in out if isinstance(item, RtpPacket)]
    assert buffer.played == len(played)
    assert buffer.lost == sum(item.count for _, item in out if isinstance(item, Loss))
    assert len(buffer) == 0
    assert buffer.played + buffer.late + buffer.duplicates == len(arrivals)
    assert buffer.played + buffer.lost == len(line)
