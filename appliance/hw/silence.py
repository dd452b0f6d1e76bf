"""A line gone quiet: the disconnect supervision of analog lines that give no tone and no signal.

Some carriers' analog lines say nothing when the far end hangs up: no loop break, no busy
tone. The gateway keeps sending RTP (silence packets), so the media timeout never fires; the
only sign is that nobody is on the line any more. `SilenceDetector` watches one line's
received audio, clock-free: it counts 20 ms frames whose level is below a floor, and reports
once when `bound` seconds of them have come in a row. A speech pause, a caller listening,
even a gateway's voice activity detection zeroing the gaps between words, lasts far less than
a sensible bound; a single frame above the floor starts the count again.

Time is the audio's own (samples counted), so the result does not depend on when packets
arrive or how they were chunked.
"""

from __future__ import annotations

import numpy as np

from appliance.media.goertzel import DBM0_AMPLITUDE, Framer

SAMPLE_RATE = 8000
FRAME = 160
"""Samples a frame: 20 ms, one RTP packet's worth."""
SILENCE_FLOOR_DBM0 = -60.0
"""Frames below this RMS level count as silence: under a handset's room noise and a line's
hiss (G.712 allows idle noise up to -65 dBm0p), above the digital silence of a gateway whose
line has nobody on it."""


def frame_energy(dbm0: float) -> float:
    """The sum of squared samples of a frame whose RMS level is `dbm0`."""
    rms = DBM0_AMPLITUDE / np.sqrt(2) * 10 ** (dbm0 / 20)  # a sine's peak to its RMS
    return float(rms**2 * FRAME)


class SilenceDetector:
    """Watches a line for `bound` seconds of continuous silence (frames under `floor_dbm0`).
    `feed` returns True once, on the chunk that completes the silence; never again after."""

    def __init__(self, bound: float, floor_dbm0: float = SILENCE_FLOOR_DBM0) -> None:
        if bound <= 0:
            raise ValueError("a silence bound must be positive seconds")
        self.bound = bound
        self._needed = max(1, round(bound * SAMPLE_RATE / FRAME))
        self._limit = frame_energy(floor_dbm0)
        self._framer = Framer(FRAME, FRAME)
        self._run = 0  # silent frames in a row so far
        self.heard = False

    @property
    def silent_for(self) -> float:
        """Seconds of silence in a row up to the last complete frame."""
        return self._run * FRAME / SAMPLE_RATE

    def feed(self, samples: np.ndarray) -> bool:
        """Take int16 samples (any number); True if they complete `bound` seconds of silence."""
        frames = self._framer.windows(samples)
        if self.heard or not len(frames):
            return False
        loud = np.flatnonzero(np.einsum("ij,ij->i", frames, frames) >= self._limit)
        longest = self._run + (loud[0] if len(loud) else len(frames))
        if len(loud):
            gaps = np.diff(loud) - 1
            longest = max(longest, int(gaps.max(initial=0)))
            self._run = len(frames) - 1 - int(loud[-1])
        else:
            self._run = longest
        self.heard = max(longest, self._run) >= self._needed
        return self.heard
