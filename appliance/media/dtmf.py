"""DTMF in both forms a call brings it: RFC 4733 telephone-events and tones in the audio.

- `TelephoneEvent` is the 4-byte RFC 4733 payload (section 2.3), with `parse()`/`__bytes__`.
- `Rfc4733Receiver` turns the packets of a stream into digits, one per key press, however many
  start and end packets the sender repeats (RFC 4733 2.5.1.3 and 2.5.1.4: three end packets, and
  retransmitted updates).
- `telephone_event_packets()` is what a sender puts on the wire for one key press.
- `GoertzelDetector` finds DTMF tones in 16-bit audio (ITU-T Q.23 frequencies, Q.24-like
  acceptance checks), for analog gateways that send neither telephone-events nor SIP INFO.

All of it is sans-I/O: no clock is read; `now` is handed in where time matters.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

import numpy as np

from appliance.media.goertzel import (
    Framer,
    as_samples,
    probe_basis,
    probe_powers,
    tone_power,
)

DIGITS = "0123456789*#ABCD"
"""RFC 4733 section 3.2: events 0-15, in this order."""

FLASH = "!"
"""A hook flash, as a key: RFC 4733 event 16, or INFO `Signal=hf` / application/hook-flash
(Asterisk spells it `!` too). Only an agent's is read (the in-call codes); a caller's is
dropped, since no IVR takes it."""
FLASH_EVENT = 16

ROW_FREQUENCIES = (697.0, 770.0, 852.0, 941.0)
COLUMN_FREQUENCIES = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")
"""ITU-T Q.23: the digit at row r, column c is KEYPAD[r][c]."""

_TIMESTAMP_MODULUS = 1 << 32
_MAX_DURATION = 0xFFFF


class DtmfError(ValueError):
    """A telephone-event payload that cannot be parsed or built."""


def event_code(digit: str) -> int:
    """The RFC 4733 event code of a digit ("0"-"9", "*", "#", "A"-"D")."""
    code = DIGITS.find(digit.upper()) if len(digit) == 1 else -1
    if code < 0:
        raise DtmfError(f"not a DTMF digit: {digit!r}")
    return code


@dataclass(frozen=True)
class TelephoneEvent:
    """One RFC 4733 telephone-event payload.

    `event` is 0-255 on the wire; `digit` names events 0-15 and is None for the others.
    `volume` is the power level in -dBm0 (0-63); `duration` counts timestamp units (0-65535)
    since the event's RTP timestamp.
    """

    event: int
    end: bool = False
    volume: int = 10
    duration: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.event <= 0xFF:
            raise DtmfError(f"event {self.event} out of range 0-255")
        if not 0 <= self.volume <= 63:
            raise DtmfError(f"volume {self.volume} out of range 0-63")
        if not 0 <= self.duration <= _MAX_DURATION:
            raise DtmfError(f"duration {self.duration} out of range 0-65535")

    @property
    def digit(self) -> str | None:
        return DIGITS[self.event] if self.event < len(DIGITS) else None

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        """Read the first four bytes; RFC 4733 2.3 lets a payload carry more (ignored here)."""
        if len(payload) < 4:
            raise DtmfError(f"telephone-event payload of {len(payload)} bytes, need 4")
        event, flags, duration = struct.unpack_from("!BBH", payload)
        # The R bit (0x40) is reserved: senders set it to zero, receivers ignore it.
        return cls(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)

    def __bytes__(self) -> bytes:
        flags = (0x80 if self.end else 0) | self.volume
        return struct.pack("!BBH", self.event, flags, self.duration)


@dataclass(frozen=True)
class EventPacket:
    """One packet a sender emits for a key press: offsets are relative to the first packet."""

    timestamp_offset: int
    """Added to the event's RTP timestamp; non-zero only for the segments of a long event."""
    send_offset: int
    """When to send it, in timestamp units after the first packet."""
    marker: bool
    payload: TelephoneEvent


def telephone_event_packets(
    digit: str, duration: int, *, volume: int = 10, step: int = 160, end_repeats: int = 3,
) -> list[EventPacket]:
    """The packets of one key press lasting `duration` timestamp units (RFC 4733 2.5.1).

    One packet every `step` units with the duration so far (the first, with the marker bit,
    announces the start), then `end_repeats` copies of the final packet with the E bit.
    Presses longer than 65,535 units are split into segments with new timestamps (2.5.1.5).
    """
    if duration <= 0 or not 0 < step <= _MAX_DURATION or end_repeats < 1:
        raise DtmfError("duration and step (up to 65,535) must be positive, end_repeats >= 1")
    code = event_code(digit)
    packets = []
    segment_start = 0
    elapsed = 0
    marker = True
    while True:
        elapsed = min(elapsed + step, duration)
        if elapsed - segment_start > _MAX_DURATION:
            segment_start += _MAX_DURATION
        in_segment = elapsed - segment_start
        if elapsed >= duration:
            final = TelephoneEvent(code, end=True, volume=volume, duration=in_segment)
            packets += [EventPacket(segment_start, elapsed, marker, final)]
            packets += [EventPacket(segment_start, elapsed, False, final)] * (end_repeats - 1)
            return packets
        update = TelephoneEvent(code, end=False, volume=volume, duration=in_segment)
        packets.append(EventPacket(segment_start, elapsed, marker, update))
        marker = False


@dataclass
class _Event:
    timestamp: int
    code: int
    duration: int
    ended: bool
    last_seen: float


class Rfc4733Receiver:
    """Digits from one RTP stream's telephone-event packets, exactly once per key press.

    An event is identified by its RTP timestamp (RFC 4733 2.5.1.2): a packet whose timestamp is
    one already seen is a retransmission or an update and yields nothing. The digit is reported
    on the first packet of an event that arrives, start or end, so a lost start packet does not
    lose the digit. A packet that continues a long unfinished event under a new timestamp (the
    next segment of a press past 32,768 units, 2.5.1.5: same event, no marker, timestamp advanced
    by the old segment's duration, at most 65,535) is the same key press. Events other than
    0-15 (tones) are ignored, and so is a flash (event 16) unless `flash` (then it is the key
    `FLASH`).

    `remember` bounds the memory: timestamps of events last seen longer ago than that are
    forgotten, as are all but the newest `max_events`.
    """

    def __init__(self, *, remember: float = 10.0, max_events: int = 64,
                 flash: bool = False) -> None:
        self.remember = remember
        self.flash = flash
        self._events: deque[_Event] = deque(maxlen=max_events)

    def feed(self, timestamp: int, marker: bool, payload: bytes, now: float) -> list[str]:
        """Take one packet's RTP timestamp, marker bit and payload; return the new digits."""
        event = TelephoneEvent.parse(payload)
        self._forget(now)
        known = self._find(timestamp)
        if known is not None:
            known.duration = max(known.duration, event.duration)
            known.ended = known.ended or event.end
            known.last_seen = now
            return []
        key = event.digit or (FLASH if self.flash and event.event == FLASH_EVENT else None)
        if key is None:
            return []
        continued = self._continues(timestamp, marker, event)
        self._events.append(_Event(timestamp, event.event, event.duration, event.end, now))
        return [] if continued else [key]

    def _find(self, timestamp: int) -> _Event | None:
        for known in self._events:
            if known.timestamp == timestamp:
                return known
        return None

    def _continues(self, timestamp: int, marker: bool, event: TelephoneEvent) -> bool:
        if marker or not self._events:
            return False
        newest = self._events[-1]
        advance = (timestamp - newest.timestamp) % _TIMESTAMP_MODULUS
        return (
            not newest.ended
            and newest.code == event.event
            and newest.duration >= _MAX_DURATION // 2
            and newest.duration <= advance <= _MAX_DURATION
        )

    def _forget(self, now: float) -> None:
        while self._events and now - self._events[0].last_seen > self.remember:
            self._events.popleft()


def _power_ratio(db: float) -> float:
    return 10 ** (db / 10)


class GoertzelDetector:
    """In-band DTMF: int16 samples in, digits out, one per tone burst.

    Audio is analysed in windows of `block` samples (205 at 8 kHz: 25.6 ms, the classic size that
    separates the eight Q.23 frequencies) advancing by `step` samples (half a block unless told),
    so that a 40 ms tone covers most of two consecutive windows wherever it falls. Each window's
    power at the eight frequencies is the Goertzel filter's output, computed for all windows at
    once as one matrix product.

    A tone counts at its Q.23 frequency within +-`tolerance` (Q.24: 1.5 %); each tone's power is
    the largest of three probes (nominal and both edges). A window names a digit only if
    (ITU-T Q.24-like):

    - the strongest row and the strongest column tone each reach `min_level_dbm0`;
    - each is stronger than the other tones of its group by `relative_peak_db`;
    - twist is within limits: the column tone at most `normal_twist_db` below the row tone, at
      most `reverse_twist_db` above it;
    - the two tones hold at least `energy_fraction` of the window's total energy (speech and
      noise spread theirs over the band).

    A digit is reported when two consecutive windows name it; it is reported again only after
    `gap_blocks` consecutive windows that do not name it (a pause between presses).
    """

    def __init__(
        self,
        sample_rate: int = 8000,
        block: int = 205,
        *,
        step: int | None = None,
        min_level_dbm0: float = -32.0,
        normal_twist_db: float = 8.0,
        reverse_twist_db: float = 4.0,
        relative_peak_db: float = 6.0,
        energy_fraction: float = 0.6,
        tolerance: float = 0.015,
        gap_blocks: int = 2,
    ) -> None:
        if block < 2 or sample_rate <= 0:
            raise ValueError("block must be at least 2 samples, sample_rate positive")
        self.sample_rate = sample_rate
        self.block = block
        self.step = step if step is not None else max(1, block // 2)
        self.gap_blocks = gap_blocks
        self.energy_fraction = energy_fraction
        self._normal_twist = _power_ratio(normal_twist_db)
        self._reverse_twist = _power_ratio(reverse_twist_db)
        self._relative_peak = _power_ratio(relative_peak_db)
        self._min_power = tone_power(min_level_dbm0, block)
        # Each tone is probed at its nominal frequency and at the edges of the tolerance; with
        # 25 ms windows a tone 1.5 % off would otherwise lose most of its power.
        nominal = np.array(ROW_FREQUENCIES + COLUMN_FREQUENCIES)
        probes = np.concatenate([nominal * (1 + d) for d in (0.0, -tolerance, tolerance)])
        self._basis = probe_basis(probes, block, sample_rate)
        self._framer = Framer(block, self.step)
        self._last: str | None = None
        self._held: str | None = None
        self._misses = 0

    def feed(self, samples: np.ndarray | bytes) -> list[str]:
        """Analyse more audio (any length: int16 samples, or G.711 u-law bytes); return the
        digits whose detection it completed. Anything else raises TypeError."""
        windows = self._framer.windows(as_samples(samples))
        digits = []
        for name in self._classify(windows):
            digits += self._debounce(name)
        return digits

    def reset(self) -> None:
        """Forget buffered audio and any tone in progress (e.g. after a media change)."""
        self._framer.reset()
        self._last = self._held = None
        self._misses = 0

    def _classify(self, windows: np.ndarray) -> list[str | None]:
        power = probe_powers(windows, self._basis).reshape(len(windows), 3, 8).max(axis=1)
        total = np.einsum("ij,ij->i", windows, windows)
        rows, columns = power[:, :4], power[:, 4:]
        r = rows.argmax(axis=1)
        c = columns.argmax(axis=1)
        index = np.arange(len(windows))
        row_power = rows[index, r]
        column_power = columns[index, c]
        ok = (row_power >= self._min_power) & (column_power >= self._min_power)
        ok &= column_power * self._normal_twist >= row_power
        ok &= row_power * self._reverse_twist >= column_power
        ok &= _peaks_stand_out(rows, r, row_power, self._relative_peak)
        ok &= _peaks_stand_out(columns, c, column_power, self._relative_peak)
        tone_energy = 2 * (row_power + column_power) / self.block
        ok &= tone_energy >= self.energy_fraction * total
        return [KEYPAD[ri][ci] if hit else None for ri, ci, hit in zip(r, c, ok, strict=True)]

    def _debounce(self, name: str | None) -> list[str]:
        reported = []
        if name is not None and name == self._last and name != self._held:
            self._held = name
            self._misses = 0
            reported.append(name)
        elif name is not None and name == self._held:
            self._misses = 0
        else:
            self._misses += 1
            if self._misses >= self.gap_blocks:
                self._held = None
        self._last = name
        return reported


def _peaks_stand_out(
    group: np.ndarray, best: np.ndarray, best_power: np.ndarray, margin: float,
) -> np.ndarray:
    others = group.copy()
    others[np.arange(len(group)), best] = 0.0
    return others.max(axis=1) * margin <= best_power


def info_digit(content_type: str, body: bytes) -> str | None:
    """The key press a SIP INFO carries (the de facto formats phones and gateways send), or
    None if the body is not one.

    `application/dtmf-relay` (Cisco style: "Signal=5\\r\\nDuration=160") and `application/dtmf`
    (the digit alone). "Signal=10" and "11" are the older spellings of * and #. A hook flash
    (`Signal=hf`, or application/hook-flash whatever its body) is `FLASH`.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/hook-flash":
        return FLASH
    text = body.decode("ascii", errors="replace").strip()
    if kind == "application/dtmf-relay":
        for line in text.splitlines():
            name, _, value = line.partition("=")
            if name.strip().lower() == "signal":
                return _info_signal(value.strip())
        return None
    if kind == "application/dtmf":
        return _info_signal(text)
    return None


def _info_signal(value: str) -> str | None:
    legacy = {"10": "*", "11": "#", "HF": FLASH, "16": FLASH}
    value = legacy.get(value.upper(), value).upper()
    if value == FLASH:
        return FLASH
    return value if len(value) == 1 and value in DIGITS else None
