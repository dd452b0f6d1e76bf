"""Call recordings as standard 16-bit PCM WAV files that survive the process being killed.

The pure part builds and reads the 44-byte header (`wav_header`, `read_format`) and mixes the two
parties of a call (`mix_mono`, `interleave`, `Mixer`). The I/O part is thin: `WavRecorder` appends
audio and keeps the header's sizes true, `repair()` mends a file a killed process left behind.

Durability promise (kill -9, not power loss): `WavRecorder` hands the audio to the kernel and
rewrites the RIFF and data sizes each time `sync_seconds` (at most 1 s) of audio has been written,
and on `close()`. A file copied or cut at any moment therefore parses with Python's `wave` module
and holds all the audio written except at most the last `sync_seconds`; `repair()` then also
counts any audio past the header's figure.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEADER_BYTES = 44
SAMPLE_BYTES = 2  # 16-bit PCM
_PCM = 1
_RIFF_LIMIT = 0xFFFF_FFFF
# Where the two size fields sit in our 44-byte header.
_RIFF_SIZE_OFFSET = 4
_DATA_SIZE_OFFSET = 40

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
        b"RIFF", struct.pack("<I", min(36 + data_bytes, _RIFF_LIMIT)), b"WAVE",
        b"fmt ", struct.pack("<IHHIIHH", 16, _PCM, channels, sample_rate, sample_rate * frame,
                             frame, 8 * SAMPLE_BYTES),
        b"data", struct.pack("<I", min(data_bytes, _RIFF_LIMIT)),
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


class WavRecorder:
    """Appends 16-bit PCM to a new WAV file whose header stays true to within `sync_seconds`.

    `write(samples)` takes int16 samples: a 1-D array for mono, shape (n, 2) for stereo. Audio is
    buffered and handed to the kernel, followed by the header's sizes, whenever `sync_seconds` of
    audio has accumulated, and on `close()` (which also fsyncs). The file must not exist yet: a
    recording is never overwritten (`FileExistsError`). Use as a context manager or call
    `close()`; `seconds_written` counts all audio accepted so far.
    """

    def __init__(
        self, path: str | os.PathLike[str], sample_rate: int = 8000, channels: int = 1,
        *, sync_seconds: float = 1.0,
    ) -> None:
        if channels not in (1, 2):
            raise ValueError("recordings are mono or stereo")
        if not 0 < sync_seconds <= 1.0:
            raise ValueError("sync_seconds must be in (0, 1]")
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.channels = channels
        self._frame_bytes = channels * SAMPLE_BYTES
        self._sync_bytes = max(1, round(sync_seconds * sample_rate)) * self._frame_bytes
        self._pending = bytearray()
        self._on_disk = 0
        self._file = open(self.path, "xb", buffering=0)  # noqa: SIM115 - closed by close()
        self._write_all(wav_header(sample_rate, channels, 0))

    @property
    def seconds_written(self) -> float:
        return (self._on_disk + len(self._pending)) / (self._frame_bytes * self.sample_rate)

    @property
    def closed(self) -> bool:
        return self._file.closed

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
        if self._file.closed:
            return
        try:
            self._sync()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()

    def close_later(self, submit: Callable[[Callable[[], None]], object]) -> None:
        """Write what is pending and the final sizes now, and hand the fsync and the close to
        `submit` (e.g. a worker thread's): the file is whole for a killed process at once,
        and on disk for a power cut once the worker has run, without stalling the caller."""
        if self._file.closed:
            return
        try:
            self._sync()
        except BaseException:
            self._file.close()
            raise
        submit(self.close)

    def __enter__(self) -> WavRecorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _sync(self) -> None:
        # Samples first, then the sizes that cover them: a kill between the two leaves a header
        # that undercounts, never one that points past the end of the file.
        self._write_all(bytes(self._pending))
        self._on_disk += len(self._pending)
        self._pending.clear()
        _write_sizes(self._file.fileno(), self._on_disk)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            view = view[written:]


def _write_sizes(fd: int, data_bytes: int) -> None:
    os.pwrite(fd, struct.pack("<I", min(36 + data_bytes, _RIFF_LIMIT)), _RIFF_SIZE_OFFSET)
    os.pwrite(fd, struct.pack("<I", min(data_bytes, _RIFF_LIMIT)), _DATA_SIZE_OFFSET)


def repair(path: str | os.PathLike[str]) -> float:
    """Make a WAV left by a killed recorder whole again and return its duration in seconds.

    The data chunk is taken to run to the end of the file; a trailing partial frame is cut off,
    and the RIFF and data sizes are rewritten to match. Repairing a sound file changes nothing,
    so this is idempotent. Only files whose data chunk comes last (as `WavRecorder` writes them)
    are supported; raises `WavError` for anything that is not a 16-bit PCM WAV.
    """
    with open(path, "r+b") as file:
        head = file.read(4096)
        fmt = read_format(head)
        length = os.fstat(file.fileno()).st_size
        if length < fmt.data_offset:
            raise WavError("file ends inside the data chunk's header")
        data_bytes = (length - fmt.data_offset) // fmt.frame_bytes * fmt.frame_bytes
        if fmt.data_offset + data_bytes != length:
            file.truncate(fmt.data_offset + data_bytes)
        riff = fmt.data_offset - 8 + data_bytes
        if struct.unpack_from("<I", head, 4)[0] != riff or fmt.data_bytes != data_bytes:
            file.seek(4)
            file.write(struct.pack("<I", min(riff, _RIFF_LIMIT)))
            file.seek(fmt.data_offset - 4)
            file.write(struct.pack("<I", min(data_bytes, _RIFF_LIMIT)))
    return data_bytes / (fmt.frame_bytes * fmt.sample_rate)
