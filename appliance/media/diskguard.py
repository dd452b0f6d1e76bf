"""Stop recording before the disk fills, and start again once there is room.

Two thresholds rather than one so that a disk hovering around the limit (a recording closing, a
clean-up freeing a file) raises one alarm, not one per measurement. The guard only judges the
free space it is told about; measuring it is the caller's I/O.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DiskAlarm:
    """A change of the recording disk's state: `raised` when it went low, else recovered."""

    raised: bool
    free_bytes: int
    at: float


class DiskGuard:
    """Recording is allowed until free space drops below `stop_below` bytes, then again once it
    reaches `resume_above` bytes.

    `update()` returns an alarm only when the state changes, so alarms alternate raised and
    recovered, starting with raised, and `recording_allowed` is False exactly while the last
    alarm is a raised one.
    """

    def __init__(self, stop_below: int, resume_above: int) -> None:
        if resume_above < stop_below:
            raise ValueError(
                f"resume_above ({resume_above}) must not be below stop_below ({stop_below})"
            )
        self.stop_below = stop_below
        self.resume_above = resume_above
        self._allowed = True

    @property
    def recording_allowed(self) -> bool:
        return self._allowed

    def update(self, free_bytes: int, now: float) -> DiskAlarm | None:
        """Take a measurement of free space; the alarm if it changes the state, else None."""
        if self._allowed and free_bytes < self.stop_below:
            self._allowed = False
            return DiskAlarm(raised=True, free_bytes=free_bytes, at=now)
        if not self._allowed and free_bytes >= self.resume_above:
            self._allowed = True
            return DiskAlarm(raised=False, free_bytes=free_bytes, at=now)
        return None
