"""Recording files on disk: where a call's recording goes, how much room is left, and the
clean-up that keeps the disk from filling.

Recordings live in one folder per UTC day, `<folder>/YYYY-MM-DD/<run>-call<n>.wav`, so an
operator finds a day's calls at a glance and the clean-up removes whole days as they empty.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

DAY_SECONDS = 86_400


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
