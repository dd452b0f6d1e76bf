"""The per-source request limit as the UDP driver applies it, before a datagram is queued.

The limit must act before the backlog: a flood let into it would make every new call wait
behind it, and the backlog's own overload shedding would then refuse other sources' calls.
So each datagram read is peeked at (`rate_limited`), and a counted request from a source over
its limit is answered with a stateless 503 or dropped without ever being parsed. The settings
are the core's `request_limit` (`sip.request_limit`), read again whenever the core's object
changes, so a reload applies at once while each source keeps its bucket.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from appliance.config.live import parse_peer
from appliance.live.backlog import rate_limited
from appliance.net import Address
from appliance.pbx.sip.requestlimit import RateSettings, RequestLimiter, Verdict

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RequestGate:
    """`verdict` on each datagram; off until `configure` is given an enabled limit."""

    def __init__(self) -> None:
        self.limiter = RequestLimiter(RateSettings())
        self.enabled = False
        self._config: Any = None
        self._exempt: tuple[tuple[_Network, int | None], ...] = ()

    def configure(self, config: Any) -> None:
        """Take a `RequestLimit` (or None: no limit); the same object again changes nothing."""
        if config is self._config:
            return
        self._config = config
        self.enabled = config is not None and config.enabled
        if config is None:
            return
        self.limiter.configure(RateSettings(config.rate, config.burst, config.drop_after,
                                            config.max_tracked))
        self._exempt = tuple(parse_peer(text) for text in config.exempt)

    def verdict(self, data: bytes, source: Address, now: float) -> Verdict:
        """SERVE, or REFUSE (answer 503) or DROP for a counted request over its source's
        limit; `now` on the core's clock."""
        if not self.enabled or not rate_limited(data) or self._exempted(source):
            return Verdict.SERVE
        return self.limiter.check(source, now)

    def retry_after(self, source: Address) -> int:
        return self.limiter.retry_after(source)

    def _exempted(self, source: Address) -> bool:
        if not self._exempt:
            return False
        try:
            address = ipaddress.ip_address(source[0].partition("%")[0])
        except ValueError:
            return False
        return any(address in network and port in (None, source[1])
                   for network, port in self._exempt)
