"""Keep-alive probing of trunk peers with OPTIONS (RFC 3261 11): a gateway that stops answering
is reported down, and up again when it answers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from appliance.config.live import parse_peer
from appliance.net import Address

if TYPE_CHECKING:
    from appliance.config import TrunkGroup

logger = logging.getLogger(__name__)



def probe_targets(groups: Sequence[TrunkGroup]) -> dict[Address, str]:
    """The single-address peers of every trunk group (networks cannot be probed), with the
    group each belongs to; port 5060 where none is given."""
    targets: dict[Address, str] = {}
    for group in groups:
        for peer in group.peers:
            network, port = parse_peer(peer)
            if network.num_addresses == 1:
                host = str(network.network_address)  # IPv6 without brackets, as sockets take it
                targets.setdefault((host, port or 5060), group.name)
    return targets


class PeerStatus:
    """Up/down per probed peer. A peer starts unknown (None) and changes on each answer or
    timeout; changes are logged once, not on every probe."""

    def __init__(self, targets: dict[Address, str]) -> None:
        self.targets = targets
        self.up: dict[Address, bool | None] = dict.fromkeys(targets)

    def answered(self, peer: Address) -> None:
        self._set(peer, True)

    def timed_out(self, peer: Address) -> None:
        self._set(peer, False)

    def _set(self, peer: Address, up: bool) -> None:
        if peer not in self.up or self.up[peer] is up:
            return
        before, self.up[peer] = self.up[peer], up
        group = self.targets[peer]
        where = f"{peer[0]}:{peer[1]} (trunk group {group})"
        if up:
            logger.info("trunk peer %s answers OPTIONS%s", where,
                        " again" if before is False else "")
        else:
            logger.warning("trunk peer %s does not answer OPTIONS", where)
