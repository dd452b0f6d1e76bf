"""Goertzel filters for a whole run of windows at once, and the framing that feeds them.

The in-band detectors (DTMF in `dtmf.py`, call-progress tones in `appliance.hw.tones`) share
this: audio arrives in chunks of any length, is cut into windows of `block` samples, and each
window's power at a set of probe frequencies is one matrix product (the Goertzel filter's
output, computed as the DFT at those frequencies). Pure numpy, no clock, no I/O.
"""

from __future__ import annotations

import math

import numpy as np

from appliance.media.g711 import alaw_decode, ulaw_decode

# Where 0 dBm0 sits in 16-bit linear PCM: G.711's largest sine (+3.14 dBm0) just fills it.
DBM0_AMPLITUDE = 32_768 / 10 ** (3.14 / 20)

_DECODERS = {"ulaw": ulaw_decode, "alaw": alaw_decode}


def probe_basis(frequencies: np.ndarray, block: int, sample_rate: int) -> np.ndarray:
    """The (block x 2 probes) real matrix whose product with a window is the real, then the
    imaginary parts of its DFT at `frequencies`: real arithmetic keeps the product in BLAS."""
    angle = 2 * math.pi * np.outer(np.arange(block), np.asarray(frequencies)) / sample_rate
    return np.ascontiguousarray(np.hstack([np.cos(angle), np.sin(angle)]))


def probe_powers(windows: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Each window's power at each probe: a tone of amplitude A filling a window of `block`
    samples at a probe's frequency gives (A * block / 2) ** 2."""
    parts = np.ascontiguousarray(windows) @ basis
    half = basis.shape[1] // 2
    return parts[:, :half] ** 2 + parts[:, half:] ** 2


def tone_power(dbm0: float, block: int) -> float:
    """The probe power a sine at `dbm0` gives over a full window of `block` samples."""
    return (DBM0_AMPLITUDE * 10 ** (dbm0 / 20) * block / 2) ** 2


def as_samples(audio: np.ndarray | bytes, law: str = "ulaw") -> np.ndarray:
    """int16 samples from G.711 bytes (`law` "ulaw" or "alaw") or a 1-D integer array."""
    if isinstance(audio, bytes | bytearray | memoryview):
        return _DECODERS[law](bytes(audio))
    samples = np.asarray(audio)
    if samples.ndim != 1 or not np.issubdtype(samples.dtype, np.integer):
        raise TypeError("a detector takes G.711 bytes or a 1-D array of integer (int16) samples")
    return samples


class Framer:
    """Cuts audio fed in chunks of any length into windows of `block` samples, a new window
    every `step` samples; what is left over waits for the next chunk. The windows returned
    are the same however the audio was chunked."""

    def __init__(self, block: int, step: int) -> None:
        if block < 2 or step < 1:
            raise ValueError("block must be at least 2 samples, step at least 1")
        self.block = block
        self.step = step
        self._pending = np.zeros(0, dtype=np.float64)

    def windows(self, samples: np.ndarray) -> np.ndarray:
        """The complete windows that `samples` finishes, as a (count x block) float array."""
        audio = np.concatenate([self._pending, samples.astype(np.float64)])
        if len(audio) < self.block:
            self._pending = audio
            return np.zeros((0, self.block))
        count = (len(audio) - self.block) // self.step + 1
        self._pending = audio[count * self.step:]
        if self.step == self.block:  # frames side by side: a reshape, no strided view
            return audio[:count * self.block].reshape(count, self.block)
        view = np.lib.stride_tricks.sliding_window_view(audio, self.block)
        return view[:: self.step][:count]

    @property
    def pending(self) -> int:
        """Samples held back, waiting for the rest of their window."""
        return len(self._pending)

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.float64)
