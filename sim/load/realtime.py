"""A SimPy environment run in step with wall time under asyncio (not `simpy.rt`).

The pacer sleeps until the wall time of the environment's next event, or until something
from outside (a datagram, a record from the box) is handed in, and then runs the environment
up to the wall time it is: simulated time 0 is the moment `run` starts, one simulated second
is one wall second. What is handed in runs at the simulated time of its arrival, after every
event due before it. How late events ran (`Lag`) is kept: a load generator that cannot keep
up shows it there before its figures mean anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import simpy
from simpy.events import Timeout

Action = Callable[[float], None]

# The box's own (`appliance.live.app`): a young generation this large is collected every few
# thousand calls, in about a millisecond on average.
COLLECT_EVERY = (50_000, 20, 20)


@contextlib.contextmanager
def collector_quieted() -> Iterator[None]:
    """The cyclic garbage collector, inside, never over what was alive on entry and less
    often; as it was on exit. A full collection over the site, the models and every library
    imported stops the load for a fifth of a second: the events due meanwhile run late, and
    the datagrams they send reach the box in one burst that it may refuse as overload."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECT_EVERY)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


@dataclass
class Lag:
    """How late the environment's events ran, in wall seconds: the worst, and the sum and
    count of the lateness at each step that had events due (their mean)."""

    worst: float = 0.0
    total: float = 0.0
    steps: int = 0

    def reset(self) -> None:
        """Count afresh from now (a benchmark's window after its warm-up)."""
        self.worst = self.total = 0.0
        self.steps = 0

    def observe(self, late: float) -> None:
        self.worst = max(self.worst, late)
        self.total += late
        self.steps += 1

    @property
    def mean(self) -> float:
        return self.total / self.steps if self.steps else 0.0


class Pacer:
    """Runs `env` in real time from `run()` on; `hand_in(action)` runs `action(now)` at the
    simulated time it is called (from the event loop's callbacks: socket readers, polls)."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.lag = Lag()
        self._origin: float | None = None
        self._wake: asyncio.Event | None = None
        self._failure: BaseException | None = None

    def wall_now(self) -> float:
        """The simulated time the wall clock says it is (0 before `run` starts)."""
        if self._origin is None:
            return self.env.now
        return asyncio.get_running_loop().time() - self._origin

    async def run(self, until: float) -> None:
        """Run the environment up to simulated time `until`, in step with wall time; raises
        what an event or a handed-in action raised."""
        loop = asyncio.get_running_loop()
        if self._origin is None:
            self._origin = loop.time() - self.env.now
            self._wake = asyncio.Event()
        while self.env.now < until:
            self._raise_failure()
            self.catch_up(min(self.wall_now(), until))
            await self._sleep(min(self.env.peek(), until) - self.wall_now())
        self._raise_failure()

    def catch_up(self, now: float) -> None:
        """Run every event due by `now` and set the time to `now`."""
        env = self.env
        due = env.peek()
        if due < now:
            self.lag.observe(now - due)
        if now > env.now:
            # Not `env.run(until=now)`: that leaves its stop event at `now` in the queue,
            # and `peek()` would say something is always due.
            mark = Timeout(env, now - env.now)
            while not mark.processed:
                env.step()

    def hand_in(self, action: Action) -> None:
        """Run `action(now)` at the simulated time it is now, once what was due before has
        run; wakes the pacer to look again at what is due next. What it raises ends `run`."""
        try:
            self.catch_up(self.wall_now())
            action(self.env.now)
        except Exception as error:  # the run stops with it: a caller of ours must hear
            self._failure = self._failure or error
        if self._wake is not None:
            self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None
        self._wake.clear()
        if seconds <= 0:
            await asyncio.sleep(0)  # let sockets and polls in between steps
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure
