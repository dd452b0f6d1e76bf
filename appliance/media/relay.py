"""The media anchor of bridged calls: RTP relayed between a call's two sides, sans-I/O.

Each call gets two local RTP ports, one facing the caller's gateway and one facing the agent's
phone. A packet arriving on one side's port leaves from the other side's port towards that
side's peer. A peer's address comes from its SDP and is replaced by the source of its first
packet (symmetric RTP, "latching"), which is what reaches phones behind NAT; after that,
packets from any other source are dropped, so a stranger cannot inject audio into a call.

Towards each party the appliance is one RTP source for the whole call (`OutboundStream`):
relayed packets get that side's SSRC, sequence numbers and timestamps, continuous with the
prompts and music the plane's `Player` sent through the same stream. Datagrams too short for
an RTP header, or not version 2, are dropped (`Side.malformed`).

RTCP (RFC 3550 6) arrives on the odd port above each RTP port, latched on its own (behind NAT
it comes from another port than the RTP); until a side's RTCP is heard, ours goes to the port
above that side's RTP peer. It is read, not relayed (the peer's reports are about streams the
other party never sees): each side's `RtcpParty` keeps the figures, and every call sends each
side a compound report about every 5 s (randomised 0.5-1.5 times, RFC 3550 6.2) on one timer
per call, and a BYE when it closes. RTCP does not count as the side being heard. RTCP sent
to the RTP port (RFC 5761 muxing, which we never offer) is read the same way.

Packets are relayed with their header rewritten and their payload untouched: the relay is on
the hot path of every call. Whoever records or listens (recording, DTMF detection) taps a
call and parses what it needs; taps see packets as the party sent them.

Not every packet crosses: a side's packets of one payload type can be withheld from the other
party (`withhold`: an agent's telephone-events, keys for the appliance, not the customer),
and a side covered while the appliance speaks to its party through the same stream (`cover`:
a parker told the slot) hears nothing of the other party meanwhile.

A side that has been silent for `media_timeout` seconds is reported (`MediaTimeout`), the
other half of lost-BYE protection. Drivers carry out `take_datagrams()` (each a local port,
bytes and destination), keep one wake-up at `next_deadline()` and call `on_deadline(now)`.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from random import Random

from appliance.clock import Deadlines, TimerHandle
from appliance.media.quality import REPORT_INTERVAL, PartyQuality, RtcpParty
from appliance.media.stream import OutboundStream
from appliance.net import Address

Tap = Callable[[int, bytes, float], None]  # (side, packet, now)

CALLER = 0
AGENT = 1
_FIXED = struct.Struct("!BBHII")


class MediaError(Exception):
    """The relay cannot do what was asked (no free ports, an unknown call)."""


@dataclass(frozen=True)
class MediaPortFailed:
    """The driver cannot listen on `port`, which serves `side` of `call`: another program
    holds it. The call has no audio that way; the port is left out from now on."""

    call: int
    side: int
    port: int


@dataclass(frozen=True)
class MediaTimeout:
    """`side` of `call` sent nothing for `silent_for` seconds."""

    call: int
    side: int
    silent_for: float


@dataclass
class Side:
    local_port: int
    rtcp: RtcpParty  # our RTCP with the party, and `rtcp.stream`, what we send them
    peer: Address | None = None
    latched: bool = False
    last_heard: float = 0.0
    packets_in: int = 0
    packets_out: int = 0
    dropped: int = 0  # from a source other than the latched peer
    malformed: int = 0  # too short for RTP, or not version 2
    watched: bool = True  # whether its silence ends the call (not while held or queued)
    rtcp_peer: Address | None = None  # latched from the side's first RTCP packet
    # The source and SSRC of the party that left this side (a transfer): its packets still
    # on their way must not latch the side in place of the next party's.
    departed: tuple[Address, int | None] | None = None
    departed_rtcp: Address | None = None  # where the departed party's RTCP came from
    withheld: int | None = None  # a payload type this side sends that the other never hears
    covered: bool = False  # the appliance speaks to this side's party: nothing relayed to it

    @property
    def stream(self) -> OutboundStream:
        """The one RTP stream the appliance sends this side's party."""
        return self.rtcp.stream

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
    rtcp_timer: TimerHandle | None = None
    timed_out: bool = False
    parted: bool = False  # the sides are not relayed to each other (a caller on hold)


class MediaRelay:
    def __init__(self, ports: Iterable[int], media_timeout: float = 60.0,
                 deadlines: Deadlines | None = None, rng: Random | None = None, *,
                 cname: str = "ccbox", ntp_epoch: float = 0.0) -> None:
        """`ports`: the local ports the relay may use: each even one whose odd neighbour is
        also given is a side's RTP port, the odd one its RTCP port. `rng` draws SSRCs, first
        sequence numbers and timestamps and report intervals (seeded with 0 if not given);
        `cname` is our RTCP CNAME, `ntp_epoch` the Unix time of `now == 0` for sender
        reports' NTP timestamps."""
        usable = set(ports)
        self._free = deque(port for port in sorted(usable)
                           if port % 2 == 0 and port + 1 in usable)
        self._unusable: set[int] = set()  # RTP ports another program holds
        self.media_timeout = media_timeout
        self.deadlines = deadlines if deadlines is not None else Deadlines()
        self.rng = rng if rng is not None else Random(0)
        self.cname = cname
        self.ntp_epoch = ntp_epoch
        self.sessions: dict[int, MediaSession] = {}
        self._by_port: dict[int, tuple[MediaSession, int]] = {}
        self._by_rtcp_port: dict[int, tuple[MediaSession, int]] = {}
        self._out: list[tuple[int, bytes, Address]] = []
        self._events: list[MediaTimeout | MediaPortFailed] = []
        # Ports the driver must start or stop listening on, oldest first.
        self._opened: list[int] = []
        self._closed: list[int] = []

    # --- calls ------------------------------------------------------------------------------

    def set_wall_clock(self, unix_time_at_zero: float) -> None:
        """The Unix time of `now == 0`, for the NTP timestamps of calls opened from now on
        (a driver that may read the wall clock says it once, at start)."""
        self.ntp_epoch = unix_time_at_zero

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
        sides = (Side(self._free.popleft(), self._rtcp_party(), last_heard=now),
                 Side(self._free.popleft(), self._rtcp_party(), last_heard=now))
        session = MediaSession(call, sides)
        self.sessions[call] = session
        for index, side in enumerate(sides):
            self._by_port[side.local_port] = (session, index)
            self._by_rtcp_port[side.local_port + 1] = (session, index)
            self._opened += (side.local_port, side.local_port + 1)
        self._arm(session, now + self.media_timeout)
        # RFC 3550 6.2: the first report after half the minimum interval.
        session.rtcp_timer = self.deadlines.schedule(now + self._report_interval() / 2,
                                                     self._send_reports, session)
        return session

    def _rtcp_party(self) -> RtcpParty:
        rng = self.rng
        stream = OutboundStream(rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(32))
        return RtcpParty(stream, self.cname, self.ntp_epoch)

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

    def release(self, call: int, side: int, now: float) -> None:
        """`side`'s party has left the call and another may take its place (a transfer): the
        party gets a last report with an RTCP BYE, and the side starts afresh on the same
        port - no peer, not latched, not watched, new RTCP figures and a new stream (a new
        party hears a new source). Packets from the departed party's source with its SSRC,
        late or sent until its phone hangs up, are dropped rather than latched; the same
        phone taking the call again sends a new SSRC and is latched as any party."""
        session = self._session(call)
        old = session.sides[side]
        destination = old.rtcp_destination
        if destination is not None:
            self._out.append((old.local_port + 1, old.rtcp.report(now, True), destination))
        departed = (old.peer, old.rtcp.reception.ssrc) if old.latched and old.peer else None
        fresh = Side(old.local_port, self._rtcp_party(), last_heard=now, watched=False,
                     departed=departed, departed_rtcp=old.rtcp_peer)
        sides = list(session.sides)
        sides[side] = fresh
        session.sides = (sides[0], sides[1])

    def part(self, call: int, parted: bool) -> None:
        """Whether the two sides stop hearing each other (while the caller is on hold, the
        agent must not hear them and the caller hears music instead). Taps and the sides'
        figures still see every packet; latching and RTCP go on as ever."""
        self._session(call).parted = parted

    def withhold(self, call: int, side: int, payload_type: int | None) -> None:
        """`side`'s packets of `payload_type` are not relayed to the other (an agent's
        telephone-events: their keys are for the appliance); taps still see them. None: all
        are relayed. A side `release`d starts with none withheld."""
        self._session(call).sides[side].withheld = payload_type

    def cover(self, call: int, side: int, covered: bool) -> None:
        """Whether the other side's packets stop reaching `side` while the appliance sends
        its party a sound of its own through the same stream."""
        self._session(call).sides[side].covered = covered

    def tap(self, call: int, listener: Tap) -> None:
        """Call `listener(side, packet, now)` with every packet either side sends."""
        self._session(call).taps.append(listener)

    def quality(self, call: int) -> tuple[PartyQuality, PartyQuality]:
        """The media figures of the caller and the agent side so far."""
        sides = self._session(call).sides
        return sides[CALLER].rtcp.figures(), sides[AGENT].rtcp.figures()

    def close(self, call: int, now: float | None = None
              ) -> tuple[PartyQuality, PartyQuality] | None:
        """Stop relaying `call` and free its ports; with `now`, send each side a last report
        and an RTCP BYE first. The call's media figures; None for an unknown call."""
        session = self.sessions.pop(call, None)
        if session is None:
            return None
        if now is not None:
            self._report_to_each(session, now, bye=True)
        # The timers' arguments hold the session: break the cycle, so that reference counting
        # frees the call at once (the appliance runs the cyclic collector rarely).
        for timer in (session.timer, session.rtcp_timer):
            if timer is not None:
                timer.cancel()
        session.timer = session.rtcp_timer = None
        session.taps.clear()
        figures = (session.sides[CALLER].rtcp.figures(), session.sides[AGENT].rtcp.figures())
        for side in session.sides:
            del self._by_port[side.local_port]
            del self._by_rtcp_port[side.local_port + 1]
            if side.local_port not in self._unusable:
                self._free.append(side.local_port)
            self._closed += (side.local_port, side.local_port + 1)
        return figures

    def port_failed(self, port: int) -> None:
        """The driver could not listen on `port` (RTP or RTCP): its side's ports leave the pool
        for good, and the call they serve is reported (`MediaPortFailed`) so that it is ended
        rather than left without audio."""
        rtp_port = port & ~1
        self._unusable.add(rtp_port)
        if rtp_port in self._free:
            self._free.remove(rtp_port)
        entry = self._by_port.get(rtp_port)
        if entry is not None:
            session, index = entry
            self._events.append(MediaPortFailed(session.call, index, port))

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
            self._receive_rtcp(local_port, data, source, now)
            return
        session, index = entry
        side = session.sides[index]
        if len(data) < 12 or data[0] & 0xC0 != 0x80:
            side.malformed += 1
            return
        first, second, sequence, timestamp, ssrc = _FIXED.unpack_from(data)
        if not side.latched:
            if (source, ssrc) == side.departed:
                side.dropped += 1  # the party that left, still sending until it hears BYE
                return
            side.peer, side.latched = source, True
        elif source != side.peer:
            side.dropped += 1
            return
        if 192 <= second <= 223:
            # RTCP on the RTP port (RFC 5761 muxing, never offered): read, and not taken for
            # a new RTP source, which would restart the other party's stream.
            side.rtcp.receive(data, now)
            return
        side.packets_in += 1
        side.last_heard = now
        side.rtcp.reception.packet(sequence, timestamp, ssrc, now)
        other = session.sides[1 - index]
        if (other.peer is not None and not session.parted and not other.covered
                and second & 0x7F != side.withheld):
            other.packets_out += 1
            rewritten = other.rtcp.stream.rewrite(data, first, second, sequence, timestamp,
                                                  ssrc, now)
            self._out.append((other.local_port, rewritten, other.peer))
        for listener in session.taps:
            listener(index, data, now)

    def _receive_rtcp(self, local_port: int, data: bytes, source: Address, now: float) -> None:
        entry = self._by_rtcp_port.get(local_port)
        if entry is None:
            return  # a port of a call that has ended: late packets are dropped
        session, index = entry
        side = session.sides[index]
        if side.rtcp_peer is None:
            if source == side.departed_rtcp and _from_departed(side, data):
                side.dropped += 1  # the party that left: its reports must not latch the side
                return
            side.rtcp_peer = source
        elif source != side.rtcp_peer:
            side.dropped += 1
            return
        side.rtcp.receive(data, now)

    def _send_reports(self, now: float, session: MediaSession) -> None:
        session.rtcp_timer = None
        if session.call not in self.sessions:
            return
        self._report_to_each(session, now, bye=False)
        session.rtcp_timer = self.deadlines.schedule(now + self._report_interval(),
                                                     self._send_reports, session)

    def _report_to_each(self, session: MediaSession, now: float, bye: bool) -> None:
        for side in session.sides:
            destination = side.rtcp_destination
            if destination is not None:
                self._out.append((side.local_port + 1, side.rtcp.report(now, bye), destination))

    def _report_interval(self) -> float:
        return REPORT_INTERVAL * (0.5 + self.rng.random())

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

    def take_events(self) -> list[MediaTimeout | MediaPortFailed]:
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


def _from_departed(side: Side, report: bytes) -> bool:
    """Whether an RTCP packet's sender SSRC (RFC 3550 6.4) is the departed party's."""
    ssrc = side.departed[1] if side.departed is not None else None
    return len(report) >= 8 and int.from_bytes(report[4:8], "big") == ssrc
