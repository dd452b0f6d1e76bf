"""Which trunk group a call belongs to, by the address it came from."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TYPE_CHECKING

from appliance.config.live import parse_peer
from appliance.net import Address

if TYPE_CHECKING:
    from appliance.config import TrunkGroup



class TrunkPeers:
    """Trunk groups' configured peers (addresses, address:port, networks). A peer given with
    its port matches before any given without one, so that a trunk and a phone on one address
    are told apart by port; otherwise the first match in file order wins. Anything else is not
    a trunk: it is taken for a phone, which must authenticate."""

    def __init__(self, groups: Sequence[TrunkGroup]) -> None:
        entries = [(*parse_peer(peer), group.name) for group in groups for peer in group.peers]
        # sorted() is stable: file order holds among peers with ports and among those without.
        self._entries = sorted(entries, key=lambda entry: entry[1] is None)
        self._cache: dict[Address, str | None] = {}

    def group_for(self, source: Address) -> str | None:
        found = self._cache.get(source, self)
        if found is self:
            found = self._match(source)
            if len(self._cache) > 4096:  # addresses come from the network: keep it bounded
                self._cache.clear()
            self._cache[source] = found
        return found  # type: ignore[return-value]

    def _match(self, source: Address) -> str | None:
        try:
            address = ipaddress.ip_address(source[0])
        except ValueError:
            return None
        for network, port, group in self._entries:
            if address in network and (port is None or port == source[1]):
                return group
        return None
