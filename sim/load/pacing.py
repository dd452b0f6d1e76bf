"""When the load's RTP packets are due: one grid of 20 ms ticks for every stream, drift-free.

Tick k is due at `origin + k x PTIME`, whenever the sender wakes: a sender that wakes late
does not push the ticks after it later (as sleeping `PTIME` after each round would, by the
round's own time). A stream joins at the next tick and owes packet n at its first tick + n;
when the sender wakes it sends every packet a stream owes, oldest first, up to `BURST` at
once. A stream owing more (the sender ran more than `BURST` ticks late) skips the oldest,
whose audio a receiver would discard anyway: its sequence numbers stay consecutive and its
timestamps leap over the ticks skipped, as a real sender's do after lost time.

No clock is read here: `now` is handed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PTIME = 0.02  # seconds of audio a packet
SAMPLES = 160  # 8 kHz x 20 ms: the timestamp's step a tick
BURST = 5  # packets a stream sends at once when late: 100 ms is caught up, beyond is skipped
# A wake-up a hair before its deadline (float rounding, the loop's clock resolution) still
# counts as that tick's.
EARLY = 1e-6


@dataclass(frozen=True)
class Grid:
    """The ticks: tick k is due at `origin + k * ptime`."""

    origin: float
    ptime: float = PTIME

    def tick(self, now: float) -> int:
        """The latest tick due by `now` (-1 before the first)."""
        return math.floor((now - self.origin) / self.ptime + EARLY)

    def deadline(self, now: float) -> float:
        """When the tick after `now`'s is due: the sender's next wake-up."""
        return self.origin + (self.tick(now) + 1) * self.ptime


class Cadence:
    """One stream's place on the grid: the tick its packets start at, the next it owes, and
    the sequence number of its next packet (a count of the packets it sent); how many it
    sent after their tick (`late`, caught up) and how many it skipped."""

    def __init__(self, first: int) -> None:
        self.first = self.next = first
        self.seq = self.late = self.skipped = 0

    def due(self, tick: int, burst: int = BURST) -> range:
        """The ticks whose packets to send now that `tick` is due, oldest first, at most
        `burst`; older ones owed are skipped (counted in `skipped`). Each is owed once."""
        start = self.next
        if tick < start:
            return range(0)
        if tick - start >= burst:
            self.skipped += tick - burst + 1 - start
            start = tick - burst + 1
        self.late += tick - start
        self.next = tick + 1
        return range(start, tick + 1)

    def stamp(self, tick: int) -> tuple[int, int]:
        """The (sequence number, timestamp) of the packet for `tick`, the next one sent;
        both wrap as RTP's fields do."""
        seq = self.seq
        self.seq += 1
        return seq & 0xFFFF, ((tick - self.first) * SAMPLES) & 0xFFFFFFFF
