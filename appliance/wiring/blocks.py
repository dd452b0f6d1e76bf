"""A gateway's ports in blocks: the site's port maps in port order, with the ports it leaves
unmapped as unused blocks between them, and the blocks that serve each trunk group."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from appliance.config.gateways import PortMap, SiteGateway
from appliance.hw import Capabilities


@dataclass(frozen=True, slots=True)
class PortBlock:
    """Ports `first`-`last` of a gateway, of one kind (`caps`), serving `trunk_group` (with
    `line`) or the seats `seats` (the site's text, e.g. "1001-1008"); neither: unused."""

    first: int
    last: int
    caps: Capabilities
    trunk_group: str | None = None
    line: str | None = None
    seats: str | None = None

    @property
    def ports(self) -> str:
        """"3", or "2-4" for several."""
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    @property
    def unused(self) -> bool:
        return self.trunk_group is None and self.seats is None


def port_blocks(gateway: SiteGateway) -> list[PortBlock]:
    """Every port of `gateway`'s profile once, in port order: a block per port map, and a
    block per run of unmapped ports of one kind. Expects a validated site."""
    layout = [caps for _, caps in gateway.product().layout()]
    mapped = [_mapped(entry, layout) for entry in gateway.ports]
    taken = {n for block in mapped for n in range(block.first, block.last + 1)}
    free = [(n, caps) for n, caps in enumerate(layout, start=1) if n not in taken]
    return sorted([*mapped, *_runs(free)], key=lambda block: block.first)


def _mapped(entry: PortMap, layout: Sequence[Capabilities]) -> PortBlock:
    numbers = entry.numbers()
    return PortBlock(numbers[0], numbers[-1], layout[numbers[0] - 1], entry.trunk_group,
                     entry.line, entry.seats)


def _runs(free: Sequence[tuple[int, Capabilities]]) -> Iterator[PortBlock]:
    """Unmapped ports as blocks of consecutive numbers and equal capabilities."""
    start = 0
    for index in range(1, len(free) + 1):
        if index == len(free) or not _follows(free[index - 1], free[index]):
            (first, caps), (last, _) = free[start], free[index - 1]
            yield PortBlock(first, last, caps)
            start = index


def _follows(before: tuple[int, Capabilities], after: tuple[int, Capabilities]) -> bool:
    return after[0] == before[0] + 1 and after[1] == before[1]


def group_ports(gateways: Sequence[SiteGateway]) -> Mapping[str, list[tuple[str, PortBlock]]]:
    """(gateway name, block) of every block serving each trunk group, in the file's order."""
    served: dict[str, list[tuple[str, PortBlock]]] = {}
    for gateway in gateways:
        for block in port_blocks(gateway):
            if block.trunk_group is not None:
                served.setdefault(block.trunk_group, []).append((gateway.name, block))
    return served
