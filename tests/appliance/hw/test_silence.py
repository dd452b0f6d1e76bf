"""The silence detector: a line quiet for its bound is reported once, within a frame, however
its audio is chunked; a frame of anything louder than the floor starts the count again; line
noise, speech pauses and an hour of talk - even with a gateway's voice activity detection
zeroing every pause - never reach a bound of a few seconds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.hw.silence import FRAME, SilenceDetector, frame_energy
from appliance.media.g711 import ulaw_decode, ulaw_encode
from tests.talk import RATE, amplitude, pcm, speech_like, talk_hour


def noise(dbm0: float, seconds: float, seed: int = 1) -> np.ndarray:
    """Gaussian noise whose RMS level is `dbm0`, through u-law."""
    rms = amplitude(dbm0) / np.sqrt(2)
    samples = np.random.default_rng(seed).normal(0, rms, int(seconds * RATE))
    return ulaw_decode(ulaw_encode(pcm(samples)))


def heard_at(detector: SilenceDetector, audio: np.ndarray, chunk: int = FRAME) -> float | None:
    """Seconds into `audio` of the chunk on which the silence was reported; None if never."""
    for i in range(0, len(audio), chunk):
        if detector.feed(audio[i:i + chunk]):
            return (i + len(audio[i:i + chunk])) / RATE
    return None


def vad_gated(samples: np.ndarray) -> np.ndarray:
    """`samples` with every frame under -50 dBm0 made digital silence, as a gateway's voice
    activity detection sends the pauses between words."""
    frames = samples[: len(samples) // FRAME * FRAME].reshape(-1, FRAME)
    quiet = (frames.astype(float) ** 2).sum(axis=1) < frame_energy(-50)
    return np.where(quiet[:, None], 0, frames).astype(np.int16).ravel()


def test_a_quiet_line_is_reported_once_at_its_bound():
    talk = pcm(speech_like(np.random.default_rng(3), 5.0))
    audio = np.concatenate([talk, noise(-70, 40.0)])
    detector = SilenceDetector(30.0)
    assert heard_at(detector, audio) is not None
    assert detector.silent_for == 30.0
    assert not detector.feed(np.zeros(FRAME * 100, dtype=np.int16))  # once only


def test_one_loud_frame_starts_the_count_again():
    detector = SilenceDetector(6.0)
    click = pcm(np.full(FRAME, amplitude(-40)))
    audio = np.concatenate([np.zeros(5 * RATE, dtype=np.int16), click,
                            np.zeros(7 * RATE, dtype=np.int16)])
    assert heard_at(detector, audio) == 5.0 + FRAME / RATE + 6.0


def test_line_noise_is_no_silence_and_a_dead_lines_hiss_is():
    assert heard_at(SilenceDetector(6.0), noise(-55, 60.0)) is None
    assert heard_at(SilenceDetector(6.0), noise(-68, 60.0)) == 6.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 2000), min_size=1, max_size=40), st.floats(0.5, 10.0))
def test_the_moment_does_not_depend_on_the_chunks(sizes: list[int], speech: float):
    audio = np.concatenate([pcm(speech_like(np.random.default_rng(5), speech)),
                            np.zeros(4 * RATE, dtype=np.int16)])
    framed = heard_at(SilenceDetector(3.0), audio)
    detector, start, found = SilenceDetector(3.0), 0, None
    for size in sizes * (len(audio) // sum(sizes) + 1):
        end = min(start + size, len(audio))
        if found is None and detector.feed(audio[start:end]):
            found = end
        start = end
    assert framed is not None and found is not None
    assert framed * RATE <= found < framed * RATE + max(sizes)  # the chunk with that frame's end


def test_an_hour_of_talk_never_reaches_a_bound_even_with_its_pauses_zeroed():
    # The talk of the tone detectors' hour (prompts, babble, music on hold, synthetic speech,
    # speech-shaped noise at -25 to +3 dB) through u-law; the longest pause a voice activity
    # detector zeroes in it is about a second, a sixth of the fxo-4's 6 s.
    plain, gated = SilenceDetector(6.0), SilenceDetector(6.0)
    heard, longest = [], 0.0
    for piece in talk_hour(np.random.default_rng(2026)):
        line = ulaw_decode(ulaw_encode(piece))
        heard += [plain.feed(line), gated.feed(vad_gated(line))]
        longest = max(longest, gated.silent_for)
    assert not any(heard)
    assert longest < 2.0
