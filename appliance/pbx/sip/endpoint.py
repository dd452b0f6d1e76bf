"""The shape every SIP element here shares: a transaction layer, a timer heap and an outbox of
datagrams, driven by `receive_datagram` / `on_deadline` and drained with `take_datagrams`."""

from __future__ import annotations

from appliance.clock import Deadlines
from appliance.net import Address
from appliance.pbx.sip.layer import SendTo, TransactionLayer, TransactionTimeout
from appliance.pbx.sip.transaction import Deliver, Key


class Endpoint:
    """Subclasses handle what the layer delivers (`_deliver`) and its timeouts (`_timed_out`);
    `_pump` runs after every input."""

    def __init__(self, deadlines: Deadlines, methods: frozenset[str],
                 extensions: frozenset[str] = frozenset()) -> None:
        self.deadlines = deadlines
        self.layer = TransactionLayer(deadlines, methods, extensions)
        self._out: list[tuple[bytes, Address]] = []

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        self.layer.receive_datagram(data, source, now)
        self._pump(now)

    def take_datagrams(self) -> list[tuple[bytes, Address]]:
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> float | None:
        return self.deadlines.next_deadline()

    def on_deadline(self, now: float) -> None:
        self.layer.on_deadline(now)
        self._pump(now)

    def _pump(self, now: float) -> None:
        """Carry out the layer's effects until it has none left."""
        while effects := self.layer.take_effects():
            self._carry_out(effects, now)

    def _carry_out(self, effects: list, now: float) -> None:
        out = self._out
        for effect in effects:
            kind = type(effect)
            if kind is SendTo:
                out.append((effect.data, effect.destination))
            elif kind is Deliver:
                self._deliver(effect.message, now)
            elif kind is TransactionTimeout:
                self._timed_out(effect.key, now)

    def _deliver(self, message: object, now: float) -> None:
        raise NotImplementedError

    def _timed_out(self, key: Key, now: float) -> None:
        raise NotImplementedError
