"""Audio mixing for calls of more than two parties (supervision, conferences), sans-I/O.

The relay copies a packet from one party to the other; a party who must hear two others at
once (a supervisor listening, an agent being whispered to, a conference member) needs their
audio added up. A `Mixer` does that, clock-free, on the media plane's 20 ms tick:

- a party's G.711 packets (u-law or A-law, as it negotiated) are decoded as they come into a
  short queue of 20 ms frames; each tick takes the oldest. A party with nothing queued is
  silent for that tick (lost packets and absent parties are silence, never a stall). A party
  whose packets come faster than the tick (its clock runs ahead of ours, or a burst after a
  network stall) keeps only the newest `MAX_QUEUED` frames.
- each listener gets the sum of the frames of the parties it hears (`hears`), never its own,
  clipped to 16 bits and encoded in its own law; one frame per tick for every listener who
  hears anyone, silence included, so that its phone sees a steady stream.

Parties are any hashable keys (the plane uses `(call, side)`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Mapping

import numpy as np

from appliance.media.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

FRAME_SAMPLES = 160  # 20 ms at 8 kHz, one tick
MAX_QUEUED = 3
"""Frames kept per party: enough to ride out a packet arriving just after its tick."""
PCMU, PCMA = 0, 8
_SILENCE = np.zeros(FRAME_SAMPLES, dtype=np.int16)


def decode(payload_type: int, payload: bytes) -> np.ndarray | None:
    """One frame of samples from a G.711 payload, cut or padded with silence to 20 ms; None
    for any other payload (comfort noise, telephone events)."""
    if payload_type == PCMU:
        samples = ulaw_decode(payload)
    elif payload_type == PCMA:
        samples = alaw_decode(payload)
    else:
        return None
    if len(samples) == FRAME_SAMPLES:
        return samples
    frame = _SILENCE.copy()
    frame[:min(len(samples), FRAME_SAMPLES)] = samples[:FRAME_SAMPLES]
    return frame


def encode(payload_type: int, samples: np.ndarray) -> bytes:
    """int16 samples in the law of `payload_type` (0 u-law, 8 A-law)."""
    return alaw_encode(samples) if payload_type == PCMA else ulaw_encode(samples)


def mix_frames(frames: Mapping[Hashable, np.ndarray],
               hears: Mapping[Hashable, Iterable[Hashable]]) -> dict[Hashable, np.ndarray]:
    """What each listener of `hears` hears: the sum of the frames of the parties it hears
    (a party without a frame is silent; a listener never hears itself), clipped to int16."""
    mixed: dict[Hashable, np.ndarray] = {}
    for listener, sources in hears.items():
        total = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        for source in sources:
            frame = frames.get(source)
            if frame is not None and source != listener:
                total += frame
        mixed[listener] = np.clip(total, -32768, 32767).astype(np.int16)
    return mixed


class Mixer:
    """The parties of one mix, who hears whom, and each party's queued frames."""

    def __init__(self) -> None:
        self.laws: dict[Hashable, int] = {}  # each party's payload type, what it hears in
        self.hears: dict[Hashable, frozenset[Hashable]] = {}
        self._queues: dict[Hashable, deque[np.ndarray]] = {}

    def arrange(self, laws: Mapping[Hashable, int],
                hears: Mapping[Hashable, Iterable[Hashable]]) -> None:
        """The mix's parties (with the law each hears in) and who hears whom, from now on.
        A party that stays keeps its queued frames; one that leaves loses them."""
        self.laws = dict(laws)
        self.hears = {listener: frozenset(sources) for listener, sources in hears.items()}
        self._queues = {party: self._queues.get(party) or deque(maxlen=MAX_QUEUED)
                        for party in self.laws}

    def heard(self, party: Hashable, payload_type: int, payload: bytes) -> None:
        """A packet's payload from `party` (ignored if it is no party or no G.711)."""
        queue = self._queues.get(party)
        if queue is None:
            return
        frame = decode(payload_type, payload)
        if frame is not None:
            queue.append(frame)  # a full queue drops its oldest frame

    def tick(self, muted: Iterable[Hashable] = ()) -> dict[Hashable, bytes]:
        """One 20 ms frame for every listener who hears anyone, in its law; each party's
        oldest frame is used up. `muted` parties neither hear nor are heard this tick (a
        caller on hold hears music instead)."""
        muted = frozenset(muted)
        frames = {party: queue.popleft() for party, queue in self._queues.items()
                  if queue and party not in muted}
        hears = {listener: sources for listener, sources in self.hears.items()
                 if sources and listener not in muted}
        return {listener: encode(self.laws[listener], samples)
                for listener, samples in mix_frames(frames, hears).items()}
