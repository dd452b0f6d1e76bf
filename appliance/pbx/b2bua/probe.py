"""Keep-alive probing of trunk peers with OPTIONS (RFC 3261 11): a gateway that stops answering
is reported down, and up again when it answers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from random import Random
from typing import TYPE_CHECKING

from appliance.clock import Deadlines
from appliance.config.live import parse_peer
from appliance.net import Address
from appliance.pbx.b2bua.local import LocalAddress
from appliance.pbx.b2bua.wire import ALLOW
from appliance.pbx.sip.dialog import new_branch, new_tag
from appliance.pbx.sip.headers import Headers
from appliance.pbx.sip.layer import Key, TransactionLayer
from appliance.pbx.sip.message import Request, Response

if TYPE_CHECKING:
    from appliance.config import TrunkGroup
    from appliance.config.live import Sip

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


class PeerProbes:
    """Sends the OPTIONS probes every `probe_interval` and reads their answers into `status`."""

    def __init__(self, layer: TransactionLayer, deadlines: Deadlines, rng: Random,
                 here: LocalAddress, sip: Sip) -> None:
        self.layer = layer
        self.deadlines = deadlines
        self.rng = rng
        self.here = here
        self.sip = sip
        self.status = PeerStatus({})
        self.paused = False  # shutting down: a dead gateway must not hold anything up
        self._pending: dict[Key, Address] = {}  # our OPTIONS in flight -> the peer probed

    def start(self) -> None:
        # The first probe waits a moment so that the driver can bind and name the address.
        self.deadlines.schedule(1.0, self._probe_peers)

    def apply(self, sip: Sip, groups: Sequence[TrunkGroup]) -> None:
        self.sip = sip
        self.status = PeerStatus(probe_targets(groups))

    def answered(self, key: Key, response: Response) -> bool:
        """Whether `response` answers one of our probes (any final answer: the peer is up)."""
        peer = self._pending.pop(key, None) if response.status >= 200 else None
        if peer is not None:
            self.status.answered(peer)
        return peer is not None

    def timed_out(self, key: Key) -> bool:
        """Whether `key` was one of our probes, which has had no answer: the peer is down."""
        peer = self._pending.pop(key, None)
        if peer is not None:
            self.status.timed_out(peer)
        return peer is not None

    def _probe_peers(self, now: float) -> None:
        interval = self.sip.probe_interval
        if interval and not self.paused:
            for peer in self.status.targets:
                self._probe(peer, now)
        self.deadlines.schedule(now + (interval or 60.0), self._probe_peers)

    def _probe(self, peer: Address, now: float) -> None:
        host = f"[{peer[0]}]" if ":" in peer[0] else peer[0]
        here = self.here
        request = Request("OPTIONS", f"sip:{host}:{peer[1]}", Headers([
            ("Via", f"{here.via};branch={new_branch(self.rng)}"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:ccbox@{here.hostport}>;tag={new_tag(self.rng)}"),
            ("To", f"<sip:{host}:{peer[1]}>"),
            ("Call-ID", f"{self.rng.getrandbits(64):016x}@{here.address[0]}"),
            ("CSeq", "1 OPTIONS"),
            ("Allow", ALLOW),
        ]))
        self._pending[self.layer.send_request(request, peer, now)] = peer
