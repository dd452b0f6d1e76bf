"""Call-progress tone detection: every known cadence found within its declared delay, at any
level, with noise, off frequency and through G.711; nothing found in an hour of talk."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.hw.tones import CADENCES, Cadence, Detection, ToneDetector, cadence
from appliance.media.dtmf import GoertzelDetector
from appliance.media.g711 import alaw_encode, ulaw_encode
from tests.talk import RATE, amplitude, pcm, speech_like, talk_hour

NAMES = list(CADENCES)


def cadenced(c: Cadence, seconds: float, *, level: float = -15.0, offset: float = 0.0,
             shift: float = 0.0, stretch: float = 1.0) -> np.ndarray:
    """`seconds` of the tone `c` (float samples), starting `offset` seconds into its pattern,
    its frequencies moved by `shift` Hz and its segments lengthened by `stretch`."""
    t = np.arange(int(seconds * RATE)) / RATE
    edges = np.cumsum((0.0, *c.pattern)) * stretch
    position = (t + offset * stretch) % edges[-1]
    on = np.zeros(len(t), dtype=bool)
    for i in range(0, len(c.pattern), 2):
        on |= (position >= edges[i]) & (position < edges[i + 1])
    signal = sum(np.sin(2 * np.pi * (f + shift) * t) for f in c.frequencies)
    return signal * amplitude(level) * on


def detections(detector: ToneDetector, audio: np.ndarray | bytes,
               chunk: int = 160) -> list[Detection]:
    found = []
    for i in range(0, len(audio), chunk):
        hit = detector.feed(audio[i:i + chunk], (i + len(audio[i:i + chunk])) / RATE)
        found += [hit] if hit is not None else []
    return found


def after_silence(signal: np.ndarray, lead: float = 0.5) -> np.ndarray:
    return np.concatenate([np.zeros(int(lead * RATE)), signal])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("level", [-33.0, -20.0, -6.0])
def test_each_tone_is_detected_once_within_its_delay(name: str, level: float) -> None:
    c = cadence(name)
    rng = np.random.default_rng(NAMES.index(name))
    tone = after_silence(cadenced(c, 4 * c.detection_delay, level=level))
    noise = rng.normal(0, amplitude(level - 20), len(tone))  # 20 dB below the tone
    found = detections(ToneDetector(CADENCES.values()), pcm(tone + noise))
    assert [d.cadence.name for d in found] == [name]
    assert found[0].at - 0.5 <= c.detection_delay
    assert 0.5 - 0.03 <= found[0].started <= found[0].at


@given(name=st.sampled_from(NAMES), offset=st.floats(0, 1), level=st.floats(-30, -3),
       shift=st.sampled_from([-1.0, 0.0, 1.0]), stretch=st.floats(0.9, 1.1),
       chunk=st.sampled_from([80, 160, 333, 8000]), seed=st.integers(0, 2**16))
@settings(max_examples=60, deadline=None)
def test_within_tolerance_anywhere_in_the_pattern_the_bound_holds(
    name: str, offset: float, level: float, shift: float, stretch: float, chunk: int,
    seed: int,
) -> None:
    c = cadence(name)
    rng = np.random.default_rng(seed)
    signal = cadenced(c, 2 * c.detection_delay, level=level, offset=offset * c.period,
                      shift=shift * c.frequency_tolerance * 0.9, stretch=stretch)
    # Slow level variation, +-3 dB, as on a line whose loss drifts; noise 15 dB down.
    wobble = 10 ** (0.15 * np.sin(2 * np.pi * 0.3 * np.arange(len(signal)) / RATE))
    line = ulaw_encode(pcm(signal * wobble + rng.normal(0, amplitude(level - 15), len(signal))))
    found = detections(ToneDetector([c]), line, chunk)
    assert len(found) == 1
    assert found[0].at <= c.detection_delay + chunk / RATE


def test_a_alaw_line_is_read_as_alaw() -> None:
    tone = pcm(after_silence(cadenced(cadence("eu-busy"), 4)))
    found = detections(ToneDetector(["eu-busy"], law="alaw"), alaw_encode(tone))
    assert [d.cadence.name for d in found] == ["eu-busy"]


@pytest.mark.parametrize(("played", "other"), [
    ("cn-busy", "cn-congestion"), ("cn-congestion", "cn-busy"),
    ("eu-busy", "eu-congestion"), ("eu-congestion", "eu-busy"),
    ("us-busy", "us-reorder"), ("us-reorder", "us-busy"),
    ("uk-busy", "uk-congestion"), ("uk-congestion", "uk-busy"),
])
def test_busy_and_congestion_of_one_country_are_told_apart(played: str, other: str) -> None:
    tone = pcm(after_silence(cadenced(cadence(played), 12)))
    assert detections(ToneDetector([other]), tone) == []
    assert [d.cadence.name for d in detections(ToneDetector([other, played]), tone)] == [played]


@pytest.mark.parametrize("name", NAMES)
def test_steady_tones_far_off_frequency_and_wrong_timing_are_not_detected(name: str) -> None:
    c = cadence(name)
    seconds = 3 * c.detection_delay
    steady = replace(c, pattern=(seconds, 0.02))
    wrong = [cadenced(steady, seconds), cadenced(c, seconds, shift=3 * c.frequency_tolerance),
             cadenced(c, seconds, stretch=1.6), cadenced(c, seconds, stretch=0.55)]
    for signal in wrong:
        assert detections(ToneDetector([c]), pcm(after_silence(signal))) == []


def test_a_us_tone_needs_both_its_frequencies() -> None:
    half = replace(cadence("us-busy"), frequencies=(480.0,))
    assert detections(ToneDetector(["us-busy"]), pcm(after_silence(cadenced(half, 8)))) == []


def test_a_tone_is_reported_once_and_again_after_a_gap() -> None:
    c = cadence("cn-busy")
    tone = cadenced(c, 3 * c.detection_delay)
    twice = after_silence(np.concatenate([tone, np.zeros(2 * RATE), tone]))
    found = detections(ToneDetector([c]), pcm(twice))
    assert len(found) == 2


def test_reset_forgets_what_was_heard() -> None:
    c = cadence("eu-congestion")
    tone = pcm(after_silence(cadenced(c, 1.5)))
    detector = ToneDetector([c])
    assert detections(detector, tone[:RATE]) == []
    detector.reset()
    assert detections(detector, tone[RATE:]) == []


def test_the_delay_declared_is_the_slowest_cadence_watched() -> None:
    detector = ToneDetector(["cn-busy", "cn-congestion"])
    assert detector.detection_delay == cadence("cn-congestion").detection_delay
    assert cadence("cn-busy").detection_delay == pytest.approx(3 * 0.7 + 0.04)


def test_cadences_are_data_named_in_a_registry() -> None:
    assert cadence("cn-busy").pattern == (0.35, 0.35)
    assert cadence("cn-congestion").pattern == (0.7, 0.7)
    assert cadence("us-reorder").frequencies == (480.0, 620.0)
    with pytest.raises(KeyError, match="cn-busy"):
        cadence("xx-busy")
    with pytest.raises(ValueError):
        Cadence("bad", "busy", (425.0,), (0.5,))
    with pytest.raises(TypeError):
        CADENCES["mine"] = cadence("cn-busy")  # type: ignore[index]


@pytest.mark.parametrize("seed", range(4))
def test_synthetic_speech_is_not_a_tone(seed: int) -> None:
    speech = pcm(speech_like(np.random.default_rng(seed), 30))
    assert detections(ToneDetector(CADENCES.values()), speech, 8000) == []


@pytest.mark.slow
def test_an_hour_of_talk_gives_no_tone_and_no_digit() -> None:
    # The default prompts spoken, babble of them, the music on hold, synthetic speech and
    # speech-shaped noise, at levels from -25 to +3 dB, through u-law: 28.8 million samples.
    # Even a single cycle of any cadence (a far looser test than the detector's) is never
    # heard, nor is any DTMF digit.
    strict = ToneDetector(CADENCES.values())
    loose = ToneDetector([replace(c, cycles=1) for c in CADENCES.values()])
    digits = GoertzelDetector()
    heard, now = [], 0.0
    for piece in talk_hour(np.random.default_rng(2026)):
        line = ulaw_encode(piece)
        now += len(piece) / RATE
        heard += [strict.feed(line, now), loose.feed(line, now), *digits.feed(line)]
    assert [hit for hit in heard if hit is not None] == []
    assert now == 3600.0
