"""The clock seam under SimPy: simulated time, and timers as SimPy timeouts.

A SimPy timeout cannot be taken back, so a cancelled timer stays scheduled
and does nothing when it fires.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy
from simpy.events import Timeout


class SimTimer:
    __slots__ = ("cancelled", "fn")

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __call__(self, _event: object) -> None:
        if not self.cancelled:
            self.fn()


class SimClock:
    """``appliance.clock.Clock`` on a SimPy environment."""

    __slots__ = ("env",)

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env

    def now(self) -> float:
        return self.env.now

    def call_later(self, delay: float, fn: Callable[[], None]) -> SimTimer:
        timer = SimTimer(fn)
        Timeout(self.env, delay).callbacks.append(timer)
        return timer

    def after(
        self, delay: float, callback: Callable[[Timeout], None], value: object = None
    ) -> None:
        """Call ``callback(event)`` in ``delay`` simulated seconds (``event.value`` is
        ``value``); it cannot be cancelled.

        The testbed's hot path: callers and agents guard their callbacks with
        their own state instead of cancelling, which saves an object a timer.
        """
        Timeout(self.env, delay, value).callbacks.append(callback)
