"""The interval grid: clock-aligned intervals, numbered from the window's start."""

from __future__ import annotations

import math

from appliance.kpi.settings import KpiSettings


class Grid:
    """Interval k covers [start(k), start(k+1)) of the records' clock, clipped to the window.

    Interval 0 is the one holding ``window_start``; boundaries fall on whole
    multiples of the interval length in clock time (t + clock_origin).
    """

    __slots__ = ("_base", "_origin", "_texts", "size", "window_start")

    def __init__(self, settings: KpiSettings) -> None:
        self.size = settings.interval
        self._origin = settings.clock_origin
        self.window_start = settings.window_start
        self._base = math.floor((self._origin + self.window_start) / self.size)
        # Each time of day's text, made once: a run of many days labels it once a day.
        self._texts: dict[float, str] = {}

    def index(self, t: float) -> int:
        """The interval holding t (t at or after the window's start)."""
        return max(0, math.floor((self._origin + t) / self.size) - self._base)

    def start(self, k: int) -> float:
        """The nominal start of interval k, on the records' clock (not clipped)."""
        return (self._base + k) * self.size - self._origin

    def count(self, end: float) -> int:
        """How many intervals overlap [window_start, end)."""
        if end <= self.window_start:
            return 0
        return math.ceil((self._origin + end) / self.size) - self._base

    def label(self, k: int) -> str:
        """The nominal clock times of interval k, "08:00-08:30"; from the second day
        on with the day, "d2 08:00-08:30"."""
        day, begin = divmod((self._base + k) * self.size, 86400)
        text = self._texts.get(begin)
        if text is None:
            text = self._texts[begin] = (
                f"{_clock(begin, self.size)}-{_clock(begin + self.size, self.size)}"
            )
        return text if day == 0 else f"d{int(day) + 1} {text}"


def _clock(seconds: float, step: float) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{int(hours):02d}:{int(minutes):02d}"
    if step % 60:
        text += f":{secs:06.3f}" if step % 1 else f":{int(secs):02d}"
    return text
