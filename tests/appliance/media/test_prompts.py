"""Prompt sets: generated with espeak-ng and sox, read back as 8 kHz audio, announcements."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
import pytest

from appliance.live.prompt_build import build_prompts
from appliance.media.prompts import (
    NUMBER_WORDS,
    AnnouncementTimings,
    PromptError,
    default_prompt_texts,
    digits,
    position_announcement,
    prompt_samples,
    prompt_texts,
    queue_announcement,
    wait_announcement,
    wait_minutes,
)
from appliance.storage.promptfiles import PromptSet


def test_numbers_are_read_digit_by_digit():
    assert digits(0) == ["digit-0"]
    assert digits(12) == ["digit-1", "digit-2"]
    assert position_announcement(3) == ["position-before", "digit-3", "position-after"]
    assert wait_announcement(None) == ["wait-unknown"]
    assert wait_announcement(61) == ["wait-before", "digit-2", "wait-minutes"]  # rounded up
    assert wait_announcement(5) == ["wait-before", "digit-1", "wait-minutes"]
    with pytest.raises(ValueError):
        digits(-1)


def test_every_language_says_the_same_prompts_and_its_own_number_words():
    assert set(prompt_texts("en")) == set(prompt_texts("zh"))
    for language in ("en", "zh"):
        assert default_prompt_texts(language) == {**prompt_texts(language),
                                                  **NUMBER_WORDS[language]}
    # The words each grammar needs: English counts in words to nineteen, Mandarin has 两 and 万.
    assert "num-19" in NUMBER_WORDS["en"] and "num-liang" not in NUMBER_WORDS["en"]
    assert "num-ten-thousand" in NUMBER_WORDS["zh"] and "num-19" not in NUMBER_WORDS["zh"]
    with pytest.raises(KeyError, match="have: en, zh"):
        prompt_texts("fr")


@pytest.mark.slow
def test_built_prompts_are_8_khz_speech_in_both_languages(tmp_path: Path):
    names = ["digit-3", "position-before", "position-after", "num-hundred", "minus"]
    written = build_prompts(tmp_path, ("en", "zh"), only=names)
    assert len(written) == 10
    for language in ("en", "zh"):
        prompts = PromptSet(tmp_path / language)
        for name in names:
            samples = prompts.samples(name)
            assert len(samples) > 0.2 * 8000  # speech, not an empty file
            assert np.abs(samples.astype(np.int32)).max() > 1000
        assert prompts.duration(position_announcement(3)) > 1.0
        # Words end soon after their sound, so that a number's words follow one another
        # closely; a phrase keeps the pause at its end.
        assert trailing_quiet(prompts.samples("num-hundred")) < 0.15
        assert trailing_quiet(prompts.samples("position-after")) > 0.3
    # Reproducible: the same text and tools give the same audio.
    again = build_prompts(tmp_path / "again", ("en",), only=["digit-3"])[0]
    assert again.read_bytes() == (tmp_path / "en" / "digit-3.wav").read_bytes()


def trailing_quiet(samples: np.ndarray) -> float:
    """Seconds at the end of `samples` quieter than 1.5 % of full scale."""
    loud = np.nonzero(np.abs(samples.astype(np.int32)) > 500)[0]
    return (len(samples) - loud[-1]) / 8000


def test_a_missing_or_wrong_prompt_names_its_file(tmp_path: Path):
    prompts = PromptSet(tmp_path)
    with pytest.raises(PromptError, match=r"welcome\.wav: no such prompt"):
        prompts.samples("welcome")
    with wave.open(str(tmp_path / "hi-fi.wav"), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(44100)
        wav.writeframes(b"\0" * 400)
    with pytest.raises(PromptError, match="expected 8000 Hz mono 16-bit; got 44100 Hz"):
        prompts.samples("hi-fi")
    assert prompts.missing(["hi-fi", "welcome"]) == ["welcome"]


def wav_bytes(rate: int, channels: int, frames: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)
    return out.getvalue()


def test_a_prompt_is_read_from_its_bytes_and_a_wrong_one_is_named() -> None:
    samples = np.array([0, 1000, -1000, 32767], dtype=np.int16)
    assert prompt_samples(wav_bytes(8000, 1, samples.tobytes()), "beep").tolist() == (
        samples.tolist())
    with pytest.raises(PromptError, match="hi-fi: expected 8000 Hz mono 16-bit; got 44100 Hz, 2"):
        prompt_samples(wav_bytes(44100, 2, bytes(8)), "hi-fi")
    with pytest.raises(PromptError, match="junk: not a usable WAV file"):
        prompt_samples(b"not a wave file at all", "junk")
    # A file cut short inside its samples gives the whole samples it holds.
    cut = wav_bytes(8000, 1, samples.tobytes())[:-3]
    assert prompt_samples(cut, "cut").tolist() == samples[:2].tolist()


def write_prompts(folder: Path, seconds: dict[str, float]) -> None:
    """Silent prompts of the given lengths, in the format of a prompt set."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, length in seconds.items():
        with wave.open(str(folder / f"{name}.wav"), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(b"\0\0" * round(length * 8000))


def test_an_announcement_is_the_place_then_the_wait():
    assert queue_announcement(2, 61) == [
        "position-before", "digit-2", "position-after", "wait-before", "digit-2", "wait-minutes"
    ]
    assert queue_announcement(1, None)[-1] == "wait-unknown"
    assert [wait_minutes(w) for w in (None, 0.0, 60.0, 60.5, 61.0)] == [None, 1, 1, 1, 2]


def test_announcement_timings_are_the_prompts_real_lengths_measured_once(tmp_path: Path):
    lengths = {"position-before": 0.75, "position-after": 0.5, "wait-before": 1.0,
               "wait-minutes": 0.375, "wait-unknown": 2.0}
    lengths.update({f"digit-{d}": 0.25 + d / 100 for d in range(10)})
    write_prompts(tmp_path, lengths)
    prompts = PromptSet(tmp_path)
    timings = AnnouncementTimings(prompts)
    # Place 12: 0.75 + 0.26 + 0.27 + 0.5; a wait of 3 minutes: 1.0 + 0.28 + 0.375.
    assert timings(12, 150.0) == pytest.approx(3.435)
    assert timings(1, None) == pytest.approx(0.75 + 0.26 + 0.5 + 2.0)
    # Measured once per announcement: the same place and minutes need no prompt again.
    (tmp_path / "digit-3.wav").unlink()
    prompts._cache.clear()
    assert timings(12, 179.0) == pytest.approx(3.435)
    with pytest.raises(PromptError, match=r"digit-3\.wav"):
        timings(3, None)
