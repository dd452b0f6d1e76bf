"""A call's recording paced by the clock, not by the packets.

RTP of the two parties goes in with the time it arrived; audio comes out at exactly 8000 samples
per second of `now`. Whatever the packets did - loss, silence suppression, hold, a sender running
fast, bursts - the recording's duration is the time recorded, so a supervisor listening at
minute 3 of the file hears minute 3 of the call.

`packet()` is on the hot path of every call, so it only slices the payload out of the RTP header
and queues the bytes; G.711 is decoded in bulk, once per side and codec run, when `tick()` writes.
Packets are taken in arrival order (no reordering: a recording tolerates a misordered 20 ms, and
the relay must not wait for it).
"""

from __future__ import annotations

from collections import deque
from contextlib import ExitStack
from typing import Protocol

import numpy as np

from appliance.media.g711 import alaw_decode, ulaw_decode
from appliance.media.recording import AGENT, CALLER, mix_mono
from appliance.media.rtp import payload_of

SAMPLE_RATE = 8000
PCMU = 0
PCMA = 8
_DECODERS = {PCMU: ulaw_decode, PCMA: alaw_decode}
_SIDES = (CALLER, AGENT)


class RecordingSink(Protocol):
    """Where recorded audio goes (a `WavRecorder` on a file or in memory, or a list in tests)."""

    def write(self, samples: np.ndarray) -> None:
        """Take int16 mono samples, shape (n,)."""

    def close(self) -> None:
        """No more audio follows."""


class CallRecorder:
    """A call's recording on the clock's timeline: RTP of the two parties in, audio out at
    the pace of `now`, so the file's duration equals the time recorded (talk time) whatever
    the packets did (loss, silence suppression, hold, jitter).

    After `tick(now)` exactly `round((now - start) * 8000)` samples have been written to every
    sink (or as many as the latest tick asked for, if time went backwards). A side that has
    fallen short is padded with silence; a side ahead of the clock keeps at most `max_carry`
    seconds for the next tick, the oldest excess being dropped, so no sender can make the
    recording drift. Side 0 is the caller, 1 the agent (`recording.CALLER`, `recording.AGENT`).
    """

    def __init__(
        self,
        mixed: RecordingSink,
        start: float,
        parties: tuple[RecordingSink, RecordingSink] | None = None,
        max_carry: float = 0.5,
    ) -> None:
        if max_carry < 0:
            raise ValueError("max_carry must not be negative")
        self._mixed = mixed
        self._parties = parties
        self._start = start
        self._carry = round(max_carry * SAMPLE_RATE)
        self._written = 0
        self._finished = False
        # Per side: queued (payload type, G.711 bytes) and their total length in samples.
        self._queues: tuple[deque[tuple[int, bytes]], ...] = (deque(), deque())
        self._queued = [0, 0]

    @property
    def seconds(self) -> float:
        """Audio written so far, in seconds (the same in every sink)."""
        return self._written / SAMPLE_RATE

    def packet(self, side: int, packet: bytes, now: float) -> None:
        """Queue the audio of one RTP datagram from `side`; anything but PCMU or PCMA, and
        anything malformed, is ignored."""
        if self._finished:
            return
        found = _g711_payload(packet)
        if found is None:
            return
        self._queues[side].append(found)
        self._queued[side] += len(found[1])
        # Bound memory between ticks too: what `tick(now)` would keep at most.
        limit = self._due(now) + self._carry
        if self._queued[side] > limit:
            self._drop_oldest(side, self._queued[side] - max(limit, 0))

    def tick(self, now: float) -> None:
        """Write every sample due by `now` to the sinks."""
        if self._finished:
            return
        due = self._due(now)
        if due <= 0:
            return
        sides = [self._take(side, due) for side in _SIDES]
        self._written += due
        self._mixed.write(mix_mono(sides[CALLER], sides[AGENT]))
        if self._parties is not None:
            for sink, samples in zip(self._parties, sides, strict=True):
                sink.write(samples)

    def finish(self, now: float) -> float:
        """Write what is due by `now`, close every sink and return the seconds written.

        Every sink is closed even if one fails to; later calls do nothing and return the same.
        """
        if self._finished:
            return self.seconds
        try:
            self.tick(now)
        finally:
            self._finished = True
            self._queues[CALLER].clear()
            self._queues[AGENT].clear()
            with ExitStack() as closing:
                for sink in (self._mixed, *(self._parties or ())):
                    closing.callback(sink.close)
        return self.seconds

    def _due(self, now: float) -> int:
        return round((now - self._start) * SAMPLE_RATE) - self._written

    def _take(self, side: int, count: int) -> np.ndarray:
        """The side's next `count` samples, oldest excess beyond the carry dropped first, and
        padded with silence if the side has too few."""
        excess = self._queued[side] - count - self._carry
        if excess > 0:
            self._drop_oldest(side, excess)
        queue = self._queues[side]
        runs: list[np.ndarray] = []
        run_type, run = -1, bytearray()
        remaining = count
        while queue and remaining:
            payload_type, payload = queue.popleft()
            if len(payload) > remaining:
                queue.appendleft((payload_type, payload[remaining:]))
                payload = payload[:remaining]
            if payload_type != run_type and run:
                runs.append(_DECODERS[run_type](bytes(run)))
                run.clear()
            run_type = payload_type
            run += payload
            remaining -= len(payload)
        if run:
            runs.append(_DECODERS[run_type](bytes(run)))
        self._queued[side] -= count - remaining
        if remaining:
            runs.append(np.zeros(remaining, dtype=np.int16))
        return runs[0] if len(runs) == 1 else np.concatenate(runs)

    def _drop_oldest(self, side: int, count: int) -> None:
        queue = self._queues[side]
        dropped = 0
        while queue and dropped < count:
            payload_type, payload = queue.popleft()
            if dropped + len(payload) > count:
                queue.appendleft((payload_type, payload[count - dropped :]))
                payload = payload[: count - dropped]
            dropped += len(payload)
        self._queued[side] -= dropped


def _g711_payload(packet: bytes) -> tuple[int, bytes] | None:
    """(payload type, payload) of an RTP packet carrying PCMU or PCMA, else None."""
    found = payload_of(packet)
    return found if found is not None and found[0] in _DECODERS else None
