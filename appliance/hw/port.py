"""One gateway port as a clock-free state machine (the table is in state.py).

A driver feeds it `handle(event, now)` and carries out the actions that come back; it asks
`next_deadline()` after every call and calls `on_deadline(now)` when that time comes. The
simulator feeds line events at their true moments (a caller's hang-up included: the port
hides it for as long as its kind would); the live driver feeds what the gateway's SIP and
audio say. Both read `state`, `caller`, `called` and `capabilities`; neither needs the kind.
"""

from __future__ import annotations

from . import events as ev
from .capabilities import Capabilities, NumberArrival, Role
from .errors import PortError
from .state import IN_CALL, TIMERS, TRANSITIONS, PortState

Actions = list[ev.PortAction]


class Port:
    """A port named `name` (a gateway's port number, an E1's "span/channel") whose behaviour
    is `capabilities`. It starts idle, with no call."""

    def __init__(self, name: str, capabilities: Capabilities) -> None:
        self.name = name
        self.capabilities = capabilities
        self.state = PortState.IDLE
        self.caller = ""
        self.called = ""
        self._deadline: float | None = None
        self._ended_by = ""

    def __repr__(self) -> str:
        return f"Port({self.name!r}, {self.capabilities.kind}, {self.state.value})"

    # --- driving the machine -----------------------------------------------------------------

    def handle(self, event: ev.PortEvent, now: float) -> Actions:
        """Apply `event` at time `now`. Raises `PortError`, changing nothing, if the port's
        state does not allow it."""
        name = TRANSITIONS[self.state].get(type(event))
        if name is None:
            raise PortError(f"port {self.name} ({self.capabilities.kind}) is "
                            f"{self.state.value}: {type(event).__name__} not allowed")
        return getattr(self, "_on_" + name)(event, now)

    def next_deadline(self) -> float | None:
        """When the port next needs `on_deadline`; None: not until another event."""
        return self._deadline

    def on_deadline(self, now: float) -> Actions:
        """Run the port's timer if it is due at `now` (a stale call does nothing)."""
        if self._deadline is None or now < self._deadline:
            return []
        self._deadline = None
        return getattr(self, "_" + TIMERS[self.state])(now)

    @property
    def offered(self) -> bool:
        """Whether the port's call may be answered now."""
        return self.state is PortState.OFFERED

    @property
    def in_call(self) -> bool:
        """Whether the port is seized by a call (noticed or not)."""
        return self.state in IN_CALL

    # --- transitions -------------------------------------------------------------------------

    def _enter(self, state: PortState, deadline: float | None = None) -> None:
        self.state = state
        self._deadline = deadline if state in TIMERS else None

    def _on_ignore(self, event: ev.PortEvent, now: float) -> Actions:
        return []

    def _on_seize(self, event: ev.Seize, now: float) -> Actions:
        self._require(Role.TRUNK, "seized to dial out")
        self.caller, self.called = "", event.number
        self._enter(PortState.DIALING, now + self.capabilities.dial_time(event.number))
        return []

    def _on_ring(self, event: ev.Ring, now: float) -> Actions:
        self._require(Role.STATION, "rung")
        self.caller, self.called = event.caller, self.name
        self._enter(PortState.ALERTING)
        return [ev.Dialed()]

    def _on_incoming(self, event: ev.Incoming, now: float) -> Actions:
        caps = self.capabilities
        self.caller, self.called = event.caller or "", event.called or ""
        if caps.called_number is NumberArrival.DIALED:
            self._enter(PortState.COLLECTING, now + caps.interdigit_timeout)
            return []
        wait = caps.answerable_after - event.rang_for
        if wait > 0:
            self._enter(PortState.INCOMING, now + wait)
            return []
        return self._offer(now)

    def _on_caller_number(self, event: ev.CallerNumber, now: float) -> Actions:
        self.caller = event.number
        return []

    def _on_collect(self, event: ev.Digit, now: float) -> Actions:
        self.called += event.digit
        self._enter(PortState.COLLECTING, now + self.capabilities.interdigit_timeout)
        return []

    def _on_answer(self, event: ev.Answer, now: float) -> Actions:
        return self._connect()

    def _on_connect(self, event: ev.FarEndAnswer, now: float) -> Actions:
        return self._connect()

    def _on_digit(self, event: ev.Digit, now: float) -> Actions:
        return [ev.DigitReceived(event.digit)]

    def _on_release(self, event: ev.Release, now: float) -> Actions:
        return self._clear(now)

    def _on_far_end_gone(self, event: ev.FarEndDisconnect, now: float) -> Actions:
        return self._gone("far_end", self.capabilities.disconnect_delay, now)

    def _on_ring_gone(self, event: ev.FarEndDisconnect, now: float) -> Actions:
        return self._gone("abandoned", self.capabilities.ring_gone_delay, now)

    def _on_tone_noticed(self, event: ev.DisconnectTone, now: float) -> Actions:
        return [ev.Ended(self._ended_by or "far_end"), *self._clear(now)]

    def _on_fail(self, event: ev.Fail, now: float) -> Actions:
        lost = [ev.Ended("failed")] if self.in_call else []
        self._enter(PortState.OUT_OF_SERVICE)
        return lost

    def _on_restore(self, event: ev.Restore, now: float) -> Actions:
        self._enter(PortState.IDLE)
        return [ev.Idle()]

    # --- timers ------------------------------------------------------------------------------

    def _offer(self, now: float) -> Actions:
        self._enter(PortState.OFFERED)
        return [ev.Offered(self.caller, self.called)]

    def _number_complete(self, now: float) -> Actions:
        return self._offer(now)

    def _dialed(self, now: float) -> Actions:
        self._enter(PortState.ALERTING)
        return [ev.Dialed()]

    def _noticed(self, now: float) -> Actions:
        return [ev.Ended(self._ended_by), *self._clear(now)]

    def _cleared(self, now: float) -> Actions:
        return self._idle()

    # --- helpers -----------------------------------------------------------------------------

    def _require(self, role: Role, what: str) -> None:
        if self.capabilities.role is not role:
            raise PortError(f"port {self.name} ({self.capabilities.kind}) is a "
                            f"{self.capabilities.role.value} port: it cannot be {what}")

    def _connect(self) -> Actions:
        self._enter(PortState.CONNECTED)
        return [ev.Connected()]

    def _gone(self, reason: str, delay: float, now: float) -> Actions:
        """The far end left: noticed now if the kind says so at once, else after `delay`
        (the port stays seized meanwhile)."""
        if delay <= 0:
            return [ev.Ended(reason), *self._clear(now)]
        self._ended_by = reason
        self._enter(PortState.UNNOTICED, now + delay)
        return []

    def _clear(self, now: float) -> Actions:
        self._ended_by = ""
        if self.capabilities.release_time > 0:
            self._enter(PortState.CLEARING, now + self.capabilities.release_time)
            return []
        return self._idle()

    def _idle(self) -> Actions:
        self._enter(PortState.IDLE)
        self.caller = self.called = ""
        return [ev.Idle()]
