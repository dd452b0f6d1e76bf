"""`UdpDriver`: a `DatagramCore` on a UDP socket, with asyncio's loop as its clock.

The driver follows the aioquic pattern: every input carries `now`, the core says when it next
needs attention, and the driver keeps one `loop.call_at` handle that it re-arms only when that
deadline changes. `now` is seconds since the driver started, from `loop.time()` (monotonic), so
the core's times are small numbers just as they are in simulation.

The hot path (`datagram_received`) carries thousands of datagrams a second: it logs nothing
below WARNING and calls through attributes bound once at start.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any, cast

from appliance.live.core import Address, DatagramCore

_log = logging.getLogger(__name__)

SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
# Overload detection by how late the loop runs a timer due every LAG_CHECK seconds.
# Later than SIP's T1 (0.5 s) means peers already retransmit what waits in our queue.
LAG_CHECK = 0.05
LAG_OVERLOAD = 0.5
LAG_RECOVERED = 0.05
"""Receive and send buffer asked for: room for a burst of a few thousand datagrams."""

# After the core raises in on_deadline, the timer is not re-armed sooner than this, so that a
# core stuck on a due deadline costs a traceback every 50 ms rather than a spinning loop.
_RETRY_AFTER_FAILURE = 0.05


class UdpDriver(asyncio.DatagramProtocol):
    """Feeds `core` the datagrams that reach (`host`, `port`) and sends what it answers.

    `await start()` binds the socket (port 0 picks a free one: see `bound_address`). From then
    on every datagram is passed to `core.receive_datagram`, everything `core.take_datagrams()`
    returns is sent, and `core.on_deadline` is called when `core.next_deadline()` falls due.
    An exception raised by the core is logged with its traceback and serving goes on; send
    errors (an ICMP port unreachable, say) are logged at DEBUG.

    Whoever calls the core outside these events (a shutdown, a reload) calls `flush()` after.
    """

    def __init__(self, core: DatagramCore, host: str, port: int,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.core = core
        self.host = host
        self.port = port
        self._loop = loop
        self._epoch = 0.0
        self._transport: asyncio.DatagramTransport | None = None
        self._bound: Address | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed: float | None = None
        self._idle_waiter: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[None] | None = None
        self._ipv6 = False
        self.overloaded = False
        # Called after every flush: a companion driver (the media sockets) that sends what
        # the same core queued for it.
        self.after_flush: list[Callable[[], None]] = []
        self._late = False
        self._lag_timer: asyncio.TimerHandle | None = None
        # Bound once: the hot path looks up nothing it can avoid.
        self._receive = core.receive_datagram
        self._take = core.take_datagrams
        self._next_deadline = core.next_deadline
        self._time: Callable[[], float] = _not_started
        self._sendto: Callable[[bytes, Address], None] = _not_started

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> Address:
        """Bind the socket and start serving; returns the address actually bound."""
        if self._closed is not None:
            raise RuntimeError("the driver has already been started")
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        sock = await _bound_socket(loop, self.host, self.port)
        self._ipv6 = sock.family == socket.AF_INET6
        self._epoch = loop.time()
        self._time = loop.time
        self._closed = loop.create_future()
        try:
            await loop.create_datagram_endpoint(lambda: self, sock=sock)
        except BaseException:
            sock.close()
            self._closed.set_result(None)
            raise
        self._bound = sock.getsockname()[:2]
        self.flush()  # a core may want a timer, or to send, before anything arrives
        if hasattr(self.core, "set_overloaded"):
            self._watch_lag(loop.time())
        return self._bound

    @property
    def bound_address(self) -> Address:
        """The (host, port) the socket is bound to; only valid after `start()`."""
        if self._bound is None:
            raise RuntimeError("the driver has not been started")
        return self._bound

    @property
    def epoch(self) -> float:
        """The loop time that `now()` counts from."""
        return self._epoch

    def now(self) -> float:
        """Seconds since the driver started, on the loop's monotonic clock."""
        return self._time() - self._epoch

    def _watch_lag(self, expected: float) -> None:
        """Tell the core it is overloaded while the loop runs late.

        A loop busy with more datagrams than it can handle runs its timers late. Past
        LAG_OVERLOAD the core is told to refuse new calls (503) so that the calls it has keep
        their timing; below LAG_RECOVERED it takes them again.
        """
        if self.closed:
            return
        lag = self._time() - expected
        # One late timer is a pause (a page fault, a collection); two in a row are a backlog.
        late_twice = lag > LAG_OVERLOAD and self._late
        self._late = lag > LAG_OVERLOAD
        if late_twice and not self.overloaded:
            self.overloaded = True
            _log.warning("overloaded (event loop %.0f ms late): refusing new calls", lag * 1e3)
            self.core.set_overloaded(True)  # type: ignore[attr-defined]
        elif lag < LAG_RECOVERED and self.overloaded:
            self.overloaded = False
            _log.warning("load back to normal: taking new calls again")
            self.core.set_overloaded(False)  # type: ignore[attr-defined]
        next_check = self._time() + LAG_CHECK
        loop = self._loop
        assert loop is not None
        self._lag_timer = loop.call_at(next_check, self._watch_lag, next_check)

    def close(self) -> None:
        """Stop the timer and close the socket; datagrams already handed over may still go."""
        self._cancel_timer()
        if self._lag_timer is not None:
            self._lag_timer.cancel()
        if self._transport is not None:
            self._transport.close()

    async def wait_closed(self) -> None:
        """Return once the socket is closed (by `close()` or by a fatal transport error)."""
        if self._closed is not None:
            await asyncio.shield(self._closed)

    @property
    def closed(self) -> bool:
        return self._closed is not None and self._closed.done()

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until `core.is_idle()`, checked after every datagram and timer; False if
        `timeout` seconds pass first."""
        if self._core_idle():
            return True
        waiter = self._idle_waiter
        if waiter is None or waiter.done():
            waiter = asyncio.get_running_loop().create_future()
            self._idle_waiter = waiter
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return False
        return True

    # -- asyncio.DatagramProtocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio's datagram transports do not all derive from DatagramTransport.
        datagrams = cast(asyncio.DatagramTransport, transport)
        self._transport = datagrams
        self._sendto = datagrams.sendto

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self._ipv6:
            addr = addr[:2]  # (host, port), without flow information and scope id
        try:
            self._receive(data, addr, self._time() - self._epoch)
        except Exception:
            _log.exception("core failed on a datagram from %s (%d bytes): %r",
                           _format_address(addr), len(data), data[:200])
        self.flush()

    def error_received(self, exc: Exception) -> None:
        # Mostly ICMP port unreachable from a phone that went away: the transaction timers
        # deal with it, so it is not worth more than a debug line.
        _log.debug("send error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if exc is not None:
            _log.error("UDP socket on %s closed by an error: %s",
                       _format_address(self._bound or (self.host, self.port)), exc)
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    # -- sending and the timer ------------------------------------------------------------------

    def flush(self) -> None:
        """Send what the core has queued and re-arm the timer if its deadline changed."""
        try:
            sendto = self._sendto
            for data, destination in self._take():
                sendto(data, destination)
            deadline = self._next_deadline()
            if deadline != self._armed:
                self._arm(deadline, deadline)
        except Exception:
            _log.exception("core failed while being flushed")
        for hook in self.after_flush:
            hook()
        if self._idle_waiter is not None:
            self._check_idle()

    def _arm(self, deadline: float | None, at: float | None) -> None:
        """Remember `deadline` as the one armed and wake at `at` (normally the same)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed = deadline
        if at is not None and self._transport is not None and not self._transport.is_closing():
            assert self._loop is not None
            self._timer = self._loop.call_at(self._epoch + at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        armed = self._armed
        self._armed = None
        # call_at may fire up to one clock resolution early: the core must still see its
        # deadline as due (as aioquic does).
        now = self._time() - self._epoch
        if armed is not None and armed > now:
            now = armed
        try:
            self.core.on_deadline(now)
        except Exception:
            _log.exception("core failed on its deadline at %.3f", now)
            self._send_after_failure(now)
        self.flush()

    def _send_after_failure(self, now: float) -> None:
        try:
            deadline = self._next_deadline()
        except Exception:
            return
        if deadline is not None and deadline <= now:
            self._arm(deadline, now + _RETRY_AFTER_FAILURE)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed = None

    def _core_idle(self) -> bool:
        try:
            return bool(self.core.is_idle())
        except Exception:
            _log.exception("core failed to say whether it is idle")
            return False

    def _check_idle(self) -> None:
        waiter = self._idle_waiter
        if waiter is not None and not waiter.done() and self._core_idle():
            waiter.set_result(None)
            self._idle_waiter = None


def _not_started(*_args: Any) -> Any:
    raise RuntimeError("the driver has not been started")


def _format_address(address: Any) -> str:
    try:
        host, port = address[0], address[1]
    except (TypeError, IndexError):
        return repr(address)
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


async def _bound_socket(loop: asyncio.AbstractEventLoop, host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to (host, port), with large buffers for bursts."""
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)
    if not infos:
        raise OSError(f"cannot resolve {host!r}")
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        for option, name in ((socket.SO_RCVBUF, "receive"), (socket.SO_SNDBUF, "send")):
            _set_buffer(sock, option, name)
        sock.bind(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def _set_buffer(sock: socket.socket, option: int, name: str) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER_BYTES)
        granted = sock.getsockopt(socket.SOL_SOCKET, option)
    except OSError as error:
        _log.warning("cannot set the UDP %s buffer to %d bytes: %s",
                     name, SOCKET_BUFFER_BYTES, error)
        return
    # Linux reports twice what it grants (bookkeeping overhead) and silently caps the request
    # at net.core.rmem_max / wmem_max.
    if granted < SOCKET_BUFFER_BYTES:
        _log.warning("UDP %s buffer is %d bytes, not %d: raise net.core.%s to absorb bursts",
                     name, granted, SOCKET_BUFFER_BYTES,
                     "rmem_max" if option == socket.SO_RCVBUF else "wmem_max")
    else:
        _log.debug("UDP %s buffer: %d bytes", name, granted)
