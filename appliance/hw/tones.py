"""Call-progress tones in received audio: busy, congestion and reorder, with the cadence checked.

An analog trunk does not say that the far end hung up: the exchange plays busy or congestion
tone down the line instead, and the gateway passes it on in the call's G.711 audio. This
module finds such a tone, clock-free: audio and the time it arrived go in, a `Detection`
comes out.

- `Cadence` is a tone as data: its frequencies, its on/off pattern and how many whole cycles
  must be heard. `CADENCES` holds the common ones by name (gateway profiles name them);
  `cadence(name)` looks one up.
- `ToneDetector` watches one line for a few cadences. Each 20 ms frame's power at the tone's
  frequencies (Goertzel, `appliance.media.goertzel`) is compared with the frame's whole
  energy: a frame is "on" when the tone holds most of it, so speech and music, which spread
  their energy, rarely are. The lengths of the on and off runs are then matched against the
  pattern, every segment within its tolerance, for `cycles` cycles running.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from appliance.media.goertzel import Framer, as_samples, probe_basis, probe_powers, tone_power

SAMPLE_RATE = 8000
FRAME = 160
"""Samples a frame: 20 ms at 8 kHz, one RTP packet's worth."""
FRAME_SECONDS = FRAME / SAMPLE_RATE
_SLACK = 1.5 * FRAME_SECONDS
"""What framing alone may add to or take from a run: a frame half tone, half gap is either."""


@dataclass(frozen=True)
class Cadence:
    """A call-progress tone: `frequencies` (Hz, summed), on for `pattern[0]` seconds, off for
    `pattern[1]` (then on, off ... for patterns of more segments), repeating.

    The tone is recognised when `cycles` whole patterns are heard, each segment within
    `timing_tolerance` of its length (a fraction) plus framing's 30 ms, each frequency within
    `frequency_tolerance` Hz. `source` says where the figures come from.
    """

    name: str
    kind: str
    frequencies: tuple[float, ...]
    pattern: tuple[float, ...]
    frequency_tolerance: float = 25.0
    timing_tolerance: float = 0.2
    cycles: int = 2
    source: str = ""

    def __post_init__(self) -> None:
        if not self.frequencies or len(self.pattern) % 2 or min(self.pattern, default=0) <= 0:
            raise ValueError(f"cadence {self.name}: needs frequencies and positive on/off pairs")
        if self.cycles < 1:
            raise ValueError(f"cadence {self.name}: cycles must be at least 1")

    @property
    def period(self) -> float:
        return sum(self.pattern)

    @property
    def detection_delay(self) -> float:
        """The longest from the tone's first sample to its detection: a first cycle that may
        be heard only in part, `cycles` whole ones, and two frames of framing."""
        return (self.cycles + 1) * self.period + 2 * FRAME_SECONDS

    def fits(self, expected: float, seconds: float) -> bool:
        """Whether a run of `seconds` is a segment meant to last `expected`."""
        return abs(seconds - expected) <= self.timing_tolerance * expected + _SLACK

    def longest(self, on: bool) -> float:
        """The longest run of tone (`on`) or of gap that can still belong to this cadence."""
        lengths = self.pattern[0 if on else 1::2]
        return max(lengths) * (1 + self.timing_tolerance) + _SLACK


def _cadences(*cadences: Cadence) -> Mapping[str, Cadence]:
    return MappingProxyType({c.name: c for c in cadences})


_CN = "China's national tones (450 +- 25 Hz), as ITU-T E.180 Suppl. 2 lists them"
_EU = "ETSI's harmonised European tones: 425 Hz, within ITU-T E.180's band"
_US = "North American Precise Tone Plan"
_UK = "UK tones, ITU-T E.180 Suppl. 2"

CADENCES = _cadences(
    Cadence("cn-busy", "busy", (450.0,), (0.35, 0.35), source=_CN),
    Cadence("cn-congestion", "congestion", (450.0,), (0.7, 0.7), source=_CN),
    Cadence("eu-busy", "busy", (425.0,), (0.5, 0.5), source=_EU),
    Cadence("eu-congestion", "congestion", (425.0,), (0.25, 0.25), source=_EU),
    Cadence("us-busy", "busy", (480.0, 620.0), (0.5, 0.5), 15.0, source=_US),
    Cadence("us-reorder", "reorder", (480.0, 620.0), (0.25, 0.25), 15.0, source=_US),
    Cadence("uk-busy", "busy", (400.0,), (0.375, 0.375), 15.0, source=_UK),
    Cadence("uk-congestion", "congestion", (400.0,), (0.4, 0.35, 0.225, 0.525), 15.0,
            source=_UK),
)
"""The known cadences by name (read-only)."""


def cadence(name: str) -> Cadence:
    """The cadence called `name`; KeyError naming the known ones otherwise."""
    try:
        return CADENCES[name]
    except KeyError:
        raise KeyError(f"no tone cadence {name!r} (have: {', '.join(CADENCES)})") from None


@dataclass(frozen=True)
class Detection:
    """A tone recognised: which, when the feed that completed it arrived (`at`), and when its
    first matched cycle began (`started`, reckoned back from `at` in samples)."""

    cadence: Cadence
    at: float
    started: float


class _Track:
    """One cadence's view of the line: its frames' on/off flags, run by run."""

    def __init__(self, cadence: Cadence) -> None:
        self.cadence = cadence
        need = len(cadence.pattern) * cadence.cycles
        self.history: deque[tuple[float, int]] = deque(maxlen=need)  # (seconds, first frame)
        self.on = False
        self.frames = 0
        self.start = 0
        self.latched = False

    def feed(self, flags: np.ndarray, first: int) -> int | None:
        """Take frames `first`, `first + 1` ...; the first frame of a cadence just heard."""
        found = None
        for on, start, length in _runs(flags):
            if on != self.on:
                found = self._close() if found is None else found
                self.on, self.start, self.frames = on, first + start, 0
            self.frames += length
            if self.frames * FRAME_SECONDS > self.cadence.longest(self.on):
                self.history.clear()  # a steady tone or a long silence: no cadence here
                self.latched = False
        return found

    def _close(self) -> int | None:
        if self.frames == 0:
            return None
        self.history.append((self.frames * FRAME_SECONDS, self.start))
        if self.on or self.latched or not self._matches():
            return None
        self.latched = True  # one detection a tone; a gap too long for it re-arms
        return self.history[0][1]

    def _matches(self) -> bool:
        if len(self.history) < (self.history.maxlen or 0):
            return False
        pattern, cycles = self.cadence.pattern, self.cadence.cycles
        heard = [seconds for seconds, _ in self.history]
        for shift in range(0, len(pattern), 2):  # a tone may be first heard at any of its ons
            expected = (pattern[shift:] + pattern[:shift]) * cycles
            if all(map(self.cadence.fits, expected, heard)):
                return True
        return False


def _runs(flags: np.ndarray) -> list[tuple[bool, int, int]]:
    """Run-length encoding: each run's value, first index and length."""
    if len(flags) == 1:  # one packet's frame, the live case: no array arithmetic
        return [(bool(flags[0]), 0, 1)]
    starts = np.concatenate([[0], np.flatnonzero(flags[1:] != flags[:-1]) + 1])
    lengths = np.diff(np.append(starts, len(flags)))
    return list(zip(flags[starts].tolist(), starts.tolist(), lengths.tolist(), strict=True))


@dataclass(frozen=True)
class _Criteria:
    """When a frame counts as one cadence's tone: each component at least `min_power`, the
    components within `twist` (a power ratio) of each other, and together `energy_ratio` of
    the frame. All cadences at once: `columns` picks each component's three probes out of the
    power matrix, and the components of cadence k start at column `offsets[k]`."""

    min_power: float
    twist: float
    energy_ratio: float
    columns: np.ndarray
    offsets: np.ndarray

    def tone(self, powers: np.ndarray, total: np.ndarray) -> np.ndarray:
        """(frames x cadences) flags from the frames' probe powers and energies."""
        component = powers[:, self.columns].max(axis=2)
        weakest = np.minimum.reduceat(component, self.offsets, axis=1)
        strongest = np.maximum.reduceat(component, self.offsets, axis=1)
        tone_energy = 2 * np.add.reduceat(component, self.offsets, axis=1) / FRAME
        return ((weakest >= self.min_power) & (weakest * self.twist >= strongest)
                & (tone_energy >= self.energy_ratio * total[:, None]))


class ToneDetector:
    """Busy, congestion or reorder tone on one line, from its received audio.

    `cadences` are `Cadence`s or names in `CADENCES`; they should be told apart by frequency
    or timing (a site's gateway profile names its country's busy and congestion tones).
    `feed(audio, now)` takes G.711 bytes (`law`: "ulaw" or "alaw") or int16 samples, any
    length, `now` being when the chunk's last sample arrived, and returns a `Detection` when
    the chunk completes one (else None). Each tone is reported once; the detector re-arms when
    the line has carried something else (a long gap, a steady tone) for longer than the
    cadence allows. Counted in audio, a tone is detected at most `detection_delay` seconds
    after it starts, whatever the chunking.

    A frame is tone when its components reach `min_level_dbm0` each, are within `twist_db`
    of each other and hold `energy_ratio` of the frame's energy.
    """

    def __init__(self, cadences: Iterable[Cadence | str], *, law: str = "ulaw",
                 min_level_dbm0: float = -36.0, twist_db: float = 10.0,
                 energy_ratio: float = 0.7) -> None:
        chosen = [c if isinstance(c, Cadence) else cadence(c) for c in cadences]
        if not chosen:
            raise ValueError("a tone detector needs at least one cadence")
        self.law = law
        probes: list[float] = []
        columns = [_probe_columns(c, probes) for c in chosen]
        offsets = np.cumsum([0] + [len(c.frequencies) for c in chosen[:-1]])
        self._criteria = _Criteria(tone_power(min_level_dbm0, FRAME), 10 ** (twist_db / 10),
                                   energy_ratio, np.vstack(columns), offsets)
        self._tracks = [_Track(c) for c in chosen]
        self._basis = probe_basis(np.array(probes), FRAME, SAMPLE_RATE)
        self._framer = Framer(FRAME, FRAME)
        self._frames = 0

    @property
    def cadences(self) -> list[Cadence]:
        return [track.cadence for track in self._tracks]

    @property
    def detection_delay(self) -> float:
        """The longest any watched tone takes to be detected, counted in audio."""
        return max(c.detection_delay for c in self.cadences)

    def feed(self, audio: np.ndarray | bytes, now: float) -> Detection | None:
        windows = self._framer.windows(as_samples(audio, self.law))
        if len(windows) == 0:
            return None
        powers = probe_powers(windows, self._basis)
        total = np.einsum("ij,ij->i", windows, windows)
        flags = self._criteria.tone(powers, total)
        found = None
        for k, track in enumerate(self._tracks):
            start = track.feed(flags[:, k], self._frames)
            if start is not None and found is None:
                found = Detection(track.cadence, now, now - self._since(start, len(windows)))
        self._frames += len(windows)
        return found

    def reset(self) -> None:
        """Forget buffered audio and every run heard (e.g. after a media change)."""
        self._framer.reset()
        for track in self._tracks:
            track.history.clear()
            track.on = track.latched = False
            track.frames = 0

    def _since(self, frame: int, count: int) -> float:
        samples = (self._frames + count - frame) * FRAME + self._framer.pending
        return samples / SAMPLE_RATE


def _probe_columns(cadence: Cadence, probes: list[float]) -> np.ndarray:
    """Add the cadence's probes (each frequency, and its tolerance's edges) to `probes`;
    their columns, one row per frequency."""
    columns = []
    for frequency in cadence.frequencies:
        edges = (frequency, frequency - cadence.frequency_tolerance,
                 frequency + cadence.frequency_tolerance)
        columns.append([_column(probes, f) for f in edges])
    return np.array(columns)


def _column(probes: list[float], frequency: float) -> int:
    if frequency not in probes:
        probes.append(frequency)
    return probes.index(frequency)
