"""Drive a sans-I/O core in simulated time.

After every input the driver hands the core's actions to their handlers. The
core's wake-up is set lazily: ``run`` steps SimPy itself and, before each step,
makes sure a wake-up exists if the core's next deadline comes before SimPy's
next event. A deadline that is cancelled before that moment (a ring answered
well within its timeout, the common case) never costs a SimPy event. The same
shape drives the core live under asyncio; only the clock differs.
"""

from __future__ import annotations

import math

from simpy.events import Timeout

from appliance.pbx.callcontrol import CallControl
from sim.channels.subscribers import Subscribers
from sim.clock import SimClock


class CoreDriver(Subscribers):
    """Subscribers (`on`) hear the core's actions after every input (`settle`); several
    may subscribe to one action type. Actions nobody subscribed to are dropped."""

    def __init__(self, clock: SimClock, core: CallControl) -> None:
        super().__init__()
        self.clock = clock
        self.core = core
        self._armed: set[float] = set()  # deadlines a SimPy wake-up is set for

    def settle(self) -> None:
        """Carry out the core's actions; call after every input."""
        actions = self.core.outbox
        if actions:
            handlers = self.handlers
            # Handlers only set timers; they never feed the core while we iterate.
            for action in actions:
                handler = handlers.get(type(action))
                if handler is not None:
                    handler(action)
            actions.clear()

    def run(self, until: float) -> None:
        """Step the simulation up to time ``until``, waking the core at its deadlines."""
        env = self.clock.env
        core = self.core
        deadlines = core.deadlines
        armed = self._armed
        next_deadline = core.next_deadline
        deadline = _or_never(next_deadline())
        deadlines.soonest = math.inf
        while True:
            if deadlines.soonest < deadline:  # a new timer comes before what we knew
                deadline = deadlines.soonest
            deadlines.soonest = math.inf
            following = env.peek()
            if deadline < following and deadline <= until:
                deadline = _or_never(next_deadline())  # drop timers cancelled meanwhile
                if deadline < following and deadline <= until and deadline not in armed:
                    armed.add(deadline)
                    Timeout(env, deadline - env.now, deadline).callbacks.append(self._wake)
                    continue
            if following > until:
                return
            env.step()

    def _wake(self, event: Timeout) -> None:
        deadline = event.value
        self._armed.discard(deadline)
        # now + (deadline - now) can miss the deadline by a rounding step;
        # never tell the core a time before the deadline it asked for.
        self.core.on_deadline(max(self.clock.env.now, deadline))
        self.settle()


def _or_never(deadline: float | None) -> float:
    # Not ``deadline or inf``: a deadline at time 0.0 is a deadline.
    return math.inf if deadline is None else deadline
