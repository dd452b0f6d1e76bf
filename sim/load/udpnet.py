"""The testbed's user agents on real UDP sockets, in real time.

`UdpNetwork` is `SimulatedNetwork` (what `SipChannel` and `UserAgent` drive: `attach`,
`now`, `at`, `poke`) with the flight replaced by a socket: each attached core has its own
UDP socket at its address; what it sends leaves through that socket at once, and what the
socket receives is handed to it at the simulated time it arrives (`Pacer.hand_in`). The
cores' timers stay on the SimPy environment the pacer runs in step with wall time.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from random import Random

from appliance.drive import DatagramCore
from appliance.net import Address
from sim.load.realtime import Pacer
from sim.sipfidelity import SimPyTimeLine
from sim.sipnet import SimulatedNetwork

MAX_DATAGRAM = 65535


class UdpNetwork(SimulatedNetwork):
    """Real UDP for cores on the host `host`. `bind()` an address before attaching a core
    to it; `open()` under the running event loop to start receiving; `close()` closes every
    socket (also those never opened) and may be called more than once."""

    def __init__(self, pacer: Pacer, host: str = "127.0.0.1") -> None:
        super().__init__(Random(0), timeline=SimPyTimeLine(pacer.env))
        self.pacer = pacer
        self.host = host
        self.sockets: dict[Address, socket.socket] = {}
        self.errors: Counter[str] = Counter()  # datagrams that could not be sent, by error
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, port: int = 0) -> Address:
        """A new socket on `port` of `host` (0: a free one); its address."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        address: Address = sock.getsockname()
        self.sockets[address] = sock
        return address

    def attach(self, address: Address, core: DatagramCore) -> None:
        if address not in self.sockets:
            raise ValueError(f"no socket bound at {address}: bind() it first")
        super().attach(address, core)

    def open(self) -> None:
        """Receive on every bound socket, under the running event loop."""
        self._loop = asyncio.get_running_loop()
        for address, sock in self.sockets.items():
            self._loop.add_reader(sock, self._readable, address, sock)

    def close(self) -> None:
        loop, self._loop = self._loop, None
        for sock in self.sockets.values():
            if loop is not None and not loop.is_closed() and sock.fileno() >= 0:
                loop.remove_reader(sock)
            sock.close()

    def run(self, until: float) -> None:
        raise RuntimeError("a real-time network runs at the pace of its `Pacer`")

    def _transmit(self, source: Address, destination: Address, data: bytes) -> None:
        self.sent += 1
        try:
            self.sockets[source].sendto(data, destination)
        except OSError as error:  # a full buffer, an ICMP error: lost, as over UDP
            self.lost += 1
            self.errors[type(error).__name__] += 1

    def _readable(self, address: Address, sock: socket.socket) -> None:
        while True:
            try:
                data, source = sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # an ICMP error for an earlier send
                self.errors[type(error).__name__] += 1
                continue
            self.pacer.hand_in(lambda now, d=data, s=source: self._deliver(address, d, s, now))

    def _deliver(self, address: Address, data: bytes, source: Address, now: float) -> None:
        self.cores[address].receive_datagram(data, source, now)
        self._after_input(address)
