"""Keep-alive probing of trunk peers and gateways with OPTIONS (RFC 3261 11): a peer that stops
answering is reported down, and up again when it answers (`on_change`: a gateway's ports go
out of service and back)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
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


def probe_targets(groups: Sequence[TrunkGroup],
                  gateways: Mapping[Address, str] | None = None) -> dict[Address, str]:
    """The single-address peers of every trunk group (networks cannot be probed), port 5060
    where none is given, and `gateways`' addresses, each with what it is ("trunk group pstn",
    "gateway fxo1")."""
    targets = {peer: f"gateway {name}" for peer, name in (gateways or {}).items()}
    for group in groups:
        for peer in group.peers:
            network, port = parse_peer(peer)
            if network.num_addresses == 1:
                host = str(network.network_address)  # IPv6 without brackets, as sockets take it
                targets.setdefault((host, port or 5060), f"trunk group {group.name}")
    return targets


class PeerStatus:
    """Up/down per probed peer. A peer starts unknown (None) and changes on each answer or
    timeout; changes are logged once, not on every probe, and told to `on_change(peer, up,
    now)` (a peer first found up is no change)."""

    def __init__(self, targets: dict[Address, str],
                 on_change: Callable[[Address, bool, float], None] | None = None) -> None:
        self.targets = targets
        self.up: dict[Address, bool | None] = dict.fromkeys(targets)
        self.on_change = on_change or (lambda peer, up, now: None)

    def answered(self, peer: Address, now: float = 0.0) -> None:
        self._set(peer, True, now)

    def timed_out(self, peer: Address, now: float = 0.0) -> None:
        self._set(peer, False, now)

    def _set(self, peer: Address, up: bool, now: float) -> None:
        if peer not in self.up or self.up[peer] is up:
            return
        before, self.up[peer] = self.up[peer], up
        if up is False or before is False:
            self.on_change(peer, up, now)
        where = f"{peer[0]}:{peer[1]} ({self.targets[peer]})"
        if up:
            logger.info("peer %s answers OPTIONS%s", where, " again" if before is False else "")
        else:
            logger.warning("peer %s does not answer OPTIONS", where)


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
        self.on_change: Callable[[Address, bool, float], None] | None = None
        self.paused = False  # shutting down: a dead gateway must not hold anything up
        self._pending: dict[Key, Address] = {}  # our OPTIONS in flight -> the peer probed

    def start(self) -> None:
        # The first probe waits a moment so that the driver can bind and name the address.
        self.deadlines.schedule(1.0, self._probe_peers)

    def apply(self, sip: Sip, groups: Sequence[TrunkGroup],
              gateways: Mapping[Address, str] | None = None) -> None:
        """Probe `groups`' peers and `gateways` (address -> name) from now on; a peer probed
        before keeps its status."""
        before = self.status.up
        self.sip = sip
        self.status = PeerStatus(probe_targets(groups, gateways), self.on_change)
        self.status.up.update((peer, up) for peer, up in before.items()
                              if peer in self.status.up)

    def answered(self, key: Key, response: Response, now: float = 0.0) -> bool:
        """Whether `response` answers one of our probes (any final answer: the peer is up)."""
        peer = self._pending.pop(key, None) if response.status >= 200 else None
        if peer is not None:
            self.status.answered(peer, now)
        return peer is not None

    def timed_out(self, key: Key, now: float = 0.0) -> bool:
        """Whether `key` was one of our probes, which has had no answer: the peer is down."""
        peer = self._pending.pop(key, None)
        if peer is not None:
            self.status.timed_out(peer, now)
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
