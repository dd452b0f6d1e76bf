"""What the live driver needs from a core: datagrams in and out, one deadline, an orderly end.

The B2BUA core satisfies this protocol; tests satisfy it with small cores of their own. Every
input carries `now`, in seconds on the driver's monotonic clock; the core never reads a clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from appliance.net import Address

if TYPE_CHECKING:
    from appliance.config import Site


class DatagramCore(Protocol):
    """A sans-I/O core fed with datagrams and woken at its deadline."""

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        """Handle one datagram that arrived from `source`."""
        ...

    def take_datagrams(self) -> list[tuple[bytes, Address]]:
        """What to send, oldest first; the core's outbox is left empty."""
        ...

    def next_deadline(self) -> float | None:
        """When the core next needs `on_deadline`, or None if it never does."""
        ...

    def on_deadline(self, now: float) -> None:
        """Run whatever fell due at or before `now`."""
        ...

    def shutdown(self, now: float) -> None:
        """Begin ending every call (BYE/CANCEL); refuse new ones from now on."""
        ...

    def is_idle(self) -> bool:
        """True when nothing is left to end or retransmit."""
        ...

    def reload(self, site: Site, now: float) -> None:
        """Apply a validated site configuration."""
        ...
