"""Prompts and music on hold as RTP, paced by the clock seam (no sleeping in the core).

A `Player` turns 8 kHz audio into 20 ms G.711 packets, one due every 20 ms of the caller's
time from when it starts. The driver wakes it at `next_deadline()`; `on_deadline(now)` emits
every packet due by `now` (several at once if the wake-up came late, so the far end's jitter
buffer sees the right timestamps), then says when the next one is due. Packets go out through
the party's `OutboundStream`, the one the relay also sends the other party's audio through:
sequence numbers and timestamps run on across prompts, loops and relayed audio, as one RTP
stream (RFC 3550 5.1), and the marker bit is set on the first packet of each talkspurt, whose
timestamp also counts the silence before it.

Sounds are encoded to G.711 once, when queued (`play`, `loop`), or before (`play_encoded`,
`loop_encoded`, with bytes a caller may share between players): a packet is then a slice of
bytes behind a 12-byte header. At hundreds of queued callers this is most of the appliance's
work, so nothing is encoded or allocated per packet beyond that.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from appliance.media.g711 import alaw_encode, ulaw_encode
from appliance.media.rtp import RtpPacket
from appliance.media.rtp import parse as parse_rtp
from appliance.media.stream import OutboundStream

SAMPLE_RATE = 8000
PACKET_SAMPLES = 160  # 20 ms
PACKET_SECONDS = PACKET_SAMPLES / SAMPLE_RATE
_ENCODERS = {0: ulaw_encode, 8: alaw_encode}  # RTP payload type -> G.711 law
_SILENCE = {0: b"\xff", 8: b"\xd5"}  # the G.711 code of 0 in each law


def encode(samples: np.ndarray, payload_type: int) -> bytes:
    """8 kHz mono int16 samples as G.711 payload bytes for `payload_type` (0 or 8)."""
    if payload_type not in _ENCODERS:
        raise ValueError(f"payload type {payload_type}: expected 0 (PCMU) or 8 (PCMA)")
    return _ENCODERS[payload_type](_checked(samples))


@dataclass(frozen=True)
class Finished:
    """The player reached the end of `name` (a prompt, not a loop)."""

    name: str
    at: float


class Player:
    """The appliance's own audio towards one party, sent through `stream`: queued prompts,
    then (optionally) looping music."""

    def __init__(self, stream: OutboundStream, payload_type: int = 0) -> None:
        if payload_type not in _ENCODERS:
            raise ValueError(f"payload type {payload_type}: expected 0 (PCMU) or 8 (PCMA)")
        self.stream = stream
        self.payload_type = payload_type
        self._silence = _SILENCE[payload_type] * PACKET_SAMPLES
        self._queue: deque[tuple[str, bytes]] = deque()
        self._music: tuple[str, bytes] | None = None
        self._current: tuple[str, bytes] | None = None  # the prompt playing
        self._offset = 0
        self._music_offset = 0  # music resumes where a prompt interrupted it
        self._next_due: float | None = None
        self._talkspurt = True
        self.datagrams: list[bytes] = []
        self.events: list[Finished] = []

    # --- what to play ---------------------------------------------------------------------

    def play(self, name: str, samples: np.ndarray, now: float) -> None:
        """Queue a prompt (int16, 8 kHz mono); it plays after the prompts queued before it,
        interrupting the music."""
        self.play_encoded(name, encode(samples, self.payload_type), now)

    def play_encoded(self, name: str, payload: bytes, now: float) -> None:
        """`play` for a sound already encoded in this player's law."""
        self._queue.append((name, payload))  # music gives way at the next packet
        self._start(now)

    def loop(self, name: str, samples: np.ndarray, now: float) -> None:
        """Music on hold: plays whenever no prompt is queued, from where it left off."""
        self.loop_encoded(name, encode(samples, self.payload_type), now)

    def loop_encoded(self, name: str, payload: bytes, now: float) -> None:
        self._music = (name, payload)
        self._music_offset = 0
        self._start(now)

    def stop(self) -> None:
        """Silence at once: prompts dropped, music off (an agent answered)."""
        self._queue.clear()
        self._music = self._current = None
        self._next_due = None
        self._talkspurt = True

    @property
    def playing(self) -> str | None:
        """The prompt playing, else the music, else None."""
        if self._current is not None:
            return self._current[0]
        if self._queue:
            return self._queue[0][0]
        return None if self._music is None or self._next_due is None else self._music[0]

    # --- the clock seam ---------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        return self._next_due

    def on_deadline(self, now: float) -> None:
        while self._next_due is not None and self._next_due <= now:
            due = self._next_due
            frame = self._next_frame(due)
            if frame is None:
                self._next_due = None
                self._talkspurt = True
                return
            self._emit(frame, due)
            self._next_due = due + PACKET_SECONDS

    def take_datagrams(self) -> list[bytes]:
        """The RTP packets due so far, as bytes to send."""
        datagrams, self.datagrams = self.datagrams, []
        return datagrams

    def take_packets(self) -> list[RtpPacket]:
        """The same, parsed (for tests and tools)."""
        return [parse_rtp(data) for data in self.take_datagrams()]

    def take_events(self) -> list[Finished]:
        events, self.events = self.events, []
        return events

    # --- internals --------------------------------------------------------------------------

    def _start(self, now: float) -> None:
        if self._next_due is None:
            self._next_due = now

    def _next_frame(self, due: float) -> bytes | None:
        while True:
            if self._current is None and self._queue:
                self._current, self._offset = self._queue.popleft(), 0
            if self._current is not None:
                name, payload = self._current
                if self._offset < len(payload):
                    frame = payload[self._offset:self._offset + PACKET_SAMPLES]
                    self._offset += PACKET_SAMPLES
                    return self._padded(frame)
                self.events.append(Finished(name, due))
                self._current = None
                continue
            if self._music is None:
                return None
            payload = self._music[1]
            if self._music_offset >= len(payload):
                self._music_offset = 0  # the music loops
            frame = payload[self._music_offset:self._music_offset + PACKET_SAMPLES]
            self._music_offset += PACKET_SAMPLES
            return self._padded(frame)

    def _padded(self, frame: bytes) -> bytes:
        """A whole 20 ms frame: the last one of a sound is padded with silence."""
        if len(frame) == PACKET_SAMPLES:
            return frame
        return frame + self._silence[len(frame):]

    def _emit(self, frame: bytes, due: float) -> None:
        self.datagrams.append(self.stream.own(self.payload_type, frame, PACKET_SAMPLES,
                                              self._talkspurt, due))
        self._talkspurt = False


def _checked(samples: np.ndarray) -> np.ndarray:
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError("expected mono int16 samples at 8 kHz")
    return samples
