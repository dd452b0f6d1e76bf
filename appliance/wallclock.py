"""The local date and time at a core's time `t`: what schedules, holiday calendars and an
IVR's DATE and TIME read.

Cores never read a clock: a driver hands them a `WallClock`, a function of the core's own time.
Live, `t == 0` is a known Unix time; in simulation it is the start of the simulated day, so a
run's schedules and holidays fall where the site's calendar puts them, whatever the real date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

WallClock = Callable[[float], datetime]
"""Core time `t` -> the local date and time then (naive: the site's own time zone)."""


def from_origin(origin: datetime) -> WallClock:
    """`t` seconds after `origin`, a naive local date and time."""
    return lambda t: origin + timedelta(seconds=t)


def from_unix(unix_time_at_zero: float) -> WallClock:
    """`t` seconds after the Unix time `unix_time_at_zero`, in the machine's local time zone."""
    return lambda t: datetime.fromtimestamp(unix_time_at_zero + t)
