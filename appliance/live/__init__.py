"""The live driver: the appliance's sans-I/O cores on real sockets and asyncio's clock.

`UdpDriver` carries datagrams and the single timer between a socket and a `ServedCore`
(a `DatagramCore` the server can also end and reconfigure);
`serve` (or `Server`) adds the site configuration, signals and a graceful shutdown around it.
"""

from appliance.live.core import Address, DatagramCore, ServedCore
from appliance.live.serve import EXIT_CONFIG_ERROR, Server, serve
from appliance.live.udp import SOCKET_BUFFER_BYTES, UdpDriver

__all__ = [
    "EXIT_CONFIG_ERROR",
    "SOCKET_BUFFER_BYTES",
    "Address",
    "DatagramCore",
    "ServedCore",
    "Server",
    "UdpDriver",
    "serve",
]
