"""Disk for call recordings: what a run's talk time costs in WAV files, a day and a retention.

Pure arithmetic on figures a KPI report already has, so sizing can state the disk a site
needs next to its seats and trunks. Recordings are 8 kHz 16-bit mono WAV: 16,000 bytes a
second of call plus a 44-byte header per file. With `split` each call also gets one file
per party, three files of the call's length in all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appliance.config.live import Recording

BYTES_PER_SECOND = 16_000
"""8,000 samples a second of 2 bytes, one channel."""
HEADER_BYTES = 44
MB = 1_000_000
"""The unit of the site's `*_mb` settings and of the figures shown."""


@dataclass(frozen=True)
class RecordingStorage:
    """The recordings of a run and the disk they imply."""

    seconds: float
    """Call time recorded: talk, hold included (a recording runs from answer to hang-up)."""
    calls: int
    """Calls recorded (answers by agents)."""
    files_per_call: int
    """1, or 3 with `split` (the mix and one file per party)."""
    bytes: int
    """Bytes written in the run."""
    bytes_per_day: float
    """`bytes` scaled from the run's length to one working day."""
    day_hours: float
    """The working day `bytes_per_day` is for."""
    retention_days: int | None
    """Days recordings are kept (None: kept until free space runs short)."""
    keep_free_bytes: int
    """Free space the clean-up keeps, on top of the recordings kept."""
    disk_bytes: float | None
    """Disk for `retention_days` of recordings plus `keep_free_bytes`; None without a
    retention by age."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recording_storage(
    seconds: float, calls: int, run_seconds: float, day_hours: float, recording: Recording
) -> RecordingStorage | None:
    """The storage `calls` recordings totalling `seconds` need, from a run `run_seconds`
    long, at `day_hours` of such traffic a day. None when recording is disabled."""
    if not recording.enabled:
        return None
    if run_seconds <= 0:
        raise ValueError(f"run_seconds must be positive; got {run_seconds}")
    files = 3 if recording.split else 1
    written = files * (round(seconds * BYTES_PER_SECOND) + HEADER_BYTES * calls)
    per_day = written * day_hours * 3600.0 / run_seconds
    keep_free = recording.keep_free_mb * MB
    days = recording.retention_days
    return RecordingStorage(
        seconds=seconds,
        calls=calls,
        files_per_call=files,
        bytes=written,
        bytes_per_day=per_day,
        day_hours=day_hours,
        retention_days=days,
        keep_free_bytes=keep_free,
        disk_bytes=None if days is None else per_day * days + keep_free,
    )


def describe_storage(storage: RecordingStorage) -> str:
    """One line for a report: what was recorded, its size, a day's and the retention's."""
    minutes, secs = divmod(round(storage.seconds), 60)
    hours, minutes = divmod(minutes, 60)
    split = ", 3 files a call (split)" if storage.files_per_call == 3 else ""
    line = (
        f"Recordings: {hours}:{minutes:02d}:{secs:02d} of calls in {storage.calls:,} "
        f"recordings{split}, {format_bytes(storage.bytes)}; "
        f"{format_bytes(storage.bytes_per_day)} a day of {storage.day_hours:g} h"
    )
    if storage.disk_bytes is None:
        return line + "; no retention by age: kept until free space runs short"
    return (
        line + f"; {storage.retention_days} days' retention needs "
        f"{format_bytes(storage.disk_bytes)} of disk "
        f"({format_bytes(storage.keep_free_bytes)} of it kept free)"
    )


def format_bytes(count: float) -> str:
    """Decimal units, as disks are sold: "724.3 MB", "1.2 TB"."""
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", MB), ("kB", 1000)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count:.0f} B"
