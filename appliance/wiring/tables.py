"""`ccbox check`'s gateway section as rich tables: the gateways, each one's ports in blocks
with what they serve and what their kind can do, and the trunk groups they carry. Cells are
plain words and figures, so that the tables read as well in a log as on a terminal."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from rich.table import Table

from appliance.config.gateways import SiteGateway
from appliance.config.live import parse_contact
from appliance.hw import Capabilities, NumberArrival, Supervision

from .blocks import PortBlock, group_ports, port_blocks

if TYPE_CHECKING:
    from appliance.config import Site

KIND_NAMES = {"fxo": "FXO", "fxs": "FXS", "e1": "E1", "sip_trunk": "SIP trunk",
              "sip_station": "SIP station"}

CAPABILITY_ROWS = ("caller number", "answerable", "called number", "far-end hang-up")


def wiring_tables(site: Site) -> list[Table]:
    """The gateways, their ports, what each kind of port does and the trunk groups; none for a
    site without gateways. Expects a validated site."""
    if not site.gateways:
        return []
    return [_gateways_table(site.gateways), _ports_table(site.gateways),
            _kinds_table(site.gateways), _trunk_groups_table(site)]


def _gateways_table(gateways: list[SiteGateway]) -> Table:
    table = Table("gateway", "profile", "address", "ports", "ports told apart by",
                  title="Gateways")
    for gateway in gateways:
        table.add_row(gateway.name, gateway.profile, _reached(gateway), _port_kinds(gateway),
                      _port_in(gateway))
    return table


def _port_kinds(gateway: SiteGateway) -> str:
    """"4 FXO", or "16 FXO, 192 FXS" for a mixed product."""
    kinds = Counter(caps.kind for _, caps in gateway.product().layout())
    return ", ".join(f"{count} {KIND_NAMES[kind]}" for kind, count in kinds.items())


def _reached(gateway: SiteGateway) -> str:
    """Its address, or the account it registers as ("registers as desk-N" with one a port)."""
    registration = gateway.registration
    if registration is None:
        return gateway.address or ""
    return f"registers as {registration.user}{'N' if registration.per == 'port' else ''}"


def _port_in(gateway: SiteGateway) -> str:
    registration = gateway.registration
    if registration is not None and registration.per == "port":
        return f"account per port (port N as {registration.user}N)"
    if gateway.port_in == "user":
        return "Request-URI user (sip:N@box)"
    _, first = parse_contact(gateway.address or "")  # port n sends from the address's port + n - 1
    return f"source port {first}-{first + gateway.product().port_count - 1}"


def _ports_table(gateways: list[SiteGateway]) -> Table:
    table = Table("gateway", "ports", "kind", "serves", title="Gateway ports")
    for gateway in gateways:
        for index, block in enumerate(port_blocks(gateway)):
            table.add_row(gateway.name if index == 0 else "", block.ports,
                          KIND_NAMES[block.caps.kind], _serves(block))
        table.add_section()
    return table


def _serves(block: PortBlock) -> str:
    if block.seats is not None:
        return f"seats {block.seats}"
    if block.trunk_group is None:
        return "unused"
    return block.trunk_group + ("" if block.line is None else f", line {block.line}")


def _kinds_table(gateways: list[SiteGateway]) -> Table:
    """A column per kind of port of each profile: what its ports do."""
    kinds = {f"{gateway.profile} {KIND_NAMES[caps.kind]}": caps
             for gateway in gateways for _, caps in gateway.product().layout()}
    table = Table("", *kinds, title="What the ports do")
    cells = [_capabilities(caps) for caps in kinds.values()]
    for name, row in zip(CAPABILITY_ROWS, zip(*cells, strict=True), strict=True):
        table.add_row(name, *row)
    return table


def _capabilities(caps: Capabilities) -> tuple[str, str, str, str]:
    """A port kind's cells, in the order of `CAPABILITY_ROWS`."""
    answered = f"from {caps.answerable_after:g} s" if caps.answerable_after else "at once"
    return _caller_number(caps), answered, _called_number(caps), _hang_up(caps)


def _caller_number(caps: Capabilities) -> str:
    return {NumberArrival.NONE: "none", NumberArrival.IN_SETUP: "with the call",
            NumberArrival.AFTER_FIRST_RING: f"CLIP, by {caps.caller_number_by:g} s",
            NumberArrival.DIALED: "dialed"}[caps.caller_number]


def _called_number(caps: Capabilities) -> str:
    if caps.called_number is NumberArrival.DIALED:
        return f"dialed, {caps.interdigit_timeout:g} s timeout"
    return "none: told by line" if not caps.has_called_number else "with the call"


def _hang_up(caps: Capabilities) -> str:
    """How a far-end hang-up is noticed, and by when."""
    delay = f"{caps.disconnect_delay:g} s"
    return {Supervision.EXACT: "exact", Supervision.TONE: f"busy tone, within {delay}",
            Supervision.TIMEOUT: f"silence, after {delay}"}[caps.supervision]


def _trunk_groups_table(site: Site) -> Table:
    table = Table("trunk group", "kind", "channels", "gateway ports",
                  title="Trunk groups on gateway ports")
    table.columns[2].justify = "right"
    served = group_ports(site.gateways)
    for group in site.trunk_groups:
        blocks = served.get(group.name, [])
        ports = "; ".join(f"{name} {block.ports}" + (f" ({block.line})" if block.line else "")
                          for name, block in blocks)
        table.add_row(group.name, group.kind, str(group.channels), ports or "none")
    return table
