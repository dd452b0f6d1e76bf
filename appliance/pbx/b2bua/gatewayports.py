"""The site's gateway ports as the B2BUA sees them: which port a gateway's INVITE came from,
its trunk group and line, the call it carries, and the port's state machine (`appliance/hw`)
driven by what SIP and the received audio say. Only ports mapped to trunk groups take calls
here; station ports are agents' phones (`seatports.py`).

A port counts as answered once its call is taken in: an FXO gateway takes its line off-hook
to pass the call on. A BYE from the gateway means the gateway noticed the hang-up, so it
releases the port at once; busy or reorder tone heard in the line's audio (`line_tone`) is
how the appliance notices one the gateway did not.

An E1 gateway whose span is down (loss of signal, its D channel lost) still answers OPTIONS,
but refuses a call out on that span's channels: 503 (or 480, 502) with `Reason: Q.850;
cause=38` (network out of order) or 27 (destination out of order). The span then takes no
calls out for `span_retry` seconds (`span_refused`), so that they go to the channels of other
spans and gateways; calls in on it are taken as ever, since the gateway alone knows.

A gateway that registers instead of having an address (`SiteGateway.registration`) is where
its registration says (`locate`): its ports are out of service while it (or, with an account
per port, the port) has no registration, and back once it registers again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from appliance.clock import Deadlines, TimerHandle
from appliance.config.gateways import SiteGateway
from appliance.config.live import parse_contact
from appliance.hw import (
    Answer,
    Capabilities,
    DisconnectTone,
    Ended,
    FarEndAnswer,
    Gateway,
    Incoming,
    PortActions,
    PortError,
    PortEvent,
    PortState,
    Release,
    Seize,
    Supervision,
)
from appliance.hw.tones import Cadence
from appliance.net import Address

# A gateway's refusal that says the port's E1 span is down: the statuses RFC 3398 maps
# Q.850 causes 27 (destination out of order) and 38 (network out of order) to (502, 503),
# and the 480 some gateways send instead.
SPAN_DOWN_STATUSES = frozenset({480, 502, 503})
SPAN_DOWN_CAUSES = frozenset({27, 38})


@dataclass(frozen=True, slots=True)
class PortRef:
    """Port `port` of gateway `gateway`, serving `group` (on `line`, "" when unnamed)."""

    gateway: str
    port: str
    group: str
    line: str
    capabilities: Capabilities
    tones: tuple[Cadence, ...]  # the busy and reorder tones of its line

    @property
    def listens_for_tone(self) -> bool:
        """Whether the appliance must hear a far-end hang-up in this line's audio."""
        return self.capabilities.supervision is Supervision.TONE

    @property
    def silence_bound(self) -> float:
        """Seconds of silence in this line's audio that mean its far end hung up; 0.0 when
        its hang-ups are told some other way."""
        caps = self.capabilities
        return caps.disconnect_delay if caps.supervision is Supervision.TIMEOUT else 0.0


class GatewayPorts:
    """The trunk ports of the site's gateways (`apply`); `deadlines` runs the ports' timers
    (the guard time before a released line is free)."""

    def __init__(self, deadlines: Deadlines) -> None:
        self.deadlines = deadlines
        self.span_retry = 60.0
        self.site_gateways: list[SiteGateway] = []
        self.gateways: dict[str, Gateway] = {}
        self.refs: dict[tuple[str, str], PortRef] = {}
        self._where: dict[tuple[str, int], tuple[SiteGateway, int]] = {}
        # Registering gateways: each account's (gateway, port; None: the gateway's one
        # account), and where each such account is registered from.
        self.accounts: dict[str, tuple[str, int | None]] = {}
        self._at: dict[tuple[str, int | None], Address] = {}
        self._calls: dict[int, PortRef] = {}  # calls that came in on a port, by call id
        self._out: dict[int, PortRef] = {}  # calls placed out on a port, by outside call id
        self._timers: dict[str, TimerHandle] = {}
        # E1 spans that refused a call out as down, by (gateway, span): until their retry.
        self._spans_down: dict[tuple[str, str], TimerHandle] = {}

    def apply(self, gateways: Sequence[SiteGateway], span_retry: float = 60.0) -> None:
        """Take the site's `gateways`; unchanged ones keep their ports and calls, changed ones
        start afresh with every port idle. `span_retry`: see `span_refused`."""
        self.span_retry = span_retry
        if list(gateways) == self.site_gateways:
            return
        for timer in [*self._timers.values(), *self._spans_down.values()]:
            timer.cancel()
        self._timers, self.refs, self._where, self._calls, self._out = {}, {}, {}, {}, {}
        self._spans_down, self.accounts, self._at = {}, {}, {}
        self.site_gateways = list(gateways)
        self.gateways = {g.name: g.product().build(g.name) for g in gateways}
        for site_gateway in gateways:
            self._add(site_gateway)

    def serves(self, group: str) -> bool:
        """Whether gateway ports serve trunk group `group` (its calls out take one of them)."""
        return any(ref.group == group for ref in self.refs.values())

    def _add(self, site_gateway: SiteGateway) -> None:
        plan = site_gateway.product().tone_plan()
        ports = self.gateways[site_gateway.name].ports
        for mapping in site_gateway.ports:
            for number in mapping.numbers():
                if mapping.trunk_group is not None:
                    self.refs[site_gateway.name, str(number)] = PortRef(
                        site_gateway.name, str(number), mapping.trunk_group, mapping.line or "",
                        ports[str(number)].capabilities, (plan.busy, plan.reorder))
        for account, number in site_gateway.accounts().items():
            self.accounts[account] = (site_gateway.name, number)
        if site_gateway.address is None:
            return
        host, sip_port = parse_contact(site_gateway.address)
        count = len(ports) if site_gateway.port_in == "source" else 1
        for offset in range(count):
            self._where[host, sip_port + offset] = (site_gateway, offset + 1)

    # --- finding ports --------------------------------------------------------------------------

    def address_of(self, ref: PortRef) -> Address:
        """Where `ref`'s gateway takes an INVITE for that port (a port in service)."""
        where = self.where(ref.gateway, ref.port)
        assert where is not None, "a registering gateway's port is out of service unregistered"
        return where

    def where(self, gateway: str, port: str) -> Address | None:
        """Where port `port` of `gateway` is reached: its gateway's address (or the port's own
        with `port_in: source`), or where it or its gateway is registered; None while a
        registering one is not."""
        registered = self._at.get((gateway, None)) or self._at.get((gateway, int(port)))
        return registered or next(
            (where for where, (g, number) in self._where.items()
             if g.name == gateway and (g.port_in == "user" or str(number) == port)), None)

    def addresses(self) -> dict[Address, str]:
        """Each gateway's address (where it answers OPTIONS; a registering one's, where it or
        each of its ports is registered) and its name."""
        static = {where: g.name for where, (g, number) in self._where.items() if number == 1}
        return {**static, **{at: name for (name, _), at in self._at.items()}}

    def port_of(self, source: Address, user: str, senders: Sequence[str] = ()) -> PortRef | None:
        """The trunk port an INVITE from `source` to `user` came from; None if it came from
        no gateway port mapped to a trunk group. `senders`: the users of its Contact and From,
        which tell apart ports registered from one address, each as its own account."""
        found = self._where.get((source[0], source[1]))
        if found is None:
            return self._registered_port((source[0], source[1]), user, senders)
        site_gateway, number = found
        if site_gateway.port_in == "user":
            number = _port_number(user)
        return self.refs.get((site_gateway.name, str(number)))

    def _registered_port(self, source: Address, user: str,
                         senders: Sequence[str]) -> PortRef | None:
        keys = [key for key, at in self._at.items() if at == source]
        named = [self.accounts[sender] for sender in senders if sender in self.accounts]
        key = next((key for key in named if key in keys), keys[0] if len(keys) == 1 else None)
        if key is None:
            return None
        name, number = key
        return self.refs.get((name, str(_port_number(user) if number is None else number)))

    def state(self, ref: PortRef) -> PortState:
        return self.gateways[ref.gateway].ports[ref.port].state

    # --- calls ----------------------------------------------------------------------------------

    def take_in(self, ref: PortRef, call: int, caller: str, called: str, now: float) -> bool:
        """The gateway passes a call on `ref` to the appliance as call `call`; False (nothing
        changed) if the port is busy or out of service. The gateway sends its INVITE only
        once the line's caller number is in, so the call is answerable at once."""
        rang = ref.capabilities.answerable_after
        try:
            self._handle(ref, Incoming(caller, called, rang_for=rang), now)
        except PortError:
            return False
        self._handle(ref, Answer(), now)
        self._calls[call] = ref
        return True

    def call_port(self, call: int) -> PortRef | None:
        return self._calls.get(call)

    def ended(self, call: int, now: float) -> None:
        """Call `call` has ended on our side or by the gateway's BYE: its port is released."""
        ref = self._calls.pop(call, None)
        if ref is not None and self.gateways[ref.gateway].ports[ref.port].in_call:
            self._handle(ref, Release(), now)

    def silence_bound(self, call: int) -> float:
        """Seconds of silence that end call `call` (`PortRef.silence_bound`); 0.0 for a call
        on no such port."""
        ref = self._calls.get(call)
        return 0.0 if ref is None else ref.silence_bound

    def line_tone(self, call: int, now: float) -> bool:
        """Busy or reorder tone was heard on call `call`'s line: whether its port takes it
        for the far end's hang-up (the call must then end; the port is released)."""
        ref = self._calls.get(call)
        return ref is not None and ref.listens_for_tone and self._heard_gone(call, ref, now)

    def line_silent(self, call: int, now: float) -> bool:
        """Call `call`'s line has been silent for its bound: as `line_tone`, for a port
        whose line gives no tone (supervision `timeout`)."""
        ref = self._calls.get(call)
        return ref is not None and ref.silence_bound > 0 and self._heard_gone(call, ref, now)

    def _heard_gone(self, call: int, ref: PortRef, now: float) -> bool:
        ended = any(isinstance(a, Ended) for _, a in self._handle(ref, DisconnectTone(), now))
        if ended:
            del self._calls[call]
        return ended

    def seize(self, group: str, call: int, number: str, now: float) -> PortRef | None:
        """A free port of `group` seized to dial `number` out for outside call `call`; None if
        every port is busy or out of service."""
        ref = self.free_port(group)
        if ref is not None:
            self._handle(ref, Seize(number), now)
            self._out[call] = ref
        return ref

    def far_end_answered(self, call: int, now: float) -> None:
        ref = self._out.get(call)
        port = None if ref is None else self.gateways[ref.gateway].ports[ref.port]
        if ref is not None and port is not None and port.state is PortState.ALERTING:
            self._handle(ref, FarEndAnswer(), now)  # a gateway may answer before the dialing

    def released(self, call: int, now: float) -> None:
        """Outside call `call` has ended: its port is released."""
        ref = self._out.pop(call, None)
        if ref is not None and self.gateways[ref.gateway].ports[ref.port].in_call:
            self._handle(ref, Release(), now)

    def span_refused(self, call: int, status: int, cause: int | None, now: float) -> bool:
        """Outside call `call`'s INVITE was refused with `status` and Q.850 `cause` (None:
        the response gave none): whether that says the E1 span of its port is down. If so,
        the port is released and the span takes no calls out (`free_port`) for `span_retry`
        seconds; the call may be placed again (`seize`) on a channel of another span."""
        ref = self._out.get(call)
        span = None if ref is None else self.gateways[ref.gateway].span_of(ref.port)
        if ref is None or span is None or status not in SPAN_DOWN_STATUSES \
                or cause not in SPAN_DOWN_CAUSES:
            return False
        self.released(call, now)
        key = (ref.gateway, span)
        if (old := self._spans_down.pop(key, None)) is not None:
            old.cancel()
        self._spans_down[key] = self.deadlines.schedule(now + self.span_retry,
                                                        self._span_retry, key)
        return True

    def span_down(self, gateway: str, span: str) -> bool:
        """Whether span `span` of `gateway` refused a call out as down and is not yet due
        to be tried again."""
        return (gateway, span) in self._spans_down

    def _span_retry(self, now: float, key: tuple[str, str]) -> None:
        del self._spans_down[key]

    def _takes_calls_out(self, ref: PortRef) -> bool:
        span = self.gateways[ref.gateway].span_of(ref.port)
        return span is None or (ref.gateway, span) not in self._spans_down

    # --- gateways up and down -------------------------------------------------------------------

    def gateway_down(self, name: str, now: float) -> list[int]:
        """Gateway `name` stopped answering: its ports are out of service; the calls that were
        on them, which must end."""
        lost = self._lose(name, set(self.gateways[name].ports))
        self.gateways[name].fail(now)
        self._arm(name)
        return lost

    def gateway_up(self, name: str, now: float) -> None:
        """Gateway `name` answers again: its ports are back, but for a registering one's
        ports with no registration."""
        self.gateways[name].restore(now)
        self._sync(name, now)

    def _lose(self, name: str, ports: set[str]) -> list[int]:
        """Forget the calls on `ports` of gateway `name`; those that came in, which must end."""
        lost = [call for call, ref in self._calls.items()
                if ref.gateway == name and ref.port in ports]
        for call in lost:
            del self._calls[call]
        for call in [call for call, ref in self._out.items()
                     if ref.gateway == name and ref.port in ports]:
            del self._out[call]
        return lost

    # --- registering gateways -------------------------------------------------------------------

    def locate(self, where: dict[str, Address | None], now: float) -> list[int]:
        """Where each registering gateway's account is registered now (None: nowhere): ports
        with no registration go out of service, registered ones come back; a gateway that
        registers from a new address is taken to be up, whatever OPTIONS said at the old.
        The calls that were on ports taken out, which must end."""
        for account, address in where.items():
            key = self.accounts[account]
            if self._at.get(key) == address:
                continue
            if address is None:
                del self._at[key]
            else:
                self._at[key] = address
                self.gateways[key[0]].restore(now)
        return [call for name in sorted({name for name, _ in self.accounts.values()})
                for call in self._sync(name, now)]

    def _sync(self, name: str, now: float) -> list[int]:
        """Registering gateway `name`'s ports in service where registered, out where not (all
        out while OPTIONS finds it down); the calls lost."""
        gateway = self.gateways[name]
        if gateway.down or not any(key[0] == name for key in self.accounts.values()):
            return []
        ports = gateway.ports
        out = {port for port in ports if (name, None) not in self._at
               and (name, int(port)) not in self._at}
        going = [port for port in ports
                 if port in out and ports[port].state is not PortState.OUT_OF_SERVICE]
        lost = self._lose(name, set(going))
        gateway.fail(now, going)
        gateway.restore(now, [port for port in ports if port not in out])
        self._arm(name)
        return lost

    def free_port(self, group: str) -> PortRef | None:
        """A free port serving trunk group `group`, gateways and ports in the site's order;
        None if every one is busy, out of service or on a span that is down."""
        return next((ref for ref in self.refs.values() if ref.group == group
                     and self.state(ref) is PortState.IDLE and self._takes_calls_out(ref)),
                    None)

    # --- the ports' timers ----------------------------------------------------------------------

    def _handle(self, ref: PortRef, event: object, now: float) -> PortActions:
        return self.drive(ref.gateway, ref.port, event, now)  # type: ignore[arg-type]

    def drive(self, gateway: str, port: str, event: PortEvent, now: float) -> PortActions:
        """`event` to port `port` of `gateway`, its timer re-armed (`PortError` as
        `Port.handle`); how the seats' station ports (`seatports.py`) are driven too."""
        actions = self.gateways[gateway].handle(port, event, now)
        self._arm(gateway)
        return actions

    def _arm(self, name: str) -> None:
        """One timer per gateway, at its ports' earliest deadline."""
        old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()
        when = self.gateways[name].next_deadline()
        if when is not None:
            self._timers[name] = self.deadlines.schedule(when, self._due, name)

    def _due(self, now: float, name: str) -> None:
        self._timers.pop(name, None)
        self.gateways[name].on_deadline(now)
        self._arm(name)



def _port_number(user: str) -> int:
    """The port a Request-URI's user part names (`3`, `port3`); 0 for none."""
    digits = user.removeprefix("port")
    return int(digits) if digits.isdigit() else 0
