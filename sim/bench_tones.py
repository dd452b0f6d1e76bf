"""What listening for tones costs: CPU per channel-second of the in-band detectors.

A line's received audio is fed as the live driver gets it, one 20 ms G.711 packet at a time,
to the call-progress tone detector (`appliance.hw.tones`: one country's busy and congestion,
and every known cadence at once) and to the DTMF detector (`appliance.media.dtmf`). The audio
is noise at speech level with bursts of busy tone, made from a fixed seed, so that both the
quiet and the busy paths of the detectors run. Process CPU time, not wall time: the figure is
what one channel costs a core, whatever else the machine is doing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from appliance.hw.tones import CADENCES, FRAME, SAMPLE_RATE, ToneDetector, cadence
from appliance.media.dtmf import GoertzelDetector
from appliance.media.g711 import ulaw_encode
from appliance.media.goertzel import DBM0_AMPLITUDE


@dataclass(frozen=True)
class DetectorCost:
    name: str
    us_per_channel_second: float
    """Process CPU, microseconds, per second of one channel's audio."""

    @property
    def channels_per_core(self) -> float:
        """Channels one core could listen to, doing nothing else."""
        return 1e6 / self.us_per_channel_second


def line_audio(seconds: float, seed: int = 0) -> bytes:
    """`seconds` of u-law: noise at about -20 dBm0, with China's busy tone in every fourth
    ten-second stretch."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    busy = cadence("cn-busy")
    tone = (t % busy.period < busy.pattern[0]) & (t % 40 < 10)
    signal = rng.normal(0, 0.1 * DBM0_AMPLITUDE, n) + tone * np.sin(2 * np.pi * 450 * t) * 10_000
    return ulaw_encode(np.clip(signal, -32_768, 32_767).astype(np.int16))


def _packets(feed: Callable[[bytes, float], object], audio: bytes) -> float:
    """Process CPU seconds to feed `audio` one 20 ms packet at a time."""
    start = time.process_time()
    for i in range(0, len(audio), FRAME):
        feed(audio[i:i + FRAME], i / SAMPLE_RATE)
    return time.process_time() - start


def measure_tones(seconds: float = 60.0) -> list[DetectorCost]:
    """Each detector's CPU per channel-second over `seconds` of one line's audio."""
    audio = line_audio(seconds)
    one_country = ToneDetector(["cn-busy", "cn-congestion"])
    every = ToneDetector(CADENCES.values())
    dtmf = GoertzelDetector()
    runs = [("tones: cn-busy, cn-congestion", one_country.feed),
            (f"tones: all {len(CADENCES)} cadences", every.feed),
            ("DTMF", lambda packet, now: dtmf.feed(packet))]
    return [DetectorCost(name, _packets(feed, audio) / seconds * 1e6) for name, feed in runs]
