"""A gateway: its ports, driven together. It routes events to a port by name, keeps one
deadline for them all, takes all or some of them out of service and back - one E1 span at a
time too -, and finds a free port for an outgoing call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from . import events as ev
from .port import Port
from .state import PortState

PortActions = list[tuple[str, ev.PortAction]]
"""Actions with the name of the port each came from, in the order they happened."""


class Gateway:
    """Ports under one `name` (names unique within the gateway), in the gateway's order.
    `spans` names the E1 spans and the ports (bearer channels) of each: a span fails and
    comes back as a whole, its channels with it."""

    def __init__(self, name: str, ports: Sequence[Port],
                 spans: Mapping[str, Sequence[str]] | None = None) -> None:
        self.name = name
        self.ports = {port.name: port for port in ports}
        if len(self.ports) != len(ports):
            raise ValueError(f"gateway {name}: port names repeat")
        self.spans = {span: tuple(names) for span, names in (spans or {}).items()}
        self._span_of = {port: span for span, names in self.spans.items() for port in names}
        self.down = False  # the whole gateway failed (`fail` of every port)
        self.spans_down: set[str] = set()

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
        """Take `ports` (default: all, the gateway is down) out of service; every call on them
        ends ("failed")."""
        self.down = self.down or ports is None
        return self._each(ports, ev.Fail(), now, lambda port: True)

    def restore(self, now: float, ports: Iterable[str] | None = None) -> PortActions:
        """Put those of `ports` (default: all, the gateway is up) that are out of service back
        in service; none while the gateway is down, and the channels of a span that is down
        stay out."""
        self.down = self.down and ports is not None
        return self._each(ports, ev.Restore(), now, self._restorable)

    def span_of(self, port: str) -> str | None:
        """The span port `port` is a channel of; None for a port on no span."""
        return self._span_of.get(port)

    def fail_span(self, span: str, now: float) -> PortActions:
        """Span `span` is down (loss of signal, its D channel lost): its channels are out of
        service and every call on them ends ("failed"), as the D channel's loss clears them
        all at once. KeyError for a span the gateway has not."""
        self.spans_down.add(span)
        return self._each(self.spans[span], ev.Fail(), now, lambda port: True)

    def restore_span(self, span: str, now: float) -> PortActions:
        """Span `span` is up again: its channels are back in service, idle (unless the whole
        gateway is down: they come back with it)."""
        self.spans_down.discard(span)
        return self.restore(now, self.spans[span])

    def free_port(self, among: Iterable[str] | None = None) -> Port | None:
        """The first idle port of `among` (default: all), in the order given; None if every
        one is busy or out of service."""
        names = self.ports if among is None else among
        return next((self.ports[n] for n in names if self.ports[n].state is PortState.IDLE),
                    None)

    def _restorable(self, port: Port) -> bool:
        return (port.state is PortState.OUT_OF_SERVICE and not self.down
                and self._span_of.get(port.name) not in self.spans_down)

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
