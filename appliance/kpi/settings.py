"""What a KPI report is computed over: the window, the intervals and the thresholds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance.config import Site


@dataclass(frozen=True)
class QueueKpiSettings:
    """A queue's own thresholds, in seconds.

    ``sl_threshold``: a call answered after waiting this long or less counts as
    answered within the service level ("80 % in 20 s": 20).
    ``short_abandon``: a caller who hung up after waiting this long or less is a
    short abandon, reported apart and left out of the abandon rate.
    """

    sl_threshold: float = 20.0
    short_abandon: float = 20.0


@dataclass(frozen=True)
class KpiSettings:
    """The window, the interval grid and the thresholds of a report.

    Calls belong to the window and the interval of their ``CallOffered`` time:
    calls offered before ``window_start`` (the warm-up) or at or after
    ``window_end`` are left out entirely, and a call's later records (answer,
    wrap-up...) count for it even when they fall after the window. With
    ``window_end`` None every call offered from ``window_start`` on counts and
    agent time runs to the last record.

    Agent time is clipped to [window_start, window_end] and split at the
    interval boundaries. Intervals are aligned on the clock: an interval starts
    at a whole multiple of ``interval`` of clock time, the clock time at t=0
    being ``clock_origin`` seconds after midnight (28800 for 08:00).
    """

    interval: float = 1800.0
    window_start: float = 0.0
    window_end: float | None = None
    clock_origin: float = 0.0
    default_sl_threshold: float = 20.0
    default_short_abandon: float = 20.0
    queues: Mapping[str, QueueKpiSettings] = field(default_factory=dict)
    # First-call resolution: a call followed by another from the same number within this
    # many seconds of its end was not resolved (DOMAIN.md's "window").
    repeat_window: float = 86400.0

    def __post_init__(self) -> None:
        if not (self.interval > 0 and math.isfinite(self.interval)):
            raise ValueError(f"interval must be a positive number of seconds, not {self.interval}")
        if self.window_end is not None and self.window_end < self.window_start:
            raise ValueError(
                f"window_end {self.window_end} is before window_start {self.window_start}"
            )
        # A read-only copy: the settings are shared by every report made with them.
        object.__setattr__(self, "queues", MappingProxyType(dict(self.queues)))

    def __reduce__(self) -> tuple[object, ...]:
        # A mappingproxy does not pickle; reports travel between processes.
        return (
            type(self),
            (
                self.interval,
                self.window_start,
                self.window_end,
                self.clock_origin,
                self.default_sl_threshold,
                self.default_short_abandon,
                dict(self.queues),
                self.repeat_window,
            ),
        )

    def sl_threshold(self, queue: str) -> float:
        """The service-level threshold of ``queue`` (the default if not configured)."""
        own = self.queues.get(queue)
        return self.default_sl_threshold if own is None else own.sl_threshold

    def short_abandon(self, queue: str) -> float:
        """The short-abandon threshold of ``queue`` (the default if not configured)."""
        own = self.queues.get(queue)
        return self.default_short_abandon if own is None else own.short_abandon

    def to_dict(self) -> dict[str, object]:
        return {
            "interval": self.interval,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "clock_origin": self.clock_origin,
            "default_sl_threshold": self.default_sl_threshold,
            "default_short_abandon": self.default_short_abandon,
            "repeat_window": self.repeat_window,
            "queues": {
                name: {"sl_threshold": q.sl_threshold, "short_abandon": q.short_abandon}
                for name, q in sorted(self.queues.items())
            },
        }


def queue_thresholds(site: Site) -> dict[str, QueueKpiSettings]:
    """Each queue's service-level and short-abandon thresholds, as the site sets them."""
    return {
        q.name: QueueKpiSettings(
            sl_threshold=q.service_level.threshold, short_abandon=q.short_abandon
        )
        for q in site.queues
    }
