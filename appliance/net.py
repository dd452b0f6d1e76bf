"""Network addresses as every layer of the appliance passes them."""

from __future__ import annotations

Address = tuple[str, int]  # (host, port): an IP address in text form and a UDP port


def hostport(address: Address) -> str:
    """`host:port` as SIP and logs write it, an IPv6 host in brackets (RFC 3261 25.1)."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
