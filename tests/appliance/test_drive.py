"""`Wakeup`: one wake-up armed for a core's deadline, whatever schedules it.

The scheduler here is a `Deadlines` heap moved by hand, as a manual clock: with `cancellable`
it cancels superseded wake-ups like asyncio's `call_at`; without, it leaves them to fire like
SimPy's timeouts.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.clock import Deadlines, TimerHandle
from appliance.drive import Wakeup


class Core:
    """A core with its own timer heap, recording when it was woken and at what time."""

    def __init__(self) -> None:
        self.deadlines = Deadlines()
        self.woken: list[float] = []
        self.fired: list[float] = []

    def set_timer(self, when: float) -> TimerHandle:
        return self.deadlines.schedule(when, lambda now: self.fired.append(now))

    def next_deadline(self) -> float | None:
        return self.deadlines.next_deadline()

    def on_deadline(self, now: float) -> None:
        self.woken.append(now)
        self.deadlines.run_due(now)


class Driver:
    """A driver on a hand-moved clock; `early` makes the first wake-up come that much early."""

    def __init__(self, core: Core, cancellable: bool, early: float = 0.0,
                 resolution: float = 0.0) -> None:
        self.core = core
        self.cancellable = cancellable
        self.early = early
        self.clock = Deadlines()
        self.scheduled: list[float] = []
        self.wakeup = Wakeup(core, self._schedule, resolution)

    def _schedule(self, deadline: float, at: float) -> TimerHandle | None:
        self.scheduled.append(at)
        handle = self.clock.schedule(at - self.early, self._on_timer, deadline)
        self.early = 0.0
        return handle if self.cancellable else None

    def _on_timer(self, now: float, deadline: float) -> None:
        if self.wakeup.fire(deadline, now):
            self.wakeup.rearm()

    def advance(self, until: float) -> None:
        while (when := self.clock.next_deadline()) is not None and when <= until:
            self.clock.run_due(when)


def test_the_wake_up_is_scheduled_again_only_when_the_deadline_changes() -> None:
    core = Core()
    driver = Driver(core, cancellable=True)
    core.set_timer(10.0)
    for _ in range(3):
        driver.wakeup.rearm()
    core.set_timer(20.0)
    driver.wakeup.rearm()
    assert driver.scheduled == [10.0]
    core.set_timer(5.0)
    driver.wakeup.rearm()
    assert driver.scheduled == [10.0, 5.0]


def test_a_superseded_wake_up_that_cannot_be_cancelled_wakes_nobody() -> None:
    core = Core()
    driver = Driver(core, cancellable=False)
    late = core.set_timer(10.0)
    driver.wakeup.rearm()
    late.cancel()
    core.set_timer(30.0)
    driver.wakeup.rearm()
    driver.advance(100.0)
    assert core.woken == [30.0]


def test_a_cancelled_deadline_disarms_the_wake_up() -> None:
    core = Core()
    driver = Driver(core, cancellable=True)
    core.set_timer(10.0).cancel()
    driver.wakeup.arm(10.0)
    driver.wakeup.rearm()
    driver.advance(100.0)
    assert driver.wakeup.armed is None and core.woken == []


def test_a_wake_up_early_by_the_resolution_tells_the_core_its_deadline() -> None:
    core = Core()
    driver = Driver(core, cancellable=True, early=1e-9, resolution=1e-6)
    core.set_timer(10.0)
    driver.wakeup.rearm()
    driver.advance(100.0)
    assert core.woken == [10.0] and core.fired == [10.0]


def test_a_wake_up_earlier_than_the_resolution_waits_for_the_deadline() -> None:
    core = Core()
    driver = Driver(core, cancellable=True, early=0.5, resolution=1e-6)
    core.set_timer(10.0)
    driver.wakeup.rearm()
    driver.clock.run_due(9.5)
    assert core.woken == [] and driver.wakeup.armed == 10.0
    driver.advance(100.0)
    assert core.woken == [10.0] and driver.scheduled == [10.0, 10.0]


def test_a_wake_up_can_be_put_off_past_its_deadline() -> None:
    core = Core()
    driver = Driver(core, cancellable=True)
    core.set_timer(10.0)
    driver.wakeup.arm(10.0, at=10.05)  # after a failure, say
    driver.wakeup.rearm()  # the same deadline: left where it was put
    driver.advance(100.0)
    assert core.woken == [10.05]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 100), st.integers(1, 50), st.booleans()), max_size=40),
    st.booleans(),
)
def test_every_timer_fires_once_on_time_however_inputs_interleave(
    inputs: list[tuple[int, int, bool]], cancellable: bool
) -> None:
    """Inputs at whole seconds set timers (some later cancelled); the core is woken exactly
    when a live timer is due, whether superseded wake-ups are cancelled or left to fire."""
    core = Core()
    driver = Driver(core, cancellable)
    expected: list[float] = []
    for at, delay, cancel in sorted(inputs):
        driver.advance(float(at))
        handle = core.set_timer(at + delay + 0.5)
        if cancel:
            handle.cancel()
        else:
            expected.append(at + delay + 0.5)
        driver.wakeup.rearm()
    driver.advance(1000.0)
    assert core.fired == sorted(expected)
    assert core.woken == sorted(set(expected))
