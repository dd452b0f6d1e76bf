"""RTP from the load's callers and agents: G.711 silence, 20 ms a packet, on answered calls.

Each answered call's caller (from the gateway's 200) and agent (once the box has taken the
phone's answer) sends PCMU silence from a UDP socket of its own to the address the box's SDP
names; the box's relay latches each stream on its source (symmetric RTP), so what comes back
reaches the same socket, and is counted. A stream ends with its call. `MediaSeen` says whether
media flowed, and flowed all along: streams, packets each way, streams that received nothing,
and streams whose received audio stopped for more than `GAP` mid-call.

One timer sends for every stream, on the 20 ms grid of `sim.load.pacing`: a round that runs
late is caught up (a bounded burst), not carried into the rounds after it. The cost is a
`sendto` and a `recv` per packet, no timer per call. The SIP models never see any of it (a
simulated run has no RTP at all).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.net import Address
from sim.load.pacing import SAMPLES, Cadence, Grid

SILENCE = b"\xff" * SAMPLES  # PCMU (payload type 0) silence
HEADER = struct.Struct("!BBHII")  # version 2, payload type 0, sequence, timestamp, SSRC
MAX_DATAGRAM = 2048
GAP = 1.0  # wall seconds without a packet back that count as media having stopped
GAPS_KEPT = 20  # gaps listed one by one in `MediaSeen.gaps`; the rest only counted


def rtp_address(sdp: bytes) -> Address | None:
    """The (host, port) an SDP body's first audio stream receives on; None without one."""
    host, port = None, None
    for line in sdp.decode(errors="replace").splitlines():
        if line.startswith("c=IN IP4 ") and host is None:
            host = line.split()[2]
        elif line.startswith("m=audio ") and port is None:
            port = int(line.split()[1])
    return None if host is None or port is None or port == 0 else (host, port)


@dataclass
class Gap:
    """A stream's received audio stopped: from `at` (wall seconds into the load) for
    `seconds`."""

    stream: str
    at: float
    seconds: float


@dataclass
class MediaSeen:
    """The load side's RTP: streams started, packets sent and received, streams that received
    none by their end (media did not flow to that party) and streams with a gap (it stopped
    for more than `GAP` between their first packet back and their end; the first `GAPS_KEPT`
    listed). `late` packets were sent after their tick, caught up; `skipped` ones not at all
    (the sender was more than a burst late): both say the load side, not the box, fell
    behind."""

    streams: int = 0
    sent: int = 0
    received: int = 0
    silent: int = 0
    gapped: int = 0
    longest_gap: float = 0.0
    late: int = 0
    skipped: int = 0
    gaps: list[Gap] = field(default_factory=list)

    @property
    def flowed(self) -> bool:
        """Media flowed to every stream all along: none silent, none with a gap."""
        return self.silent == 0 and self.gapped == 0


class Heard:
    """When a stream's packets came back: how many, and the silences longer than `GAP` after
    the first, as (start, seconds); none counts while `held` (its party put the other on
    hold, and the box sends it nothing until it resumes)."""

    def __init__(self) -> None:
        self.count = 0
        self.last: float | None = None
        self.held = False
        self.gaps: list[tuple[float, float]] = []

    def packet(self, now: float) -> None:
        """A packet arrived at `now`."""
        self.end(now)
        self.count += 1
        self.last = now

    def hold(self, held: bool, now: float) -> None:
        """The party held (`held`) or resumed at `now`: the silence is timed again from a
        resume."""
        if not held and self.held and self.last is not None:
            self.last = now
        self.held = held

    def end(self, now: float) -> None:
        """The silence since the last packet, if long enough, is a gap (the stream's end
        calls this too: audio that stopped before the call did)."""
        if self.last is not None and not self.held and now - self.last > GAP:
            self.gaps.append((self.last, now - self.last))


class Stream:
    """One party's RTP: its socket, where it sends, its place on the grid, what came back."""

    def __init__(self, host: str, to: Address, ssrc: int, first: int, name: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self.to, self.ssrc = to, ssrc
        self.cadence = Cadence(first)
        self.heard = Heard()
        self.name = name
        self._packet = bytearray(HEADER.size) + SILENCE  # the header rewritten for each

    def send_due(self, tick: int) -> int:
        """Send the packets owed once `tick` is due; how many went out."""
        sent = 0
        for due in self.cadence.due(tick):
            HEADER.pack_into(self._packet, 0, 0x80, 0, *self.cadence.stamp(due), self.ssrc)
            try:
                self.sock.sendto(self._packet, self.to)
            except OSError:  # a full buffer: lost, as RTP may be
                continue
            sent += 1
        return sent


class LoadMedia:
    """Streams by key (the caller's or the agent's side of a call), sent on by `run()` (or
    `tick(now)`), at times `clock` (the event loop's) says."""

    def __init__(self, host: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.clock = clock
        self.grid = Grid(clock())
        self.seen = MediaSeen()
        self.streams: dict[object, Stream] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scratch = bytearray(MAX_DATAGRAM)

    def open(self) -> None:
        """Take the running event loop for the streams' readers (`start` starts none
        before), and start the grid (and the times in `MediaSeen.gaps`) now."""
        self._loop = asyncio.get_running_loop()
        self.grid = Grid(self.clock())

    def start(self, key: object, sdp: bytes, name: str = "") -> None:
        """A stream for `key` to where `sdp` receives, from the next tick (nothing if it
        names nowhere, or `key` has one already); `name` (by default `key`) names it in
        `MediaSeen.gaps`."""
        to = rtp_address(sdp)
        if to is None or key in self.streams or self._loop is None:
            return
        self.seen.streams += 1
        first = self.grid.tick(self.clock()) + 1
        stream = Stream(self.host, to, self.seen.streams, first, name or str(key))
        self.streams[key] = stream
        self._loop.add_reader(stream.sock, self._readable, stream)

    def stop(self, key: object) -> None:
        """End `key`'s stream and count what it saw."""
        stream = self.streams.pop(key, None)
        if stream is None:
            return
        stream.heard.end(self.clock())
        self._tally(stream)
        self._close(stream)

    def hold(self, key: object, held: bool) -> None:
        """`key`'s party put the other on hold (`held`) or resumed: audio back may stop
        meanwhile."""
        stream = self.streams.get(key)
        if stream is not None:
            stream.heard.hold(held, self.clock())

    def tick(self, now: float) -> None:
        """Send every stream's packets due by `now`."""
        tick, sent = self.grid.tick(now), 0
        for stream in self.streams.values():
            sent += stream.send_due(tick)
        self.seen.sent += sent

    async def run(self) -> None:
        """Send each stream's packets on time until cancelled; then end them all."""
        self.open()
        try:
            while True:
                now = self.clock()
                self.tick(now)
                await asyncio.sleep(self.grid.deadline(now) - self.clock())
        finally:
            for key in list(self.streams):
                self.stop(key)

    def _readable(self, stream: Stream) -> None:
        # One datagram a call: the selector calls again while more are waiting, and a
        # second read would mostly find none (a failed system call a packet).
        try:
            stream.sock.recv_into(self._scratch)
        except OSError:  # none after all, or an ICMP error for an earlier send
            return
        stream.heard.packet(self.clock())
        self.seen.received += 1

    def _tally(self, stream: Stream) -> None:
        seen, heard = self.seen, stream.heard
        seen.silent += heard.count == 0
        seen.late += stream.cadence.late
        seen.skipped += stream.cadence.skipped
        seen.gapped += bool(heard.gaps)
        for start, seconds in heard.gaps:
            seen.longest_gap = max(seen.longest_gap, seconds)
            if len(seen.gaps) < GAPS_KEPT:
                at = start - self.grid.origin
                seen.gaps.append(Gap(stream.name, round(at, 3), round(seconds, 3)))

    def _close(self, stream: Stream) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(stream.sock)
        stream.sock.close()
