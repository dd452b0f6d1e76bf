"""Recording files on disk: where a call's recording goes, how much room is left, and the
clean-up that keeps the disk from filling.

Recordings live in one folder per UTC day, `<folder>/YYYY-MM-DD/<run>-call<n>.wav`, so an
operator finds a day's calls at a glance and the clean-up removes whole days as they empty.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import time
from collections.abc import Callable, Collection
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from appliance.config.live import Recording as RecordingSettings
from appliance.media.callrecorder import CallRecorder
from appliance.media.diskguard import DiskAlarm, DiskGuard
from appliance.storage.wavfile import open_recording

_log = logging.getLogger(__name__)

DAY_SECONDS = 86_400
MB = 1_000_000


class DiskUsage(Protocol):
    """What the clean-up needs of `shutil.disk_usage()`'s answer."""

    @property
    def free(self) -> int: ...


@dataclass(frozen=True)
class CleanupReport:
    removed: int
    freed_bytes: int
    still_short: bool
    """True when removing every recording it could still left less than `keep_free_bytes`."""


def recording_path(folder: Path, started: float, run: str, call: int) -> Path:
    """The mixed recording of call `call` of run `run`, in the folder of the UTC day the call
    started (epoch seconds). The day folder is created; the file is not."""
    day = datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d")
    day_folder = Path(folder) / day
    day_folder.mkdir(parents=True, exist_ok=True)
    return day_folder / f"{run}-call{call}.wav"


def party_paths(path: Path) -> tuple[Path, Path]:
    """The caller's and the agent's own recordings, beside the mixed one at `path`."""
    return (path.with_name(f"{path.stem}-caller.wav"), path.with_name(f"{path.stem}-agent.wav"))


def free_bytes(folder: Path) -> int:
    """Free space on the recordings' file system (the folder is created if missing)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(folder).free


def clean_recordings(
    folder: Path,
    retention_days: int | None,
    keep_free_bytes: int,
    now: float,
    active: Collection[Path] = (),
    disk_usage: Callable[[Path], DiskUsage] = shutil.disk_usage,
) -> CleanupReport:
    """Remove recordings older than `retention_days` (by modification time; None keeps them
    by age), then the oldest remaining until `keep_free_bytes` are free.

    Free space is measured once with `disk_usage` and then counted up by the sizes removed.
    Paths in `active` (recordings being written, their party files included) are never
    removed; symbolic links are neither followed nor removed, so nothing outside `folder` is
    touched. Day folders emptied by the clean-up are removed. A file that vanishes meanwhile
    is skipped.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    protected = {Path(path).resolve() for path in active}
    candidates = sorted(
        (found for found in _recordings(folder) if found[1].resolve() not in protected),
        key=lambda found: (found[0], found[1]),
    )
    expired_before = None if retention_days is None else now - retention_days * DAY_SECONDS
    free = disk_usage(folder).free
    removed = freed = 0
    emptied: set[Path] = set()
    for mtime, path, size in candidates:
        expired = expired_before is not None and mtime < expired_before
        if not expired and free >= keep_free_bytes:
            break  # oldest first: nothing later is expired either
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed, freed, free = removed + 1, freed + size, free + size
        emptied.add(path.parent)
    _remove_empty_folders(emptied, folder)
    return CleanupReport(removed=removed, freed_bytes=freed, still_short=free < keep_free_bytes)


def _recordings(folder: Path) -> list[tuple[float, Path, int]]:
    """(mtime, path, size) of every regular `*.wav` under `folder`, symlinks left out."""
    found = []
    for top, _, names in os.walk(folder, followlinks=False):
        for name in names:
            if not name.endswith(".wav"):
                continue
            path = Path(top) / name
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISREG(info.st_mode):
                found.append((info.st_mtime, path, info.st_size))
    return found


def _remove_empty_folders(candidates: set[Path], root: Path) -> None:
    """Remove each folder that is now empty, and its parents up to (not including) `root`."""
    for start in sorted(candidates, key=lambda path: len(path.parts), reverse=True):
        folder = start
        while folder != root and root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break  # not empty (a new recording, another file), or already gone
            folder = folder.parent


class _TrackedWav:
    """A `WavRecorder` that leaves the desk's set of files being written when closed, and
    leaves its fsync to the desk's worker thread."""

    def __init__(self, path: Path, active: set[Path], closer: Executor) -> None:
        self.recorder = open_recording(path)
        self.path = path
        self.active = active
        self.closer = closer
        active.add(path)

    def write(self, samples: np.ndarray) -> None:
        self.recorder.write(samples)

    def close(self) -> None:
        try:
            self.recorder.close_later(self._submit)
        finally:
            self.active.discard(self.path)

    def _submit(self, close: Callable[[], None]) -> None:
        self.closer.submit(_close_logging_errors, self.path, close)


def _close_logging_errors(path: Path, close: Callable[[], None]) -> None:
    try:
        close()
    except OSError as error:  # in a worker thread: nobody else would hear of it
        _log.error("recording %s may not be on disk: %s", path, error)


class WavDesk:
    """The live appliance's recordings: WAV files under the site's folder, a disk guard on
    that folder's file system, and the clean-up by age and free space.

    `open` and `check` satisfy `appliance.media.plane.RecordingDesk`; they run on the event
    loop and do only quick I/O (create a file, statvfs). `clean` walks the folder and belongs
    in a worker thread.
    """

    def __init__(self, settings: RecordingSettings, run: str, *,
                 wall_clock: Callable[[], float] = time.time, folder: Path | None = None) -> None:
        """`folder`: where the recordings go, `settings.folder` resolved (default: as given)."""
        self.settings = settings
        self.folder = Path(settings.folder) if folder is None else folder
        self.run = run
        self.guard = DiskGuard(settings.stop_below_mb * MB, settings.resume_above_mb * MB)
        self.active: set[Path] = set()
        self._wall_clock = wall_clock
        # fsync takes a fraction of a millisecond a file, hundreds of times a second at full
        # load: one worker does it so that the event loop relaying RTP does not wait.
        self.closer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wav-fsync")

    def open(self, call: int, now: float) -> tuple[CallRecorder, str] | None:
        if not self.settings.enabled or not self.guard.recording_allowed:
            return None
        path = recording_path(self.folder, self._wall_clock(), self.run, call)
        try:
            mixed = _TrackedWav(path, self.active, self.closer)
            parties = None
            if self.settings.split:
                caller, agent = party_paths(path)
                parties = (_TrackedWav(caller, self.active, self.closer),
                           _TrackedWav(agent, self.active, self.closer))
        except OSError as error:
            _log.error("cannot record call %d in %s: %s", call, path, error)
            return None
        return CallRecorder(mixed, now, parties), str(path)

    def shutdown(self) -> None:
        """Wait for the fsync of every finished recording."""
        self.closer.shutdown(wait=True)

    def check(self, now: float) -> DiskAlarm | None:
        try:
            free = free_bytes(self.folder)
        except OSError as error:
            _log.error("cannot read the free space of %s: %s", self.folder, error)
            return None
        return self.guard.update(free, now)

    def clean(self) -> CleanupReport:
        settings = self.settings
        report = clean_recordings(self.folder, settings.retention_days,
                                  settings.keep_free_mb * MB, self._wall_clock(),
                                  active=set(self.active))
        if report.removed:
            _log.info("clean-up removed %d recordings (%d MB)", report.removed,
                      report.freed_bytes // MB)
        if report.still_short:
            _log.warning("recordings clean-up: still less than %d MB free in %s",
                         settings.keep_free_mb, self.folder)
        return report
