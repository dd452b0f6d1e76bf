"""Simulated time for the testbed: the SimPy environment, and callbacks after a delay.

A SimPy timeout cannot be taken back: whoever schedules one guards its callback with its own
state (a token, the agent's state) instead of cancelling it.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy
from simpy.events import Timeout


class SimClock:
    """One-shot callbacks on a SimPy environment (its time is ``env.now``)."""

    __slots__ = ("env",)

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env

    def after(
        self, delay: float, callback: Callable[[Timeout], None], value: object = None
    ) -> None:
        """Call ``callback(event)`` in ``delay`` simulated seconds (``event.value`` is
        ``value``); it cannot be cancelled.

        The testbed's hot path: callers and agents guard their callbacks with
        their own state instead of cancelling, which saves an object a timer.
        """
        Timeout(self.env, delay, value).callbacks.append(callback)
