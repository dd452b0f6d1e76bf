"""The media anchor of bridged calls: RTP relayed between a call's two sides, sans-I/O.

Each call gets two local RTP ports, one facing the caller's gateway and one facing the agent's
phone. A packet arriving on one side's port leaves from the other side's port towards that
side's peer. A peer's address comes from its SDP and is replaced by the source of its first
packet (symmetric RTP, "latching"), which is what reaches phones behind NAT; after that,
packets from any other source are dropped, so a stranger cannot inject audio into a call.

RTCP (RFC 3550 6) goes through the odd port above each RTP port the same way, latched on its
own (behind NAT it comes from another port than the RTP); until a side's RTCP is heard, it is
sent to the port above that side's RTP peer. RTCP does not count as the side being heard.

Packets are relayed as bytes, unparsed: the relay is on the hot path of every call. Whoever
records or listens (recording, DTMF detection) taps a call and parses what it needs.

A side that has been silent for `media_timeout` seconds is reported (`MediaTimeout`), the
other half of lost-BYE protection. Drivers carry out `take_datagrams()` (each a local port,
bytes and destination), keep one wake-up at `next_deadline()` and call `on_deadline(now)`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from appliance.clock import Deadlines, TimerHandle

Address = tuple[str, int]
Tap = Callable[[int, bytes, float], None]  # (side, packet, now)

CALLER = 0
AGENT = 1


class MediaError(Exception):
    """The relay cannot do what was asked (no free ports, an unknown call)."""


@dataclass(frozen=True)
class MediaTimeout:
    """`side` of `call` sent nothing for `silent_for` seconds."""

    call: int
    side: int
    silent_for: float


@dataclass
class Side:
    local_port: int
    peer: Address | None = None
    latched: bool = False
    last_heard: float = 0.0
    packets_in: int = 0
    packets_out: int = 0
    dropped: int = 0  # from a source other than the latched peer
    watched: bool = True  # whether its silence ends the call (not while held or queued)
    rtcp_peer: Address | None = None  # latched from the side's first RTCP packet

    @property
    def rtcp_destination(self) -> Address | None:
        if self.rtcp_peer is not None:
            return self.rtcp_peer
        return None if self.peer is None else (self.peer[0], self.peer[1] + 1)


@dataclass
class MediaSession:
    call: int
    sides: tuple[Side, Side]
    taps: list[Tap] = field(default_factory=list)
    timer: TimerHandle | None = None
    timed_out: bool = False


class MediaRelay:
    def __init__(self, ports: Iterable[int], media_timeout: float = 60.0,
                 deadlines: Deadlines | None = None) -> None:
        """`ports`: the local ports the relay may use: each even one whose odd neighbour is
        also given is a side's RTP port, the odd one its RTCP port."""
        usable = set(ports)
        self._free = deque(port for port in sorted(usable)
                           if port % 2 == 0 and port + 1 in usable)
        self.media_timeout = media_timeout
        self.deadlines = deadlines if deadlines is not None else Deadlines()
        self.sessions: dict[int, MediaSession] = {}
        self._by_port: dict[int, tuple[MediaSession, int]] = {}
        self._by_rtcp_port: dict[int, tuple[MediaSession, int]] = {}
        self._out: list[tuple[int, bytes, Address]] = []
        self._events: list[MediaTimeout] = []
        # Ports the driver must start or stop listening on, oldest first.
        self._opened: list[int] = []
        self._closed: list[int] = []

    # --- calls ------------------------------------------------------------------------------

    @property
    def calls_free(self) -> int:
        """How many more calls the free ports can take."""
        return len(self._free) // 2

    def open(self, call: int, now: float) -> MediaSession:
        """Two local ports for `call` (caller side first); MediaError when none are free."""
        if call in self.sessions:
            raise MediaError(f"call {call} already has media")
        if len(self._free) < 2:
            raise MediaError("no free media ports")
        sides = (Side(self._free.popleft(), last_heard=now),
                 Side(self._free.popleft(), last_heard=now))
        session = MediaSession(call, sides)
        self.sessions[call] = session
        for index, side in enumerate(sides):
            self._by_port[side.local_port] = (session, index)
            self._by_rtcp_port[side.local_port + 1] = (session, index)
            self._opened += (side.local_port, side.local_port + 1)
        self._arm(session, now + self.media_timeout)
        return session

    def set_peer(self, call: int, side: int, address: Address) -> None:
        """Where `side` receives, from its SDP (until its first packet says otherwise)."""
        target = self._session(call).sides[side]
        if not target.latched:
            target.peer = address

    def watch(self, call: int, side: int, watched: bool, now: float) -> None:
        """Whether `side`'s silence counts: not for a party on hold (RFC 3264 lets it stop
        sending) nor for a side with nobody on it yet. Watching starts the count afresh."""
        target = self._session(call).sides[side]
        if watched and not target.watched:
            target.last_heard = now
        target.watched = watched

    def tap(self, call: int, listener: Tap) -> None:
        """Call `listener(side, packet, now)` with every packet either side sends."""
        self._session(call).taps.append(listener)

    def close(self, call: int) -> None:
        """Stop relaying `call` and free its ports. Unknown calls are ignored."""
        session = self.sessions.pop(call, None)
        if session is None:
            return
        # The timer's arguments hold the session: break the cycle, so that reference counting
        # frees the call at once (the appliance runs the cyclic collector rarely).
        if session.timer is not None:
            session.timer.cancel()
            session.timer = None
        session.taps.clear()
        for side in session.sides:
            del self._by_port[side.local_port]
            del self._by_rtcp_port[side.local_port + 1]
            self._free.append(side.local_port)
            self._closed += (side.local_port, side.local_port + 1)

    def _session(self, call: int) -> MediaSession:
        try:
            return self.sessions[call]
        except KeyError:
            raise MediaError(f"call {call} has no media") from None

    # --- packets ----------------------------------------------------------------------------

    def receive(self, local_port: int, data: bytes, source: Address, now: float) -> None:
        """A datagram arrived on `local_port` from `source`."""
        entry = self._by_port.get(local_port)
        if entry is None:
            self._receive_rtcp(local_port, data, source)
            return
        session, index = entry
        side = session.sides[index]
        if not side.latched:
            side.peer, side.latched = source, True
        elif source != side.peer:
            side.dropped += 1
            return
        side.packets_in += 1
        side.last_heard = now
        other = session.sides[1 - index]
        if other.peer is not None:
            other.packets_out += 1
            self._out.append((other.local_port, data, other.peer))
        for listener in session.taps:
            listener(index, data, now)

    def _receive_rtcp(self, local_port: int, data: bytes, source: Address) -> None:
        entry = self._by_rtcp_port.get(local_port)
        if entry is None:
            return  # a port of a call that has ended: late packets are dropped
        session, index = entry
        side = session.sides[index]
        if side.rtcp_peer is None:
            side.rtcp_peer = source
        elif source != side.rtcp_peer:
            side.dropped += 1
            return
        other = session.sides[1 - index]
        destination = other.rtcp_destination
        if destination is not None:
            self._out.append((other.local_port + 1, data, destination))

    def take_port_changes(self) -> tuple[list[int], list[int]]:
        """Ports to start listening on and ports to stop, since the last call."""
        opened, closed = self._opened, self._closed
        self._opened, self._closed = [], []
        return opened, closed

    def take_datagrams(self) -> list[tuple[int, bytes, Address]]:
        out, self._out = self._out, []
        return out

    # --- media timeouts ---------------------------------------------------------------------

    @property
    def has_events(self) -> bool:
        return bool(self._events)

    def take_events(self) -> list[MediaTimeout]:
        events, self._events = self._events, []
        return events

    def next_deadline(self) -> float | None:
        return self.deadlines.next_deadline()

    def on_deadline(self, now: float) -> None:
        self.deadlines.run_due(now)

    def _arm(self, session: MediaSession, when: float) -> None:
        session.timer = self.deadlines.schedule(when, self._check_silence, session)

    def _check_silence(self, now: float, session: MediaSession) -> None:
        # One timer per call, re-armed for the quieter side's expiry, not one per packet.
        session.timer = None
        if session.call not in self.sessions or session.timed_out:
            return
        watched = [side for side in session.sides if side.watched]
        if not watched:
            self._arm(session, now + self.media_timeout)
            return
        quietest = min(watched, key=lambda side: side.last_heard)
        silent_for = now - quietest.last_heard
        if silent_for >= self.media_timeout:
            session.timed_out = True
            self._events.append(MediaTimeout(session.call, session.sides.index(quietest),
                                             silent_for))
            return
        self._arm(session, quietest.last_heard + self.media_timeout)
