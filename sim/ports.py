"""Gateway ports in call fidelity: trunk calls ring on ports of their kind, and each port's
own state machine (`appliance/hw`) decides what the line costs.

A caller rings a free port of their call type's trunk group (of their `line`, where the
group's ports bring no called number). The call reaches call control only once the port
offers it (an analog line with caller ID: after the CLIP, seconds after the first ring); a
caller who hangs up before that is a lost ring, never offered. A caller who hangs up is a
far-end disconnect the port may notice late; until it does, and
while a port rings, clears or is out of service, the port holds one of its group's trunk
channels in call control, so that call control blocks calls exactly when every port is
busy. Faults (`traffic.faults`) take ports, E1 spans and whole gateways out of service; the
calls on them end. Sites without gateways never build this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from appliance.events import (
    CallEnded,
    CallOffered,
    LineBusy,
    PortCall,
    PortFailed,
    PortFreed,
    PortLateRelease,
    PortRestored,
    PortRingLost,
    new,
)
from appliance.hw import (
    Answer,
    FarEndDisconnect,
    Gateway,
    Idle,
    Incoming,
    Offered,
    Port,
    PortAction,
    PortActions,
    PortState,
    Release,
)
from appliance.pbx.actions import AnswerCaller, Connect
from sim.distributions import Sampler, sampler

if TYPE_CHECKING:
    from appliance.config import Site
    from appliance.config.schema import Faults
    from appliance.pbx.callcontrol import CallControl
    from sim.channels.direct import DirectChannel
    from sim.clock import SimClock
    from sim.streams import Streams
    from sim.traffic.callers import Caller

Offer = Callable[["Caller", str, str], None]
"""Offers a caller's call to call control on a line, with a called number."""

_DAY = 86400.0


class Line:
    """One trunk port as the driver sees it: the port, the group and line it serves, the
    call control call on it (0: none), whether it holds a trunk channel for itself."""

    __slots__ = (
        "call",
        "caller",
        "far_end_at",
        "gateway",
        "group",
        "held",
        "left",
        "line",
        "offer",
        "port",
        "rang_at",
        "seized_at",
        "timer",
    )

    def __init__(self, gateway: str, port: Port, group: str, line: str) -> None:
        self.gateway, self.port, self.group, self.line = gateway, port, group, line
        self.call = 0
        self.held = False
        self.left = False  # the caller hung up (not the appliance)
        self.far_end_at: float | None = None
        self.rang_at = 0.0
        self.seized_at: float | None = None  # when the port left idle for its current call
        self.timer: float | None = None
        self.caller: Caller | None = None
        self.offer: Offer | None = None


class SimPorts:
    """The trunk ports of `site`'s gateways, driven in simulated time beside `core`."""

    def __init__(self, site: Site, core: CallControl, channel: DirectChannel,
                 clock: SimClock, streams: Streams) -> None:
        self.core, self.clock, self.channel = core, clock, channel
        self.log = core.log.append
        self.gateways: dict[str, Gateway] = {g.name: g.product().build(g.name)
                                             for g in site.gateways}
        self.groups: dict[str, list[Line]] = {}
        for gateway in site.gateways:
            for mapping in gateway.ports:
                if mapping.trunk_group is not None:
                    self.groups.setdefault(mapping.trunk_group, []).extend(
                        Line(gateway.name, self.gateways[gateway.name].ports[str(n)],
                             mapping.trunk_group, mapping.line or "")
                        for n in mapping.numbers())
        self.lines = {(line.gateway, line.port.name): line
                      for lines in self.groups.values() for line in lines}
        self.by_call: dict[int, Line] = {}
        self.ringing: dict[Caller, Line] = {}  # callers whose port has not offered the call
        self._offering: Line | None = None
        channel.on(AnswerCaller, self._answered)
        channel.on(Connect, self._answered)
        core.log.subscribe(self._record, (CallOffered, CallEnded))
        self._hang_up = channel.hang_up
        channel.hang_up = self._caller_hangs_up  # type: ignore[method-assign]
        assert site.traffic is not None
        self.faults = FaultInjection(self, site.traffic.faults, streams)

    def serves(self, trunk_group: str) -> bool:
        return trunk_group in self.groups

    def dial_time(self, trunk_group: str, number: str) -> float:
        """Seconds from seizing a port of `trunk_group` to `number` having gone out (dial
        tone, then digit by digit on analog); 0 for a group no gateway serves. Outgoing calls
        hold a channel of the group in call control, not a port of their own."""
        lines = self.groups.get(trunk_group)
        return lines[0].port.capabilities.dial_time(number) if lines else 0.0

    # --- calls in ----------------------------------------------------------------------

    def arrive(self, caller: Caller, offer: Offer) -> bool:
        """`caller` rings a free port of their group (and line); `offer` hands the call to
        call control once the port offers it. With every port busy, call control blocks it;
        False (and `LineBusy`) when every port of the caller's line is busy."""
        call_type = caller.call_type
        wanted = call_type.config.line
        line = self._free(call_type.trunk_group, wanted)
        if line is None:
            if wanted is None:
                offer(caller, "", call_type.dnis)
                return True
            self.log(new(LineBusy, (self.clock.env.now, call_type.trunk_group, wanted)))
            return False
        caps = line.port.capabilities
        line.caller, line.offer = caller, offer
        line.rang_at = line.seized_at = self.clock.env.now
        self.ringing[caller] = line
        incoming = Incoming(caller.ani if caps.has_caller_number else None,
                            call_type.dnis if caps.has_called_number else None)
        self._handle(line, incoming)
        return True

    def ring_abandoned(self, caller: Caller) -> None:
        """`caller` hangs up while their port still rings: a lost ring (`PortRingLost`), the
        call never offered; the port notices when the next ring does not come."""
        line = self.ringing.pop(caller, None)
        if line is None:
            return
        now = self.clock.env.now
        line.caller = line.offer = None
        self.log(new(PortRingLost, (now, line.gateway, line.port.name, line.group, line.line,
                                    now - line.rang_at)))
        self._handle(line, FarEndDisconnect())
        if line.port.state is PortState.UNNOTICED:
            line.far_end_at = now

    def _free(self, group: str, wanted: str | None) -> Line | None:
        return next((line for line in self.groups[group]
                     if line.port.state is PortState.IDLE
                     and (wanted is None or line.line == wanted)), None)

    def _offered(self, line: Line, action: Offered) -> None:
        caller, offer, now = line.caller, line.offer, self.clock.env.now
        assert caller is not None and offer is not None
        line.caller = line.offer = None
        del self.ringing[caller]
        self._unhold(line)
        self._offering = line
        offer(caller, line.line, action.called)
        self._offering = None
        if line.call:
            self.log(new(PortCall, (now, line.call, line.gateway, line.port.name, line.group,
                                    line.port.capabilities.kind, line.line, now - line.rang_at)))

    # --- what call control and the caller do -------------------------------------------

    def _record(self, record: CallOffered | CallEnded) -> None:
        if type(record) is CallOffered:
            line = self._offering
            if line is not None:
                line.call, line.left = record.call, False
                self.by_call[record.call] = line
            return
        line = self.by_call.pop(record.call, None)
        if line is None:
            return
        line.call = 0
        if line.port.in_call:
            self._handle(line, FarEndDisconnect() if line.left else Release())
            if line.port.state is PortState.UNNOTICED:  # the port will notice late
                line.far_end_at = self.clock.env.now
        self._sync(line)

    def _caller_hangs_up(self, call: int) -> None:
        line = self.by_call.get(call)
        if line is not None:
            line.left = True
        self._hang_up(call)

    def _answered(self, action: AnswerCaller | Connect) -> None:
        line = self.by_call.get(action.call)
        if line is not None and line.port.offered:
            self._handle(line, Answer())

    # --- the ports ---------------------------------------------------------------------

    def _handle(self, line: Line, event: object) -> None:
        self._carry_out(line, line.port.handle(event, self.clock.env.now))  # type: ignore[arg-type]

    def _carry_out(self, line: Line, actions: list[PortAction]) -> None:
        for action in actions:
            if type(action) is Offered:
                self._offered(line, action)
            elif type(action) is Idle:
                self._freed(line)
        self._sync(line)
        self._arm(line)

    def _freed(self, line: Line) -> None:
        now = self.clock.env.now
        if line.seized_at is not None:
            self.log(new(PortFreed, (now, line.gateway, line.port.name, line.group,
                                     now - line.seized_at)))
            line.seized_at = None
        if line.far_end_at is not None:
            self.log(new(PortLateRelease, (now, line.gateway, line.port.name, line.group,
                                           now - line.far_end_at)))
            line.far_end_at = None

    def _arm(self, line: Line) -> None:
        deadline = line.port.next_deadline()
        if deadline is not None and deadline != line.timer:
            line.timer = deadline
            self.clock.after(deadline - self.clock.env.now, self._due, (line, deadline))

    def _due(self, event: object) -> None:
        line, deadline = event.value  # type: ignore[attr-defined]
        if line.timer != deadline:
            return  # the port moved on meanwhile
        line.timer = None
        # A timer fires at now + (deadline - now): the port is told its own deadline.
        self._carry_out(line, line.port.on_deadline(max(deadline, self.clock.env.now)))

    def _sync(self, line: Line) -> None:
        """A port busy with no call in call control holds a channel of its group there."""
        if line.port.state is not PortState.IDLE and not line.call:
            if not line.held:
                line.held = self.core.seize_trunk(line.group)
        else:
            self._unhold(line)

    def _unhold(self, line: Line) -> None:
        if line.held:
            line.held = False
            self.core.release_trunk(line.group)

    # --- failures ----------------------------------------------------------------------

    def fail(self, gateway: str, ports: list[str] | None = None) -> None:
        """Take `ports` of `gateway` (default: all: the gateway is down) out of service; the
        calls on them end, each `PortFailed` record naming the call it cost."""
        product = self.gateways[gateway]
        failing = self._in_service(product, ports or list(product.ports))
        product.fail(self.clock.env.now, None if ports is None else failing)
        self._failed(gateway, failing)

    def fail_span(self, gateway: str, span: str) -> None:
        """E1 span `span` of `gateway` is down: its 30 channels go out of service at once and
        their calls end, as `fail`."""
        product = self.gateways[gateway]
        failing = self._in_service(product, product.spans[span])
        product.fail_span(span, self.clock.env.now)
        self._failed(gateway, failing)

    @staticmethod
    def _in_service(product: Gateway, ports: Iterable[str]) -> list[str]:
        return [name for name in ports
                if product.ports[name].state is not PortState.OUT_OF_SERVICE]

    def _failed(self, gateway: str, failing: list[str]) -> None:
        now = self.clock.env.now
        for name in failing:
            if (line := self.lines.get((gateway, name))) is not None:
                self.log(new(PortFailed, (now, gateway, name, line.group, line.call)))
                self._lost(line)
                self._ring_cut(line)
                line.far_end_at = line.timer = line.seized_at = None
                self._sync(line)

    def _lost(self, line: Line) -> None:
        """The call on a failed port ends: its caller is cut off."""
        call = line.call
        if not call:
            return
        conversation = self.channel.conversation(call)
        if conversation is not None and hasattr(conversation, "waiting"):
            conversation.waiting = False
        self.by_call.pop(call, None)
        self._hang_up(call)
        line.call = 0

    def _ring_cut(self, line: Line) -> None:
        """A caller whose port failed while it rang is cut off, the call never offered."""
        if line.caller is not None:
            self.ringing.pop(line.caller, None)
            line.caller.waiting = False
        line.caller = line.offer = None

    def restore(self, gateway: str, ports: list[str] | None = None) -> None:
        """Put `ports` of `gateway` (default: all) back in service (those of a span that is
        down stay out)."""
        self._restored(gateway, self.gateways[gateway].restore(self.clock.env.now, ports))

    def restore_span(self, gateway: str, span: str) -> None:
        """E1 span `span` of `gateway` is up again: its channels are back, idle."""
        self._restored(gateway, self.gateways[gateway].restore_span(span, self.clock.env.now))

    def _restored(self, gateway: str, actions: PortActions) -> None:
        now = self.clock.env.now
        for name, _action in actions:
            if (line := self.lines.get((gateway, name))) is not None:
                self.log(new(PortRestored, (now, gateway, name)))
                self._sync(line)


class _Fault(NamedTuple):
    """One thing that fails `per_day` times a day (Poisson) and is back after `repair()`."""

    per_day: float
    repair: Sampler
    fail: Callable[[], None]
    restore: Callable[[], None]


class FaultInjection:
    """Failures and repairs of `ports`' gateways, E1 spans and lines at `rates`, drawn from
    their own streams (the same seed fails the same lines at the same moments)."""

    def __init__(self, ports: SimPorts, rates: Faults, streams: Streams) -> None:
        self.ports = ports
        self.rates = rates
        self.rng = streams("port-faults")
        self.repair = sampler(rates.repair, streams("port-repairs"))
        self.span_repair = (self.repair if rates.span_repair is None
                            else sampler(rates.span_repair, streams("span-repairs")))

    def start(self) -> None:
        for fault in self._faults():
            if fault.per_day > 0:
                self._next(fault)

    def _faults(self) -> Iterator[_Fault]:
        """Every fault in a fixed order: per gateway, the gateway, its lines, its spans."""
        rates, ports = self.rates, self.ports
        for gateway, product in ports.gateways.items():
            yield _Fault(rates.gateway_failures_per_day, self.repair,
                         partial(ports.fail, gateway), partial(ports.restore, gateway))
            for name in product.ports:
                yield _Fault(rates.line_failures_per_day, self.repair,
                             partial(ports.fail, gateway, [name]),
                             partial(ports.restore, gateway, [name]))
            for span in product.spans:
                yield _Fault(rates.span_failures_per_day, self.span_repair,
                             partial(ports.fail_span, gateway, span),
                             partial(ports.restore_span, gateway, span))

    def _next(self, fault: _Fault) -> None:
        self.ports.clock.after(self.rng.expovariate(fault.per_day / _DAY), self._fail, fault)

    def _fail(self, event: object) -> None:
        fault: _Fault = event.value  # type: ignore[attr-defined]
        fault.fail()
        self.ports.clock.after(fault.repair(), self._restore, fault)

    def _restore(self, event: object) -> None:
        fault: _Fault = event.value  # type: ignore[attr-defined]
        fault.restore()
        self._next(fault)
