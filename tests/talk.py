"""Talk-like audio for the in-band detectors' tests: what a caller's line carries that is not a
tone - synthetic speech, speech-shaped noise, the default prompts and music on hold, babble -
and an hour of it, made piece by piece so it never sits in memory whole.

Every generator takes its own numpy Generator: the same seed gives the same audio.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from appliance.media.goertzel import DBM0_AMPLITUDE

RATE = 8000


def amplitude(dbm0: float) -> float:
    return DBM0_AMPLITUDE * 10 ** (dbm0 / 20)


def pcm(signal: np.ndarray) -> np.ndarray:
    return np.clip(np.round(signal), -32_768, 32_767).astype(np.int16)


def speech_like(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Voiced syllables and pauses: a gliding, jittered pitch whose harmonics fall off with
    frequency (glottal tilt) and are lifted by three formants of speech-like bandwidth."""
    out = []
    while sum(len(x) for x in out) < seconds * RATE:
        n = int(RATE * rng.uniform(0.08, 0.3))
        t = np.arange(n) / RATE
        jitter = np.cumsum(rng.normal(0, 0.002, n))
        glide = rng.uniform(-0.2, 0.2) * t / t[-1]
        f0 = rng.uniform(90, 260) * (1 + glide + jitter - jitter.mean())
        phase = 2 * np.pi * np.cumsum(f0) / RATE
        formants = rng.uniform([300, 900, 2200], [900, 2200, 3200])
        syllable = np.zeros(n)
        for k in range(1, int(3800 / f0.max())):
            lift = sum(np.exp(-(((k * f0.mean()) - f) / 250) ** 2) for f in formants)
            syllable += (0.3 + lift) / k * np.sin(k * phase)
        envelope = np.abs(np.sin(np.pi * t / t[-1])) ** 0.5
        syllable *= envelope * amplitude(rng.uniform(-20, -5)) / max(np.abs(syllable).max(), 1e-9)
        out += [syllable, rng.normal(0, 30, int(RATE * rng.uniform(0.02, 0.2)))]
    return np.concatenate(out)


def speech_shaped_noise(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Noise with speech's long-term spectrum (low-passed pink-ish) and a 4 Hz syllabic rhythm."""
    n = int(RATE * seconds)
    spectrum = np.fft.rfft(rng.normal(0, 1, n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    spectrum *= 1 / np.sqrt(1 + (f / 500) ** 2)
    noise = np.fft.irfft(spectrum, n)
    rhythm = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * np.arange(n) / RATE + rng.uniform(0, 6))
    noise *= rhythm
    return noise / np.abs(noise).max() * amplitude(-6)


def real_sounds() -> list[np.ndarray]:
    """The default music on hold, then every default prompt in English and Mandarin (built
    with espeak-ng and sox on first use), as int16 samples."""
    from appliance.live.prompt_build import ensure_default_music, ensure_default_prompts
    from appliance.media.prompts import default_prompt_texts
    from appliance.storage.promptfiles import PromptSet, read_prompt

    sounds = [read_prompt(ensure_default_music())]
    for language in ("en", "zh"):
        prompts = PromptSet(ensure_default_prompts(language))
        sounds += [prompts.samples(name) for name in default_prompt_texts(language)]
    return sounds


def _gain(rng: np.random.Generator) -> float:
    return 10 ** (rng.uniform(-25, 3) / 20)


def spoken(rng: np.random.Generator, prompts: list[np.ndarray], seconds: float) -> np.ndarray:
    """Prompts one after another in a random order, each at its own level, with pauses."""
    out: list[np.ndarray] = []
    while sum(len(x) for x in out) < seconds * RATE:
        prompt = prompts[rng.integers(len(prompts))]
        pause = rng.normal(0, 20, int(RATE * rng.uniform(0.05, 0.6)))
        out += [prompt * _gain(rng), pause]
    return np.concatenate(out)[: int(seconds * RATE)]


def babble(rng: np.random.Generator, prompts: list[np.ndarray], seconds: float) -> np.ndarray:
    """Three to six talkers at once, each at its own level: a busy room behind the caller."""
    voices = [spoken(rng, prompts, seconds) for _ in range(rng.integers(3, 7))]
    return sum(voices) / np.sqrt(len(voices))


def music(rng: np.random.Generator, tune: np.ndarray, seconds: float) -> np.ndarray:
    """The music on hold from a random place in its loop, at a random level."""
    n = int(seconds * RATE)
    start = rng.integers(len(tune))
    return np.resize(np.roll(tune, -start), n) * _gain(rng)


def talk_hour(rng: np.random.Generator, seconds: float = 3600.0,
              piece: float = 10.0) -> Iterator[np.ndarray]:
    """`seconds` of talk-like audio (an hour unless told) in pieces of `piece` seconds, as
    int16 samples: the default prompts spoken in turn, babble of them, the music on hold,
    synthetic speech and speech-shaped noise, each piece's kind and level drawn at random."""
    tune, *prompts = real_sounds()
    makers = [
        lambda: spoken(rng, prompts, piece),
        lambda: babble(rng, prompts, piece),
        lambda: music(rng, tune, piece),
        lambda: speech_like(rng, piece)[: int(piece * RATE)],
        lambda: speech_shaped_noise(rng, piece) * _gain(rng),
    ]
    for _ in range(round(seconds / piece)):
        noise = rng.normal(0, amplitude(-60), int(piece * RATE))
        yield pcm(makers[rng.integers(len(makers))]() + noise)
