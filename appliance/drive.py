"""The one shape every driver has towards a sans-I/O core, and the wake-up it keeps armed.

A core says when it next needs attention (`next_deadline()`) and is told when that time comes
(`on_deadline(now)`), the aioquic shape. Every driver - SimPy in simulation, the simulated
network, asyncio's SIP and media sockets on the box - keeps one wake-up armed for that deadline
through a `Wakeup`, and hands it a way to schedule one: `loop.call_at`, a SimPy timeout, a heap.
Nothing here reads a clock: each driver says what time it is when a wake-up comes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from appliance.net import Address


class DeadlineCore(Protocol):
    """What a core offers its driver's timer."""

    def next_deadline(self) -> float | None:
        """When the core next needs `on_deadline`, or None if it never does."""
        ...

    def on_deadline(self, now: float) -> None:
        """Run whatever fell due at or before `now`."""
        ...


class DatagramCore(DeadlineCore, Protocol):
    """A core fed with datagrams: the B2BUA, and the testbed's phones and gateways. The live
    UDP driver and the simulated network drive it the same way."""

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        """Handle one datagram that arrived from `source`."""
        ...

    def take_datagrams(self) -> list[tuple[bytes, Address]]:
        """What to send, oldest first; the core's outbox is left empty."""
        ...


class Cancellable(Protocol):
    def cancel(self) -> None: ...


# Asked to wake the driver at `at` for `deadline` (`at` is the deadline, except after a failed
# wake-up). Returns what cancels that wake-up, or None where nothing can (a SimPy timeout).
Schedule = Callable[[float, float], "Cancellable | None"]


class Wakeup:
    """Keeps one wake-up armed for a core's next deadline.

    `rearm()` after every input (or `arm(deadline)` with a deadline the driver already knows)
    schedules a wake-up only when the deadline differs from the one armed, and cancels the
    superseded wake-up when the scheduler can. The driver's callback calls `fire(deadline, now)`:
    a superseded wake-up that could not be cancelled is ignored there, and one that comes early
    by at most `resolution` (a timer's own rounding) still tells the core its deadline is due.
    """

    __slots__ = ("_core", "_handle", "_resolution", "_schedule", "armed")

    def __init__(self, core: DeadlineCore, schedule: Schedule, resolution: float = 0.0) -> None:
        self._core = core
        self._schedule = schedule
        self._resolution = resolution
        self._handle: Cancellable | None = None
        self.armed: float | None = None

    def rearm(self) -> None:
        """Ask the core for its next deadline and keep a wake-up armed for it."""
        self.arm(self._core.next_deadline())

    def arm(self, deadline: float | None, at: float | None = None) -> None:
        """Keep a wake-up armed for `deadline` (None: none at all), at `at` if given."""
        if deadline == self.armed and at is None:
            return
        handle = self._handle
        if handle is not None:
            handle.cancel()
            self._handle = None
        self.armed = deadline
        if deadline is not None:
            self._handle = self._schedule(deadline, deadline if at is None else at)

    def fire(self, deadline: float, now: float) -> bool:
        """The wake-up scheduled for `deadline` came at `now`: wake the core. False, and the
        core left alone, if that wake-up was superseded or came too early (then it is armed
        again); the driver sends what the core queued and calls `rearm()` after a True."""
        if deadline != self.armed:
            return False
        if now < deadline - self._resolution:
            self._handle = self._schedule(deadline, deadline)
            return False
        self.armed = None
        self._handle = None
        self._core.on_deadline(deadline if now < deadline else now)
        return True
