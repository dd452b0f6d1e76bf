"""A gateway: its ports, driven together. It routes events to a port by name, keeps one
deadline for them all, takes all or some of them out of service and back, and finds a free
port for an outgoing call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from . import events as ev
from .port import Port
from .state import PortState

PortActions = list[tuple[str, ev.PortAction]]
"""Actions with the name of the port each came from, in the order they happened."""


class Gateway:
    """Ports under one `name` (names unique within the gateway), in the gateway's order."""

    def __init__(self, name: str, ports: Sequence[Port]) -> None:
        self.name = name
        self.ports = {port.name: port for port in ports}
        if len(self.ports) != len(ports):
            raise ValueError(f"gateway {name}: port names repeat")

    def handle(self, port: str, event: ev.PortEvent, now: float) -> PortActions:
        """`Port.handle` on the port named `port` (KeyError if there is none)."""
        return _tagged(port, self.ports[port].handle(event, now))

    def next_deadline(self) -> float | None:
        """The earliest deadline of any port."""
        return min((d for p in self.ports.values() if (d := p.next_deadline()) is not None),
                   default=None)

    def on_deadline(self, now: float) -> PortActions:
        """Run every timer due at `now`, earliest first; equal ones in port order, so results
        never depend on how a driver orders its own timers."""
        actions: PortActions = []
        while (due := self._due(now)) is not None:
            actions += _tagged(due.name, due.on_deadline(now))
        return actions

    def fail(self, now: float, ports: Iterable[str] | None = None) -> PortActions:
        """Take `ports` (default: all) out of service; every call on them ends ("failed")."""
        return self._each(ports, ev.Fail(), now, lambda port: True)

    def restore(self, now: float, ports: Iterable[str] | None = None) -> PortActions:
        """Put those of `ports` (default: all) that are out of service back in service."""
        return self._each(ports, ev.Restore(), now,
                          lambda port: port.state is PortState.OUT_OF_SERVICE)

    def free_port(self, among: Iterable[str] | None = None) -> Port | None:
        """The first idle port of `among` (default: all), in the order given; None if every
        one is busy or out of service."""
        names = self.ports if among is None else among
        return next((self.ports[n] for n in names if self.ports[n].state is PortState.IDLE),
                    None)

    def _due(self, now: float) -> Port | None:
        due = [(d, i, p) for i, p in enumerate(self.ports.values())
               if (d := p.next_deadline()) is not None and d <= now]
        return min(due, key=lambda item: item[:2])[2] if due else None

    def _each(self, ports: Iterable[str] | None, event: ev.PortEvent, now: float,
              applies: Callable[[Port], bool]) -> PortActions:
        actions: PortActions = []
        for name in self.ports if ports is None else ports:
            if applies(self.ports[name]):
                actions += self.handle(name, event, now)
        return actions


def _tagged(port: str, actions: list[ev.PortAction]) -> PortActions:
    return [(port, action) for action in actions]
