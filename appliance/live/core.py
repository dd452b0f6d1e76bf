"""What the live server needs from a core: datagrams in and out, one deadline, an orderly end.

The B2BUA core satisfies this protocol; tests satisfy it with small cores of their own. Every
input carries `now`, in seconds on the driver's monotonic clock; the core never reads a clock.
Datagrams and the deadline are the `DatagramCore` the simulated network drives too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from appliance.drive import DatagramCore
from appliance.net import Address

if TYPE_CHECKING:
    from appliance.config import Site

__all__ = ["Address", "DatagramCore", "ServedCore"]


class ServedCore(DatagramCore, Protocol):
    """A `DatagramCore` the live server can also end, wait for and reconfigure."""

    def shutdown(self, now: float) -> None:
        """Begin ending every call (BYE/CANCEL); refuse new ones from now on."""
        ...

    def is_idle(self) -> bool:
        """True when nothing is left to end or retransmit."""
        ...

    def reload(self, site: Site, now: float) -> None:
        """Apply a validated site configuration."""
        ...
