"""Drive a sans-I/O core in simulated time.

After every input the driver hands the core's actions to their handlers and
keeps a wake-up armed for the core's next deadline. The same shape drives the
core live under asyncio; only the clock differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simpy.events import Timeout

from appliance.pbx.callcontrol import CallControl
from sim.clock import SimClock

Handler = Callable[[Any], None]


class CoreDriver:
    def __init__(self, clock: SimClock, core: CallControl) -> None:
        self.clock = clock
        self.core = core
        self.handlers: dict[type, Handler] = {}
        self._armed: set[float] = set()  # deadlines a SimPy wake-up is set for
        self._seen = -1  # the core's timer count when we last looked at its deadline

    def on(self, action_type: type, handler: Handler) -> None:
        """Send actions of ``action_type`` to ``handler`` (others are dropped)."""
        self.handlers[action_type] = handler

    def settle(self) -> None:
        """Carry out the core's actions and re-arm its wake-up; call after every input."""
        core = self.core
        actions = core.outbox
        if actions:
            handlers = self.handlers
            # Handlers only set timers; they never feed the core while we iterate.
            for action in actions:
                handler = handlers.get(type(action))
                if handler is not None:
                    handler(action)
            actions.clear()
        # Only a new timer can bring the next deadline closer (a cancelled one
        # just leaves a wake-up that finds nothing to do).
        scheduled = core.deadlines.scheduled
        if scheduled == self._seen:
            return
        self._seen = scheduled
        deadline = core.next_deadline()
        armed = self._armed
        if deadline is not None and deadline not in armed:
            if armed and deadline > min(armed):
                return  # an earlier wake-up will look again
            armed.add(deadline)
            env = self.clock.env
            Timeout(env, deadline - env.now, deadline).callbacks.append(self._wake)

    def _wake(self, event: Timeout) -> None:
        deadline = event.value
        self._armed.discard(deadline)
        # now + (deadline - now) can miss the deadline by a rounding step;
        # never tell the core a time before the deadline it asked for.
        self.core.on_deadline(max(self.clock.env.now, deadline))
        self._seen = -1  # the wake-up this deadline relied on is gone: look again
        self.settle()
