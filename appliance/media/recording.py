"""Call recordings as standard 16-bit PCM WAV files that survive the process being killed.

This module builds and reads the 44-byte header (`wav_header`, `read_format`), mixes the two
parties of a call (`mix_mono`, `interleave`, `Mixer`) and decides what a recording writes and
when (`WavRecorder`). The bytes go to a `WavStorage`: a file on the box
(`appliance.storage.wavfile`, which also mends a file a killed process left behind), `MemoryWav`
in simulation and tests. No file is opened here.

Durability promise (kill -9, not power loss): `WavRecorder` hands the audio to its storage and
then rewrites the RIFF and data sizes each time `sync_seconds` (at most 1 s) of audio has been
written, and on `close()`. A file copied or cut at any moment therefore parses with Python's
`wave` module and holds all the audio written except at most the last `sync_seconds`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

HEADER_BYTES = 44
SAMPLE_BYTES = 2  # 16-bit PCM
_PCM = 1
_RIFF_LIMIT = 0xFFFF_FFFF
# Where the two size fields sit in our 44-byte header.
RIFF_SIZE_OFFSET = 4
DATA_SIZE_OFFSET = 40

CALLER = 0
AGENT = 1
"""The two parties of a recorded call; in stereo the caller is the left channel."""


class WavError(ValueError):
    """A file that is not a 16-bit PCM WAV this module can read or repair."""


@dataclass(frozen=True)
class WavFormat:
    sample_rate: int
    channels: int
    data_offset: int
    """Where the data chunk's samples begin."""
    data_bytes: int
    """The data chunk's size as the header states it (may disagree with the file's length)."""

    @property
    def frame_bytes(self) -> int:
        return self.channels * SAMPLE_BYTES


def wav_header(sample_rate: int, channels: int, data_bytes: int) -> bytes:
    """The canonical 44-byte header of a 16-bit PCM WAV holding `data_bytes` of samples."""
    frame = channels * SAMPLE_BYTES
    return b"".join([
        b"RIFF", size_field(36 + data_bytes), b"WAVE",
        b"fmt ", struct.pack("<IHHIIHH", 16, _PCM, channels, sample_rate, sample_rate * frame,
                             frame, 8 * SAMPLE_BYTES),
        b"data", size_field(data_bytes),
    ])


def read_format(head: bytes) -> WavFormat:
    """Find the format and the data chunk in the first bytes of a WAV file.

    `head` must reach at least the data chunk's header; sizes are not trusted beyond locating
    the chunks that come before the data.
    """
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise WavError("not a RIFF/WAVE file")
    position = 12
    fmt: tuple[int, ...] | None = None
    while position + 8 <= len(head):
        name, size = head[position:position + 4], struct.unpack_from("<I", head, position + 4)[0]
        body = position + 8
        if name == b"fmt ":
            if size < 16 or body + 16 > len(head):
                raise WavError("truncated fmt chunk")
            fmt = struct.unpack_from("<HHIIHH", head, body)
        elif name == b"data":
            if fmt is None:
                raise WavError("data chunk before fmt chunk")
            audio_format, channels, rate, _, _, bits = fmt
            if audio_format != _PCM or bits != 8 * SAMPLE_BYTES or channels < 1 or rate < 1:
                raise WavError(f"not 16-bit PCM (format {audio_format}, {bits} bits)")
            return WavFormat(rate, channels, body, size)
        position = body + size + (size & 1)  # chunks are padded to even length
    raise WavError("no data chunk")


def mix_mono(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum two int16 streams into one, clipping to the int16 range; the shorter is padded."""
    a, b = _pad_pair(a, b)
    total = a.astype(np.int32) + b.astype(np.int32)
    return np.clip(total, -32_768, 32_767).astype(np.int16)


def interleave(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two int16 streams as one stereo array of shape (n, 2); the shorter is padded."""
    left, right = _pad_pair(left, right)
    return np.stack([left, right], axis=1)


def _pad_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _int16(a), _int16(b)
    n = max(len(a), len(b))
    return np.pad(a, (0, n - len(a))), np.pad(b, (0, n - len(b)))


def _int16(samples: np.ndarray) -> np.ndarray:
    samples = np.asarray(samples)
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise TypeError("expected a 1-D int16 array")
    return samples


class Mixer:
    """Lines up the caller's and the agent's audio as it arrives and releases it as one stream.

    `push(party, samples)` queues a party's samples; `pull()` returns the frames both parties have
    covered, mixed to mono (`channels=1`) or one party per channel (`channels=2`, caller left).
    A party that falls more than `max_lag` samples behind (silence suppression, a lost stream) is
    taken as silent for the excess, so memory stays bounded. `drain()` releases everything,
    padding the shorter side with silence, for the end of a call.
    """

    def __init__(self, channels: int = 1, *, max_lag: int = 8000) -> None:
        if channels not in (1, 2):
            raise ValueError("a mixer produces mono (1) or stereo (2)")
        self.channels = channels
        self.max_lag = max_lag
        self._queues: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
        self._lengths = [0, 0]

    def push(self, party: int, samples: np.ndarray) -> None:
        samples = _int16(samples)
        if len(samples):
            self._queues[party].append(samples)
            self._lengths[party] += len(samples)

    def pull(self) -> np.ndarray:
        ready = max(min(self._lengths), max(self._lengths) - self.max_lag)
        return self._release(ready)

    def drain(self) -> np.ndarray:
        return self._release(max(self._lengths))

    def _release(self, frames: int) -> np.ndarray:
        caller, agent = self._take(CALLER, frames), self._take(AGENT, frames)
        if self.channels == 1:
            return mix_mono(caller, agent)
        return interleave(caller, agent)

    def _take(self, party: int, frames: int) -> np.ndarray:
        queue = self._queues[party]
        joined = np.concatenate(queue) if queue else np.zeros(0, dtype=np.int16)
        taken, rest = joined[:frames], joined[frames:]
        queue[:] = [rest] if len(rest) else []
        self._lengths[party] = len(rest)
        return taken


class WavStorage(Protocol):
    """Where a `WavRecorder` puts its bytes: a new, empty file or its stand-in."""

    def append(self, data: bytes) -> None:
        """Add `data` at the end, handed on at once (a killed process loses none of it)."""

    def patch(self, offset: int, data: bytes) -> None:
        """Overwrite bytes already appended, from `offset` on."""

    def close(self) -> None:
        """Make everything durable and release the storage; no more calls follow."""


class MemoryWav:
    """A `WavStorage` in memory: the recording's bytes in `data`, for simulation and tests."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def append(self, data: bytes) -> None:
        self.data += data

    def patch(self, offset: int, data: bytes) -> None:
        if offset + len(data) > len(self.data):
            raise ValueError("a patch must overwrite bytes already appended")
        self.data[offset:offset + len(data)] = data

    def close(self) -> None:
        self.closed = True


class WavRecorder:
    """Appends 16-bit PCM to a WAV in `storage` whose header stays true to within
    `sync_seconds`.

    `write(samples)` takes int16 samples: a 1-D array for mono, shape (n, 2) for stereo. Audio is
    buffered and handed to the storage, followed by the header's sizes, whenever `sync_seconds`
    of audio has accumulated, and on `close()` (which also closes the storage, making the file
    durable). Use as a context manager or call `close()`; `seconds_written` counts all audio
    accepted so far.
    """

    def __init__(
        self, storage: WavStorage, sample_rate: int = 8000, channels: int = 1,
        *, sync_seconds: float = 1.0,
    ) -> None:
        if channels not in (1, 2):
            raise ValueError("recordings are mono or stereo")
        if not 0 < sync_seconds <= 1.0:
            raise ValueError("sync_seconds must be in (0, 1]")
        self.storage = storage
        self.sample_rate = sample_rate
        self.channels = channels
        self._frame_bytes = channels * SAMPLE_BYTES
        self._sync_bytes = max(1, round(sync_seconds * sample_rate)) * self._frame_bytes
        self._pending = bytearray()
        self._on_disk = 0
        self._closed = False
        storage.append(wav_header(sample_rate, channels, 0))

    @property
    def seconds_written(self) -> float:
        return (self._on_disk + len(self._pending)) / (self._frame_bytes * self.sample_rate)

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples)
        expected = (samples.ndim == 1) if self.channels == 1 else (
            samples.ndim == 2 and samples.shape[1] == self.channels)
        if samples.dtype != np.int16 or not expected:
            raise TypeError(f"expected int16 samples for {self.channels} channel(s), got "
                            f"{samples.dtype} of shape {samples.shape}")
        self._pending += samples.astype("<i2", copy=False).tobytes()
        if len(self._pending) >= self._sync_bytes:
            self._sync()

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._sync()
        finally:
            self._closed = True
            self.storage.close()

    def close_later(self, submit: Callable[[Callable[[], None]], object]) -> None:
        """Write what is pending and the final sizes now, and hand the storage's close (the
        fsync, for a file) to `submit` (e.g. a worker thread's): the file is whole for a killed
        process at once, and on disk for a power cut once the worker has run, without
        stalling the caller."""
        if self._closed:
            return
        self._closed = True
        try:
            self._sync()
        except BaseException:
            self.storage.close()
            raise
        submit(self.storage.close)

    def __enter__(self) -> WavRecorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _sync(self) -> None:
        # Samples first, then the sizes that cover them: a kill between the two leaves a header
        # that undercounts, never one that points past the end of the file.
        self.storage.append(bytes(self._pending))
        self._on_disk += len(self._pending)
        self._pending.clear()
        self.storage.patch(RIFF_SIZE_OFFSET, size_field(36 + self._on_disk))
        self.storage.patch(DATA_SIZE_OFFSET, size_field(self._on_disk))


def size_field(size: int) -> bytes:
    """A RIFF size field: little-endian, capped at 4 GiB - 1 (a longer file keeps the cap)."""
    return struct.pack("<I", min(size, _RIFF_LIMIT))
