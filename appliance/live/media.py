"""The media relay on real UDP sockets: one per relay port, opened and closed as calls come
and go, read straight from the event loop's selector.

RTP is many small datagrams on many sockets, so this driver skips asyncio's transports: each
socket is non-blocking, registered with `loop.add_reader`, drained with `recvfrom` until it
would block, and whatever the relay wants sent goes out at once with `sendto`.

Alone (the media bench) it keeps the relay's timer itself, with a `Wakeup`. Beside the SIP
driver, the media shares the SIP core's timer heap: then `receive` and `after_input` route
datagrams into the core, the SIP driver keeps the one timer and calls `flush` after each of its
own flushes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from appliance.drive import Wakeup
from appliance.live.udp import TIMER_EARLY
from appliance.net import Address

_log = logging.getLogger(__name__)

_MAX_DATAGRAM = 2048  # RTP for voice is a few hundred bytes


class MediaSource(Protocol):
    """A `MediaRelay` or a `MediaPlane`: ports to listen on, datagrams to send, a timer."""

    def receive(self, local_port: int, data: bytes, source: Address, now: float) -> None: ...

    def take_port_changes(self) -> tuple[list[int], list[int]]: ...

    def take_datagrams(self) -> list[tuple[int, bytes, Address]]: ...

    def next_deadline(self) -> float | None: ...

    def on_deadline(self, now: float) -> None: ...

    def set_wall_clock(self, unix_time_at_zero: float) -> None: ...

    def port_failed(self, port: int) -> None: ...


class MediaDriver:
    def __init__(self, relay: MediaSource, host: str,
                 loop: asyncio.AbstractEventLoop | None = None, *,
                 receive: Callable[[int, bytes, Address, float], None] | None = None,
                 after_input: Callable[[float], None] | None = None,
                 epoch: float | None = None) -> None:
        """`receive` and `after_input` (given together) hand datagrams to a core that owns
        the timers; `epoch` is then the SIP driver's, so both read the same `now`."""
        self.relay = relay
        self.host = host
        self._loop = loop
        self._receive = receive or relay.receive
        self._after_input = after_input
        self._fixed_epoch = epoch
        self._epoch = 0.0
        self._sockets: dict[int, socket.socket] = {}
        self._wakeup = Wakeup(relay, self._schedule, TIMER_EARLY)

    def start(self) -> None:
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        self._epoch = loop.time() if self._fixed_epoch is None else self._fixed_epoch
        # RTCP sender reports carry wall-clock time; the core never reads a clock itself.
        self.relay.set_wall_clock(time.time() - self.now())
        self.flush()

    def now(self) -> float:
        assert self._loop is not None
        return self._loop.time() - self._epoch

    @property
    def ports(self) -> list[int]:
        return sorted(self._sockets)

    def flush(self) -> None:
        """Bind and release ports, send what the relay has, and re-arm its timer; call after
        anything that may have changed the relay."""
        opened, closed = self.relay.take_port_changes()
        # A port's opens and closes alternate, so the balance says where it ended: a call that
        # came and went since the last flush (many datagrams are handled between two under
        # load) must not leave its ports bound.
        balance = Counter(opened)
        balance.subtract(closed)
        failed: list[int] = []
        for port, net in balance.items():
            if net < 0:
                self._release(port)
            elif net > 0 and port not in self._sockets and not self._bind(port):
                failed.append(port)
        self._send()
        self._rearm()
        if failed:
            for port in failed:
                self.relay.port_failed(port)
            if self._after_input is not None:  # the core ends the calls that lost a port
                self._after_input(self.now())

    def close(self) -> None:
        for port in list(self._sockets):
            self._release(port)
        self._wakeup.arm(None)

    def _bind(self, port: int) -> bool:
        """Listen on `port`; False (logged) if it cannot be bound."""
        assert self._loop is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((self.host, port))
        except OSError as error:
            sock.close()
            _log.error("cannot listen for media on %s:%d: %s", self.host, port, error)
            return False
        self._sockets[port] = sock
        self._loop.add_reader(sock.fileno(), self._readable, port, sock)
        return True

    def _release(self, port: int) -> None:
        sock = self._sockets.pop(port, None)
        if sock is None:
            return
        assert self._loop is not None
        self._loop.remove_reader(sock.fileno())
        sock.close()

    def _readable(self, port: int, sock: socket.socket) -> None:
        receive = self._receive
        now = self.now()
        while True:
            try:
                data, source = sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as error:  # e.g. an ICMP error reported on the socket
                _log.debug("media socket %d: %s", port, error)
                break
            receive(port, data, source[:2], now)
        if self._after_input is not None:
            self._after_input(now)  # the owner flushes, which sends what we have too
            return
        self._send()
        self._rearm()

    def _send(self) -> None:
        sockets = self._sockets
        for port, data, destination in self.relay.take_datagrams():
            sock = sockets.get(port)
            if sock is None:
                continue
            try:
                sock.sendto(data, destination)
            except OSError as error:  # a full buffer or an unreachable peer: drop, as UDP does
                _log.debug("media send from %d to %s failed: %s", port, destination, error)

    def _rearm(self) -> None:
        if self._after_input is None:  # else the owner of the timer heap keeps the timer
            self._wakeup.rearm()

    def _schedule(self, deadline: float, at: float) -> asyncio.TimerHandle:
        assert self._loop is not None
        return self._loop.call_at(self._epoch + at, self._on_timer, deadline)

    def _on_timer(self, deadline: float) -> None:
        if self._wakeup.fire(deadline, self.now()):
            self.flush()
