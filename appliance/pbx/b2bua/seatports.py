"""Agent seats on gateways' FXS station ports ("S-ports"): the seat's port is the agent's
phone. The agent is rung through the port's gateway - at its address with the port number as
the user part (`port_in: user`), or at the port's own address (`port_in: source`) - with no
registration; or where a registering gateway (the port number as the user part) or the port
(its own account as the user part) is registered. The port's state machine (`appliance/hw`)
follows the ring, the answer and the hang-up. A port out of service (its gateway silent to
OPTIONS, or unregistered) has no phone behind it: the agent is unreachable, as with an
unregistered phone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from appliance.config.gateways import SiteGateway
from appliance.config.live import parse_contact
from appliance.hw import FarEndAnswer, PortError, PortEvent, PortState, Release, Ring
from appliance.net import Address, hostport
from appliance.pbx.b2bua.gatewayports import GatewayPorts
from appliance.pbx.legs import Leg


@dataclass(frozen=True, slots=True)
class Seat:
    """Agent seat on port `port` of gateway `gateway`, rung at `sip:<user>@` its address:
    `address`, or where the gateway or port is registered when None."""

    gateway: str
    port: str
    user: str
    address: Address | None


class SeatPorts:
    """The site's seats on station ports, sharing `ports`' gateways (so that a gateway down
    takes its seats out with its trunk ports)."""

    def __init__(self, ports: GatewayPorts) -> None:
        self.ports = ports
        self.seats: dict[str, Seat] = {}
        self._holder: dict[str, Leg] = {}  # the leg on each seat's port, by agent

    def apply(self, gateways: Sequence[SiteGateway],
              expand: Callable[[str], tuple[str, ...]]) -> None:
        """Take the seats of `gateways` (after `ports.apply`); `expand` turns a seat range
        into agent ids."""
        self.seats = {}
        self._holder = {}
        for gateway in gateways:
            for mapping in gateway.ports:
                if mapping.seats is None:
                    continue
                for number, agent in zip(mapping.numbers(), expand(mapping.seats), strict=True):
                    self.seats[agent] = _seat(gateway, number, agent)

    def __contains__(self, agent: str) -> bool:
        return agent in self.seats

    def target(self, agent: str) -> tuple[str, Address] | None:
        """Where to ring seat `agent` (Request-URI, address); None while its port is out of
        service."""
        seat = self.seats[agent]
        address = seat.address or self.ports.where(seat.gateway, seat.port)
        if self._state(seat) is PortState.OUT_OF_SERVICE or address is None:
            return None
        return f"sip:{seat.user}@{hostport(address)}", address

    def rung(self, agent: str, leg: Leg, caller: str, now: float) -> None:
        """Our INVITE on `leg` rings seat `agent`'s phone; a port busy with another leg's
        call keeps it (an analog phone has one line: the gateway answers busy)."""
        if agent in self.seats and self._drive(agent, Ring(caller), now):
            self._holder[agent] = leg

    def answered(self, agent: str, leg: Leg, now: float) -> None:
        """The phone on seat `agent`'s port went off-hook for `leg`."""
        if self._holder.get(agent) is leg:
            self._drive(agent, FarEndAnswer(), now)

    def ended(self, agent: str, leg: Leg, now: float) -> None:
        """`leg` to seat `agent` ended (either side hung up, or the ring stopped): the port
        is free again."""
        if self._holder.get(agent) is leg:
            del self._holder[agent]
            self._drive(agent, Release(), now)

    def legs_out(self) -> list[Leg]:
        """The legs on seats' ports now out of service (their gateway died, or its or the
        port's registration ran out), in the seats' order."""
        return [leg for agent, leg in self._holder.items()
                if self._state(self.seats[agent]) is PortState.OUT_OF_SERVICE]

    def state(self, agent: str) -> PortState:
        return self._state(self.seats[agent])

    def _state(self, seat: Seat) -> PortState:
        return self.ports.gateways[seat.gateway].ports[seat.port].state

    def _drive(self, agent: str, event: PortEvent, now: float) -> bool:
        seat = self.seats[agent]
        try:
            self.ports.drive(seat.gateway, seat.port, event, now)
        except PortError:
            return False
        return True


def _seat(gateway: SiteGateway, number: int, agent: str) -> Seat:
    """Where seat `agent` on port `number` of `gateway` is rung."""
    registration = gateway.registration
    if registration is not None:
        user = str(number) if registration.per == "gateway" else registration.account(number)
        return Seat(gateway.name, str(number), user, None)
    host, sip_port = parse_contact(gateway.address or "")
    if gateway.port_in == "source":
        return Seat(gateway.name, str(number), agent, (host, sip_port + number - 1))
    return Seat(gateway.name, str(number), str(number), (host, sip_port))
