"""Drive a sans-I/O core in simulated time.

After every input the driver hands the core's ``take_actions()`` to their
handlers. The core's wake-up is set lazily: ``run`` steps SimPy itself and,
before each step, has its ``Wakeup`` arm a SimPy timeout if the core's next
deadline comes before SimPy's next event. A deadline that is cancelled before
that moment (a ring answered well within its timeout, the common case) never
costs a SimPy event. The live drivers keep their wake-up with the same
``Wakeup``; only the way of scheduling one differs.
"""

from __future__ import annotations

import math

from simpy.events import Timeout

from appliance.drive import Wakeup
from appliance.pbx.callcontrol import CallControl
from sim.channels.subscribers import Subscribers
from sim.clock import SimClock

# SimPy fires a timeout at now + (deadline - now), which can miss the deadline by a rounding
# step; far below any time a call centre measures.
_ROUNDING = 1e-6


class CoreDriver(Subscribers):
    """Subscribers (`on`) hear the core's actions after every input (`settle`); several
    may subscribe to one action type. Actions nobody subscribed to are dropped."""

    def __init__(self, clock: SimClock, core: CallControl) -> None:
        super().__init__()
        self.clock = clock
        self._env = clock.env
        self.core = core
        self._take_actions = core.take_actions
        self._pending = core.pending
        self._wakeup = Wakeup(core, self._schedule, _ROUNDING)

    def settle(self) -> None:
        """Carry out the core's actions; call after every input."""
        if not self._pending:  # a third of the inputs queue no action: spare the call
            return
        handlers = self.handlers
        for action in self._take_actions():
            handler = handlers.get(type(action))
            if handler is not None:
                handler(action)

    def run(self, until: float) -> None:
        """Step the simulation up to time ``until``, waking the core at its deadlines."""
        env = self._env
        peek, step = env.peek, env.step  # bound once: the loop runs for every SimPy event
        core = self.core
        deadlines = core.deadlines
        wakeup = self._wakeup
        next_deadline = core.next_deadline
        inf = math.inf
        deadline = _or_never(next_deadline())
        deadlines.soonest = inf
        while True:
            soonest = deadlines.soonest
            if soonest != inf:  # a timer was set since the last look
                deadlines.soonest = inf
                if soonest < deadline:
                    deadline = soonest
            following = peek()
            if deadline < following and deadline <= until:
                known = next_deadline()  # drops timers cancelled meanwhile
                deadline = inf if known is None else known
                if deadline < following and deadline <= until and deadline != wakeup.armed:
                    wakeup.arm(deadline)
                    continue
            if following > until:
                return
            step()

    def _schedule(self, deadline: float, at: float) -> None:
        env = self._env
        Timeout(env, at - env.now, deadline).callbacks.append(self._wake)

    def _wake(self, event: Timeout) -> None:
        if self._wakeup.fire(event.value, self._env.now):
            self.settle()


def _or_never(deadline: float | None) -> float:
    # Not ``deadline or inf``: a deadline at time 0.0 is a deadline.
    return math.inf if deadline is None else deadline
