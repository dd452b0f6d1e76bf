"""RTP from the load's callers and agents: G.711 silence, 20 ms a packet, on answered calls.

Each answered call's caller (from the gateway's 200) and agent (once the box has taken the
phone's answer) sends PCMU silence from a UDP socket of its own to the address the box's SDP
names; the box's relay latches each stream on its source (symmetric RTP), so what comes back
reaches the same socket, and is counted. A stream ends with its call. `MediaSeen` says whether
media flowed: streams, packets each way, and streams that received nothing.

One ticker sends a packet on every stream each 20 ms, whatever the number of streams: the
cost is a `sendto` and a `recvfrom` per packet, no timer per call. The SIP models never see
any of it (a simulated run has no RTP at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass

from appliance.net import Address

PTIME = 0.02  # seconds of audio a packet
SAMPLES = 160  # 8 kHz x 20 ms
SILENCE = b"\xff" * SAMPLES  # PCMU (payload type 0) silence
MAX_DATAGRAM = 2048


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
class MediaSeen:
    """The load side's RTP: streams started, packets sent and received, and streams that
    received none by their end (media did not flow to that party)."""

    streams: int = 0
    sent: int = 0
    received: int = 0
    silent: int = 0


class Stream:
    """One party's RTP: its socket, where it sends, what it has sent and received."""

    def __init__(self, host: str, to: Address, ssrc: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self.to, self.ssrc = to, ssrc
        self.seq = self.sent = self.received = 0

    def packet(self) -> bytes:
        header = struct.pack("!BBHII", 0x80, 0, self.seq & 0xFFFF,
                             (self.seq * SAMPLES) & 0xFFFFFFFF, self.ssrc)
        self.seq += 1
        return header + SILENCE


class LoadMedia:
    """Streams by key (the caller's or the agent's side of a call), sent on by `run()`."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.seen = MediaSeen()
        self.streams: dict[object, Stream] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, key: object, sdp: bytes) -> None:
        """A stream for `key` to where `sdp` receives (nothing if it names nowhere, or `key`
        has one already)."""
        to = rtp_address(sdp)
        if to is None or key in self.streams or self._loop is None:
            return
        stream = Stream(self.host, to, len(self.streams) + self.seen.streams + 1)
        self.streams[key] = stream
        self.seen.streams += 1
        self._loop.add_reader(stream.sock, self._readable, stream)

    def stop(self, key: object) -> None:
        """End `key`'s stream, counting it silent if it received nothing."""
        stream = self.streams.pop(key, None)
        if stream is None:
            return
        self.seen.silent += stream.received == 0
        self._close(stream)

    async def run(self) -> None:
        """Send a packet on every stream each `PTIME` until cancelled; then end them all."""
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                for stream in list(self.streams.values()):
                    self._send(stream)
                await asyncio.sleep(PTIME)
        finally:
            for key in list(self.streams):
                self.stop(key)

    def _send(self, stream: Stream) -> None:
        with contextlib.suppress(OSError):  # a full buffer: lost, as RTP may be
            stream.sock.sendto(stream.packet(), stream.to)
            stream.sent += 1
            self.seen.sent += 1

    def _readable(self, stream: Stream) -> None:
        while True:
            try:
                stream.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # an ICMP error for an earlier send
            stream.received += 1
            self.seen.received += 1

    def _close(self, stream: Stream) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(stream.sock)
        stream.sock.close()
