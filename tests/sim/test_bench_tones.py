"""`ccbox bench tones`: the detectors' CPU per channel-second is measured on a real line's
audio (the figure itself belongs to the benchmark, not to a test)."""

from __future__ import annotations

from appliance.hw.tones import ToneDetector
from sim.bench_tones import line_audio, measure_tones


def test_each_detector_gets_a_cost() -> None:
    costs = measure_tones(2.0)
    assert [c.name for c in costs][-1] == "DTMF"
    assert all(c.us_per_channel_second > 0 and c.channels_per_core > 0 for c in costs)


def test_the_benchmark_line_carries_the_busy_tone_the_detector_listens_for() -> None:
    audio = line_audio(10.0)
    found = ToneDetector(["cn-busy"]).feed(audio, 10.0)
    assert found is not None and found.cadence.name == "cn-busy"
