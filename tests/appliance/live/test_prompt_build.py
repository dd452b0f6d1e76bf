"""Building the default prompts and music on hold: reproducible, in place, once."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

import appliance
from appliance.live.prompt_build import (
    VOICES,
    build_music,
    default_prompts_folder,
    ensure_default_music,
    ensure_default_prompts,
    music_samples,
    tools_available,
)
from appliance.media.prompts import default_prompt_texts
from appliance.storage.promptfiles import PromptSet

needs_tools = pytest.mark.skipif(not tools_available(), reason="espeak-ng and sox not installed")


def test_the_music_is_the_same_bytes_on_every_build(tmp_path: Path) -> None:
    first = build_music(tmp_path / "one" / "music" / "default.wav")
    again = build_music(tmp_path / "two" / "music" / "default.wav")
    assert first.read_bytes() == again.read_bytes()
    with wave.open(str(first), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert 20 <= wav.getnframes() / 8000 <= 30


def test_the_music_is_a_tune_not_a_tone() -> None:
    samples = music_samples().astype(np.float64)
    assert 8000 < np.abs(samples).max() < 32767  # loud enough, never clipped
    # The strongest pitch of each half second: a tune moves between many of them.
    halves = samples[: len(samples) // 4000 * 4000].reshape(-1, 4000)
    peaks = {int(np.argmax(np.abs(np.fft.rfft(half)))) for half in halves}
    assert len(peaks) >= 8
    # A loop with no seam: from its end into its start is a step like any other.
    assert abs(samples[0] - samples[-1]) <= np.abs(np.diff(samples)).max()


def test_the_default_folder_is_in_the_state_folder_never_in_the_package(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CCBOX_STATE_DIR", str(tmp_path))
    assert default_prompts_folder() == tmp_path / "prompts"
    monkeypatch.delenv("CCBOX_STATE_DIR")
    package = Path(appliance.__file__).resolve().parent.parent
    assert package not in default_prompts_folder().resolve().parents


def test_ensure_default_music_writes_once(tmp_path: Path) -> None:
    path = ensure_default_music(tmp_path)
    assert path == tmp_path / "music" / "default.wav"
    written = path.stat().st_mtime_ns
    assert ensure_default_music(tmp_path) == path
    assert path.stat().st_mtime_ns == written


@pytest.mark.slow
@needs_tools
def test_ensure_default_prompts_builds_what_is_missing_and_only_that(tmp_path: Path) -> None:
    folder = ensure_default_prompts("en", tmp_path)
    assert folder == tmp_path / "en"
    assert PromptSet(folder).missing(list(default_prompt_texts("en"))) == []
    kept = (folder / "welcome.wav").stat().st_mtime_ns
    digit = folder / "digit-7.wav"
    first = digit.read_bytes()
    digit.unlink()
    assert ensure_default_prompts("en", tmp_path) == folder
    assert digit.read_bytes() == first  # rebuilt, the same bytes
    assert (folder / "welcome.wav").stat().st_mtime_ns == kept  # left alone
    assert not list(folder.glob(".*partial*"))  # no half-written files left behind


@pytest.mark.slow
@needs_tools
def test_a_full_build_also_writes_the_music(tmp_path: Path) -> None:
    from appliance.live.prompt_build import build_prompts

    written = build_prompts(tmp_path, ("en",))
    assert written[-1] == tmp_path / "music" / "default.wav"
    assert written[-1].read_bytes() == build_music(tmp_path / "again.wav").read_bytes()
    assert len(written) == len(default_prompt_texts("en")) + 1


@needs_tools
def test_every_mandarin_prompt_is_spoken_in_mandarin() -> None:
    # espeak-ng marks a stretch it speaks in another language "(en)...(cmn)": the plain `cmn`
    # voice of espeak-ng 1.51 does so for the tone digit of most characters ("yi one").
    texts = default_prompt_texts("zh")
    result = subprocess.run(
        ["espeak-ng", "-q", "-x", "-v", VOICES["zh"], "\n".join(texts.values())],
        capture_output=True, text=True, check=True, timeout=60)
    assert "(en)" not in result.stdout
    assert result.stdout.count("_|") >= len(texts)  # every text said, a syllable at least
