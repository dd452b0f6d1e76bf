"""Random streams: one independent generator per purpose, all from the run's seed.

A stream is named ("arrivals", "patience/general", "agent/1001", ...) and
derived from (seed, replication, name) with numpy's SeedSequence, so adding a
stream - a new agent, a new call type - never shifts the numbers any other
stream draws. That is what makes common random numbers work: two runs that
differ by one agent see the same callers with the same talk times.
"""

from __future__ import annotations

import zlib
from random import Random

from numpy.random import SeedSequence


class Streams:
    def __init__(self, seed: int, replication: int = 0) -> None:
        self.seed = seed
        self.replication = replication
        self._made: dict[str, Random] = {}

    def __call__(self, name: str) -> Random:
        """The stream called ``name`` (the same object on every call)."""
        stream = self._made.get(name)
        if stream is None:
            # crc32 rather than hash(): str hashes change between processes.
            key = zlib.crc32(name.encode())
            state = SeedSequence(self.seed, spawn_key=(self.replication, key)).generate_state(4)
            stream = Random(int.from_bytes(state.tobytes(), "little"))
            self._made[name] = stream
        return stream
