"""Random streams: one independent generator per purpose, all from the run's seed.

A stream is named ("arrivals", "talk/general", "agent/1001/answer", ...) and
seeded from (seed, replication, name), so adding a stream - a new agent, a new
call type - never shifts the numbers any other stream draws. That is what makes
common random numbers work: two runs that differ by one agent see the same
callers with the same talk times.

Seeding from text runs it through SHA-512 (``random.seed`` version 2), which
is the same in every process and on every machine, and fast enough to make a
few hundred streams per run.
"""

from __future__ import annotations

from random import Random

ACD = "acd"
"""The ACD's choices (distribution strategies, ties), in both fidelities."""

SIP_IDS = "sip-ids"
"""The appliance's SIP identifiers (tags, Call-IDs, branches, nonces): apart from `ACD`, so
that a message more or less never changes which agent the ACD picks."""


class Streams:
    def __init__(self, seed: int, replication: int = 0) -> None:
        self.seed = seed
        self.replication = replication
        self._made: dict[str, Random] = {}

    def __call__(self, name: str) -> Random:
        """The stream called ``name`` (the same object on every call)."""
        stream = self._made.get(name)
        if stream is None:
            stream = Random(f"ccbox:{self.seed}:{self.replication}:{name}")
            self._made[name] = stream
        return stream
