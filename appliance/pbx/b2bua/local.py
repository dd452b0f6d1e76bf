"""The appliance's own SIP address, as its messages name it (Via, Contact, From)."""

from __future__ import annotations

from appliance.net import Address, hostport


class LocalAddress:
    """Where the transport listens; the driver may name it only once bound (`bind`)."""

    def __init__(self, address: Address) -> None:
        self.address = address

    def bind(self, address: Address) -> None:
        self.address = address

    @property
    def hostport(self) -> str:
        return hostport(self.address)

    @property
    def via(self) -> str:
        return f"SIP/2.0/UDP {self.hostport}"

    @property
    def contact(self) -> str:
        return f"<sip:ccbox@{self.hostport}>"
