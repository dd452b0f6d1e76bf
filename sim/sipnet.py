"""A simulated IP network for SIP cores: latency, jitter and loss, all from one seed.

Endpoints are sans-I/O cores (the appliance's B2BUA, the testbed's user agents) at their own
addresses. `SimulatedNetwork` delivers datagrams when their flight ends and wakes each core at
its next deadline, on a `TimeLine` it is given: its own small event loop (`EventQueue`) by
default, or a SimPy environment's (`sim.sipfidelity`). Either runs actions in time order, with
ties broken by the order they were scheduled in, so that a run replays exactly from its seed.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Protocol

from appliance.drive import DatagramCore, Wakeup
from appliance.net import Address


@dataclass(frozen=True)
class LinkQuality:
    latency: float = 0.005  # one way, seconds
    jitter: float = 0.0  # uniform extra delay in [0, jitter)
    loss: float = 0.0  # probability a datagram is dropped


class TimeLine(Protocol):
    """Where the network's time comes from and where its deliveries and wake-ups wait."""

    @property
    def now(self) -> float: ...

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run `action` at `when`; actions due at the same time run in the order given."""

    def run(self, until: float) -> None:
        """Run every action due up to `until`; `now` is then `until` (or later)."""


class EventQueue:
    """A time line of its own: a heap of (when, sequence, action)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = itertools.count()

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (when, next(self._sequence), action))

    def run(self, until: float) -> None:
        queue = self._queue
        while queue and queue[0][0] <= until:
            when, _, action = heapq.heappop(queue)
            self.now = max(self.now, when)
            action()
        self.now = max(self.now, until)


class SimulatedNetwork:
    def __init__(self, rng: Random, quality: LinkQuality = LinkQuality(),
                 timeline: TimeLine | None = None) -> None:
        self.rng = rng
        self.quality = quality
        self.timeline: TimeLine = EventQueue() if timeline is None else timeline
        self.cores: dict[Address, DatagramCore] = {}
        self._wakeups: dict[Address, Wakeup] = {}
        self.sent = 0
        self.lost = 0
        self.trace: list[tuple[float, Address, Address, bytes]] | None = None

    def attach(self, address: Address, core: DatagramCore) -> None:
        self.cores[address] = core
        self._wakeups[address] = Wakeup(
            core, lambda deadline, at: self.at(at, lambda: self._wake(address, deadline)))
        self._after_input(address)

    @property
    def now(self) -> float:
        """The time line's time: the network keeps none of its own."""
        return self.timeline.now

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run `action` at simulated time `when` (scripted callers and agents use this)."""
        self.timeline.at(when, action)

    def run(self, until: float) -> None:
        self.timeline.run(until)

    def poke(self, address: Address) -> None:
        """Send what the core at `address` has queued and re-arm its wake-up (call after any
        direct input to a core, e.g. a scripted `call()`)."""
        self._after_input(address)

    def _after_input(self, address: Address) -> None:
        core = self.cores[address]
        for data, destination in core.take_datagrams():
            self._transmit(address, destination, data)
        self._wakeups[address].rearm()

    def _wake(self, address: Address, deadline: float) -> None:
        if self._wakeups[address].fire(deadline, self.now):
            self._after_input(address)

    def _transmit(self, source: Address, destination: Address, data: bytes) -> None:
        self.sent += 1
        quality = self.quality
        if quality.loss and self.rng.random() < quality.loss:
            self.lost += 1
            return
        delay = quality.latency + (self.rng.random() * quality.jitter if quality.jitter else 0.0)
        if self.trace is not None:
            self.trace.append((self.now, source, destination, data))
        self.at(self.now + delay, lambda: self._arrive(source, destination, data))

    def _arrive(self, source: Address, destination: Address, data: bytes) -> None:
        core = self.cores.get(destination)
        if core is None:
            return  # nobody listens there: the datagram is dropped, as over UDP
        core.receive_datagram(data, source, self.now)
        self._after_input(destination)
