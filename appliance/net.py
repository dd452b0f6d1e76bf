"""Network addresses as every layer of the appliance passes them."""

from __future__ import annotations

Address = tuple[str, int]  # (host, port): an IP address in text form and a UDP port
