"""`UdpDriver`: a `DatagramCore` on a UDP socket, with asyncio's loop as its clock.

The driver follows the aioquic pattern: every input carries `now`, the core says when it next
needs attention, and the driver keeps one `loop.call_at` handle for it through a `Wakeup`,
which re-arms it only when that deadline changes. `now` is seconds since the driver started,
from `loop.time()` (monotonic), so the core's times are small numbers just as they are in
simulation.

The socket is read straight from the loop's selector (`add_reader`), not through asyncio's
datagram transport, which reads one datagram per pass of the loop: timers then run on time
while seconds of backlog wait unseen in the kernel's buffer. Each time the socket is readable
everything waiting is read into a `Backlog`, stamped with the time the kernel received it
(SO_TIMESTAMPNS), and handled in order of importance - responses, in-dialog requests and
OPTIONS first - for at most WORK_SLICE seconds before the loop gets a turn (timers, media).
When datagrams have waited longer than BACKLOG_OVERLOAD for OVERLOAD_PERSIST on end the
appliance is overloaded: the core is told, and new INVITEs get a stateless 503 with
Retry-After until the backlog is gone.

The hot path carries thousands of datagrams a second: it logs nothing below WARNING and calls
through attributes bound once at start.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.drive import Wakeup
from appliance.live.backlog import (
    Backlog,
    Kind,
    OverloadGauge,
    RecentInvites,
    Waiting,
    refusal,
    reply_address,
    top_branch,
)
from appliance.live.core import Address, ServedCore
from appliance.live.requestgate import RequestGate
from appliance.net import hostport
from appliance.pbx.sip.requestlimit import Verdict

_log = logging.getLogger(__name__)

SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
"""Receive and send buffer asked for: room for a burst of a few thousand datagrams."""

# Datagrams waiting longer than this for OVERLOAD_PERSIST seconds on end mean overload: well
# below SIP's T1 (0.5 s), after which peers retransmit what already waits in our queue.
BACKLOG_OVERLOAD = 0.15
OVERLOAD_PERSIST = 0.1
# A new INVITE that waited this long is refused even before the backlog counts as overload:
# its sender has retransmitted it already, and a 503 now is worth more than a late 100.
INVITE_TOO_OLD = 0.5
# Back to normal once the oldest waiting is younger than this and nothing was late for
# OVERLOAD_HOLD seconds.
BACKLOG_RECOVERED = 0.05
OVERLOAD_HOLD = 1.0
OVERLOAD_RECHECK = 0.1
# Handle waiting datagrams for at most this long before the loop runs timers and media.
WORK_SLICE = 0.02
# At most this many datagrams are read ahead into memory; beyond, the kernel's buffer holds
# them (reading resumes when half of them are handled).
BACKLOG_LIMIT = 20_000
# How long an INVITE handed to the core is remembered (64 * T1, as long as the peer may
# retransmit it): its retransmissions belong to its transaction and are never shed.
INVITE_MEMORY = 32.0
RETRY_AFTER_DEFAULT = 30
_MAX_DATAGRAM = 65_535

# Linux socket options Python's socket module does not name.
_SO_TIMESTAMPNS = 35
_SO_RXQ_OVFL = 40
_TIMESPEC = struct.Struct("@qq")
_COUNTER = struct.Struct("@I")
_ANCILLARY_BYTES = socket.CMSG_SPACE(_TIMESPEC.size) + socket.CMSG_SPACE(_COUNTER.size)

# asyncio runs a timer up to one clock resolution early; a microsecond more covers the rounding
# of counting `now` from the driver's epoch.
TIMER_EARLY = max(time.get_clock_info("monotonic").resolution, 1e-6)

# After the core raises in on_deadline, the timer is not re-armed sooner than this, so that a
# core stuck on a due deadline costs a traceback every 50 ms rather than a spinning loop.
_RETRY_AFTER_FAILURE = 0.05


@dataclass
class BacklogStats:
    """What the driver has seen since it started (for logs, benchmarks and tests)."""

    received: int = 0
    shed: int = 0  # new INVITEs refused with a stateless 503
    dropped: int = 0  # ACKs of those 503s, ignored
    kernel_drops: int = 0  # datagrams the kernel dropped, its buffer full (SO_RXQ_OVFL)
    deepest: int = 0  # most datagrams waiting at once
    oldest: float = 0.0  # longest any datagram waited, seconds
    first_wait: float = 0.0  # longest a response, in-dialog request or OPTIONS waited
    overloads: int = 0  # times the driver found the appliance overloaded
    limited: int = 0  # requests over their source's limit, refused with 503 or dropped


class UdpDriver:
    """Feeds `core` the datagrams that reach (`host`, `port`) and sends what it answers.

    `await start()` binds the socket (port 0 picks a free one: see `bound_address`). From then
    on every datagram is passed to `core.receive_datagram` (responses, in-dialog requests and
    OPTIONS ahead of new calls), everything `core.take_datagrams()` returns is sent, and
    `core.on_deadline` is called when `core.next_deadline()` falls due. An exception raised by
    the core is logged with its traceback and serving goes on; send errors (a full buffer, an
    unreachable peer) are logged at DEBUG.

    A core with `set_overloaded(bool)` takes calls: it is told when the backlog makes the
    appliance overloaded and when that is over, and meanwhile the driver refuses new INVITEs
    itself (503 with the core's `retry_after`, if it has one). Whoever calls the core outside
    these events (a shutdown, a reload) calls `flush()` after.
    """

    def __init__(self, core: ServedCore, host: str, port: int,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.core = core
        self.host = host
        self.port = port
        self._loop = loop
        self._epoch = 0.0
        self._sock: socket.socket | None = None
        self._reading = False
        self._bound: Address | None = None
        self._wakeup = Wakeup(core, self._schedule, TIMER_EARLY)
        self._idle_waiter: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[None] | None = None
        self._ipv6 = False
        self.kernel_timestamps = False  # arrival times from the kernel
        self._work_pending = False
        self._recheck_handle: asyncio.TimerHandle | None = None
        self.backlog = Backlog()
        self.gauge = OverloadGauge(BACKLOG_OVERLOAD, BACKLOG_RECOVERED, OVERLOAD_HOLD,
                                   OVERLOAD_PERSIST)
        self.stats = BacklogStats()
        self._recent = RecentInvites(INVITE_MEMORY)
        self.gate = RequestGate()
        self._sheds = hasattr(core, "set_overloaded")
        # Called after every flush: a companion driver (the media sockets) that sends what
        # the same core queued for it.
        self.after_flush: list[Callable[[], None]] = []
        # Bound once: the hot path looks up nothing it can avoid.
        self._receive = core.receive_datagram
        self._take = core.take_datagrams
        self._time: Callable[[], float] = _not_started
        self._sendto: Callable[[bytes, Address], Any] = _not_started

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> Address:
        """Bind the socket and start serving; returns the address actually bound."""
        if self._closed is not None:
            raise RuntimeError("the driver has already been started")
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        sock = await _bound_socket(loop, self.host, self.port)
        self._sock = sock
        self._ipv6 = sock.family == socket.AF_INET6
        self.kernel_timestamps = _ask_for_timestamps(sock)
        self._epoch = loop.time()
        self._time = loop.time
        self._sendto = sock.sendto
        self._closed = loop.create_future()
        self._bound = sock.getsockname()[:2]
        self._resume_reading()
        self.flush()  # a core may want a timer, or to send, before anything arrives
        return self._bound

    @property
    def socket(self) -> socket.socket:
        """The bound socket (to read its options); only valid after `start()`."""
        if self._sock is None:
            raise RuntimeError("the driver has not been started")
        return self._sock

    @property
    def overloaded(self) -> bool:
        """Whether the backlog says the appliance is overloaded right now."""
        return self.gauge.overloaded

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

    def close(self) -> None:
        """Stop the timer and close the socket; what is still waiting is not handled."""
        self._wakeup.arm(None)
        if self._recheck_handle is not None:
            self._recheck_handle.cancel()
        self._pause_reading()
        if self._sock is not None:
            self._sock.close()
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

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

    # -- reading and the backlog ---------------------------------------------------------------

    def _resume_reading(self) -> None:
        if not self._reading and self._sock is not None and not self.closed:
            assert self._loop is not None
            self._loop.add_reader(self._sock.fileno(), self._readable)
            self._reading = True

    def _pause_reading(self) -> None:
        if self._reading and self._sock is not None:
            assert self._loop is not None
            self._loop.remove_reader(self._sock.fileno())
            self._reading = False

    def _readable(self) -> None:
        """Read everything waiting (up to BACKLOG_LIMIT), then handle what the slice allows."""
        self._read_all()
        # With a slice already due on the loop, what keeps calls and peers going is handled
        # now all the same: it must not wait behind the new calls of that slice.
        self._work(first_only=self._work_pending)

    def _read_all(self) -> None:
        sock = self._sock
        assert sock is not None
        backlog, stats = self.backlog, self.stats
        now = self._time()
        # The kernel stamps arrivals on the wall clock; the driver counts on the loop's.
        wall_to_loop = now - time.time()
        room = BACKLOG_LIMIT - len(backlog)
        ipv6 = self._ipv6
        gate = self.gate
        gate.configure(getattr(self.core, "request_limit", None))
        read = 0
        while read < room:
            try:
                data, ancillary, _flags, source = sock.recvmsg(_MAX_DATAGRAM, _ANCILLARY_BYTES)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as error:  # an ICMP error reported on the socket, say
                _log.debug("receive error: %s", error)
                break
            read += 1
            arrived = now
            for level, kind, payload in ancillary:
                if level != socket.SOL_SOCKET:
                    continue
                if kind == _SO_TIMESTAMPNS and len(payload) >= _TIMESPEC.size:
                    seconds, nanoseconds = _TIMESPEC.unpack_from(payload)
                    arrived = min(now, seconds + nanoseconds * 1e-9 + wall_to_loop)
                elif kind == _SO_RXQ_OVFL and len(payload) >= _COUNTER.size:
                    self._count_kernel_drops(_COUNTER.unpack_from(payload)[0])
            source = source[:2] if ipv6 else source
            if gate.enabled and self._limited(data, source, arrived):
                continue
            backlog.add(data, source, arrived)
        stats.received += read
        stats.deepest = max(stats.deepest, len(backlog))
        if len(backlog) >= BACKLOG_LIMIT:
            self._pause_reading()  # the kernel's buffer holds the rest meanwhile

    def _limited(self, data: bytes, source: Address, arrived: float) -> bool:
        """Answer (503) or drop a request over its source's limit; True if it was."""
        verdict = self.gate.verdict(data, source, arrived - self._epoch)
        if verdict is Verdict.SERVE:
            return False
        self.stats.limited += 1
        if verdict is Verdict.REFUSE:
            answer = refusal(data, self.gate.retry_after(source))
            if answer is not None:
                self._send(answer, reply_address(data, source))
        return True

    def _count_kernel_drops(self, total: int) -> None:
        if total > self.stats.kernel_drops:
            _log.warning("the kernel dropped %d SIP datagrams (receive buffer full)",
                         total - self.stats.kernel_drops)
            self.stats.kernel_drops = total

    def _work(self, first_only: bool = False) -> None:
        """Handle waiting datagrams, most important first (only those if `first_only`), for
        at most WORK_SLICE seconds; what is left waits for a slice due on the loop."""
        if not first_only:
            self._work_pending = False
        if self.closed:
            return
        clock, backlog = self._time, self.backlog
        now = clock()
        self._watch_backlog(now)
        self._recent.expire(now - self._epoch)
        stop_at = now + WORK_SLICE
        handled = 0
        while backlog and (backlog.first_waiting or not first_only):
            # Reading the clock costs little next to handling a datagram, but not nothing.
            if handled & 7 == 7 and clock() >= stop_at:
                break
            self._handle(backlog.pop(), clock())
            handled += 1
        self.stats.dropped = backlog.dropped
        self.flush()
        if backlog and not self._work_pending:
            self._work_pending = True
            assert self._loop is not None
            self._loop.call_soon(self._work)
        if len(backlog) <= BACKLOG_LIMIT // 2:
            self._resume_reading()

    def _watch_backlog(self, now: float) -> None:
        oldest = self.backlog.oldest()
        age = 0.0 if oldest is None else now - oldest
        stats = self.stats
        stats.oldest = max(stats.oldest, age)
        if not self.gauge.observe(age, now):
            return
        overloaded = self.gauge.overloaded
        if overloaded:
            stats.overloads += 1
            _log.warning("overloaded: SIP datagrams waited %.0f ms (%d waiting): refusing "
                         "new calls", age * 1e3, len(self.backlog))
        else:
            _log.warning("load back to normal: taking new calls again (%d refused so far; "
                         "in-dialog requests, responses and OPTIONS waited %.0f ms at most)",
                         stats.shed, stats.first_wait * 1e3)
        if overloaded:
            self._recheck_later()
        if self._sheds:
            try:
                self.core.set_overloaded(overloaded)  # type: ignore[attr-defined]
            except Exception:
                _log.exception("core failed to take its overload state")

    def _recheck_later(self) -> None:
        """While overloaded, look at the backlog now and then even if nothing arrives: the
        end of an overload must not wait for the next datagram."""
        if self._recheck_handle is None:
            assert self._loop is not None
            self._recheck_handle = self._loop.call_later(OVERLOAD_RECHECK, self._recheck)

    def _recheck(self) -> None:
        self._recheck_handle = None
        if self.closed or not self.gauge.overloaded:
            return
        self._watch_backlog(self._time())
        if self.gauge.overloaded:
            self._recheck_later()

    def _handle(self, waiting: Waiting, now: float) -> None:
        data, source, kind = waiting.data, waiting.source, waiting.kind
        if kind is Kind.FIRST:
            wait = now - waiting.arrived
            if wait > self.stats.first_wait:
                self.stats.first_wait = wait
        elif kind is Kind.NEW_INVITE and self._sheds and self._shed(waiting, now):
            return
        try:
            self._receive(data, source, now - self._epoch)
        except Exception:
            _log.exception("core failed on a datagram from %s (%d bytes): %r",
                           _format_address(source), len(data), data[:200])

    def _shed(self, invite: Waiting, now: float) -> bool:
        """Refuse a new INVITE if the appliance is overloaded or the INVITE itself waited too
        long - unless it retransmits one the core already has. True if it was refused."""
        branch = top_branch(invite.data)
        known = branch is not None and branch in self._recent
        late = now - invite.arrived > INVITE_TOO_OLD
        if not known and (late or self.gauge.overloaded) and self._refuse(invite.data,
                                                                          invite.source):
            return True
        if branch is not None and not known:
            self._recent.add(branch, now - self._epoch)
        return False

    def _refuse(self, data: bytes, source: Address) -> bool:
        """Answer a new INVITE with a stateless 503; False if it cannot be answered so."""
        answer = refusal(data, int(getattr(self.core, "retry_after", RETRY_AFTER_DEFAULT)))
        if answer is None:
            return False
        self.stats.shed += 1
        self._send(answer, reply_address(data, source))
        return True

    def _send(self, data: bytes, destination: Address) -> None:
        try:
            self._sendto(data, destination)
        except OSError as error:  # a full buffer or an unreachable peer: dropped, as UDP does
            _log.debug("send error to %s: %s", _format_address(destination), error)

    # -- sending and the timer ------------------------------------------------------------------

    def flush(self) -> None:
        """Send what the core has queued and re-arm the timer if its deadline changed."""
        try:
            send = self._send
            for data, destination in self._take():
                send(data, destination)
            self._wakeup.rearm()
        except Exception:
            _log.exception("core failed while being flushed")
        for hook in self.after_flush:
            hook()
        if self._idle_waiter is not None:
            self._check_idle()

    def _schedule(self, deadline: float, at: float) -> asyncio.TimerHandle | None:
        if self._sock is None or self.closed:
            return None
        assert self._loop is not None
        return self._loop.call_at(self._epoch + at, self._on_timer, deadline)

    def _on_timer(self, deadline: float) -> None:
        now = self._time() - self._epoch
        try:
            self._wakeup.fire(deadline, now)
        except Exception:
            _log.exception("core failed on its deadline at %.3f", max(now, deadline))
            self._retry_after_failure(now)
        self.flush()

    def _retry_after_failure(self, now: float) -> None:
        try:
            deadline = self.core.next_deadline()
        except Exception:
            return
        if deadline is not None and deadline <= now:
            self._wakeup.arm(deadline, now + _RETRY_AFTER_FAILURE)

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
        return hostport((str(address[0]), address[1]))
    except (TypeError, IndexError):
        return repr(address)


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


def _ask_for_timestamps(sock: socket.socket) -> bool:
    """Ask the kernel to stamp each datagram with its arrival time and to count the ones it
    drops; False where it cannot (then a datagram's age is counted from when it is read)."""
    if not sys.platform.startswith("linux"):
        return False
    stamped = True
    for option in (_SO_TIMESTAMPNS, _SO_RXQ_OVFL):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, 1)
        except OSError as error:
            _log.warning("socket option %d not available: %s", option, error)
            stamped = stamped and option != _SO_TIMESTAMPNS
    return stamped


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
