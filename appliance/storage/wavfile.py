"""Recordings as files on disk: the file-backed `WavStorage` and the repair after a kill.

`appliance.media.recording.WavRecorder` decides what a recording writes and when; `WavFile`
carries it out on a new file (append with write, the header's sizes with pwrite, fsync on
close), so the recording survives a kill -9 as that module promises. `repair()` mends a file
a killed process left behind: the data chunk is taken to run to the end of the file.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from appliance.media.recording import (
    RIFF_SIZE_OFFSET,
    WavError,
    WavRecorder,
    read_format,
    size_field,
)


class WavFile:
    """A new file at `path` as a `WavStorage`; the file must not exist yet: a recording is
    never overwritten (`FileExistsError`)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        # Unbuffered: each append reaches the kernel at once, where a killed process leaves it.
        self._file = open(self.path, "xb", buffering=0)  # noqa: SIM115 - closed by close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            view = view[written:]

    def patch(self, offset: int, data: bytes) -> None:
        os.pwrite(self._file.fileno(), data, offset)

    def close(self) -> None:
        if self._file.closed:
            return
        try:
            os.fsync(self._file.fileno())
        finally:
            self._file.close()


def open_recording(
    path: str | os.PathLike[str], sample_rate: int = 8000, channels: int = 1,
    *, sync_seconds: float = 1.0,
) -> WavRecorder:
    """A `WavRecorder` writing a new WAV file at `path`."""
    return WavRecorder(WavFile(path), sample_rate, channels, sync_seconds=sync_seconds)


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
        if struct.unpack_from("<I", head, RIFF_SIZE_OFFSET)[0] != riff or (
                fmt.data_bytes != data_bytes):
            file.seek(RIFF_SIZE_OFFSET)
            file.write(size_field(riff))
            file.seek(fmt.data_offset - 4)
            file.write(size_field(data_bytes))
    return data_bytes / (fmt.frame_bytes * fmt.sample_rate)
