"""WAV recordings: header, format, mixing, and what the recorder writes to its storage.

The same recorder on a file, repair and kill -9: tests/appliance/storage/test_wavfile.py."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from appliance.media.recording import (
    AGENT,
    CALLER,
    HEADER_BYTES,
    MemoryWav,
    Mixer,
    WavError,
    WavRecorder,
    interleave,
    mix_mono,
    read_format,
    wav_header,
)

RATE = 8000


def sine(freq: float, seconds: float, amplitude: float = 8000, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def read_wav(source: Path | bytes) -> tuple[Any, np.ndarray]:
    """The parameters and samples of a WAV file, or of its bytes."""
    opened = io.BytesIO(source) if isinstance(source, bytes | bytearray) else str(source)
    with wave.open(opened, "rb") as wav:
        params = wav.getparams()
        frames = wav.readframes(params.nframes)
    samples = np.frombuffer(frames, dtype="<i2")
    if params.nchannels > 1:
        samples = samples.reshape(-1, params.nchannels)
    return params, samples


def peak_frequency(samples: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


# ---- the pure part --------------------------------------------------------------------------


def test_header_is_the_canonical_44_bytes() -> None:
    header = wav_header(8000, 1, 16_000)
    assert len(header) == HEADER_BYTES
    assert header == bytes.fromhex(
        "52494646" "a43e0000" "57415645" "666d7420" "10000000" "0100" "0100" "401f0000"
        "803e0000" "0200" "1000" "64617461" "803e0000"
    )
    fmt = read_format(header)
    assert (fmt.sample_rate, fmt.channels, fmt.data_offset, fmt.data_bytes) == (8000, 1, 44, 16_000)


def test_read_format_skips_other_chunks_and_refuses_non_pcm() -> None:
    fmt_chunk = wav_header(16_000, 2, 0)[12:36]
    with_list = b"RIFF\0\0\0\0WAVE" + fmt_chunk + b"LIST\x03\0\0\0abc\0" + b"data\x08\0\0\0"
    fmt = read_format(with_list)
    assert (fmt.sample_rate, fmt.channels, fmt.data_offset) == (16_000, 2, len(with_list))
    with pytest.raises(WavError):
        read_format(b"RIFX" + with_list[4:])
    float_fmt = fmt_chunk[:8] + b"\x03\x00" + fmt_chunk[10:]
    with pytest.raises(WavError):
        read_format(b"RIFF\0\0\0\0WAVE" + float_fmt + b"data\0\0\0\0")
    with pytest.raises(WavError):
        read_format(wav_header(8000, 1, 0)[:30])


def test_mixing_sums_and_clips() -> None:
    a = np.array([1000, 30_000, -30_000, 32_767, -32_768, 5], dtype=np.int16)
    b = np.array([-500, 10_000, -10_000, 1, -1], dtype=np.int16)
    assert mix_mono(a, b).tolist() == [500, 32_767, -32_768, 32_767, -32_768, 5]
    assert mix_mono(a, b).dtype == np.int16


@given(arrays(np.int16, st.integers(0, 300)), arrays(np.int16, st.integers(0, 300)))
def test_mixing_is_the_clipped_sum(a: np.ndarray, b: np.ndarray) -> None:
    mixed = mix_mono(a, b)
    n = max(len(a), len(b))
    wide = np.zeros(n, dtype=np.int64)
    wide[: len(a)] += a
    wide[: len(b)] += b
    assert mixed.tolist() == np.clip(wide, -32_768, 32_767).tolist()
    stereo = interleave(a, b)
    assert stereo.shape == (n, 2)
    assert stereo[: len(a), 0].tolist() == a.tolist() and stereo[: len(b), 1].tolist() == b.tolist()


def test_mixer_releases_what_both_parties_covered() -> None:
    mixer = Mixer(channels=2, max_lag=1000)
    mixer.push(CALLER, np.full(300, 1, dtype=np.int16))
    assert mixer.pull().shape == (0, 2)
    mixer.push(AGENT, np.full(200, 2, dtype=np.int16))
    out = mixer.pull()
    assert out.shape == (200, 2) and set(out[:, 0]) == {1} and set(out[:, 1]) == {2}
    # The agent goes quiet (silence suppression): past max_lag the caller is released alone.
    mixer.push(CALLER, np.full(1500, 1, dtype=np.int16))
    out = mixer.pull()
    assert out.shape == (600, 2) and set(out[:, 1]) == {0}
    rest = mixer.drain()
    assert rest.shape == (1000, 2) and set(rest[:, 0]) == {1}
    assert mixer.drain().shape == (0, 2)


@given(st.lists(st.tuples(st.sampled_from([CALLER, AGENT]), st.integers(0, 400)), max_size=30))
def test_mixer_loses_and_invents_nothing(pushes: list[tuple[int, int]]) -> None:
    mixer = Mixer(channels=2, max_lag=500)
    sent: dict[int, list[int]] = {CALLER: [], AGENT: []}
    got = []
    counter = 1
    for party, n in pushes:
        chunk = np.arange(counter, counter + n, dtype=np.int64) % 30_000 + 1
        counter += n
        mixer.push(party, chunk.astype(np.int16))
        sent[party] += chunk.tolist()
        got.append(mixer.pull())
    got.append(mixer.drain())
    stereo = np.concatenate(got)
    for party in (CALLER, AGENT):
        channel = stereo[:, party]
        assert channel[channel != 0].tolist() == sent[party]
    # A party more than max_lag behind is taken as silent there, so its audio comes later.
    longest = max(len(sent[CALLER]), len(sent[AGENT]))
    assert longest <= len(stereo) <= len(sent[CALLER]) + len(sent[AGENT])


# ---- the recorder, in memory ------------------------------------------------------------------


@pytest.mark.parametrize(("channels", "chunk"), [(1, 160), (2, 160), (1, 2_731), (2, 11_000)])
def test_the_bytes_handed_on_parse_at_every_moment_and_are_at_most_sync_seconds_short(
    channels: int, chunk: int,
) -> None:
    """What a kill would leave is what the storage holds: it must always be a sound WAV."""
    audio = sine(700, 6.0)
    if channels == 2:
        audio = interleave(audio, sine(1300, 6.0))
    storage = MemoryWav()
    recorder = WavRecorder(storage, channels=channels, sync_seconds=0.5)
    for i in range(0, len(audio), chunk):
        recorder.write(audio[i:i + chunk])
        params, samples = read_wav(bytes(storage.data))
        assert recorder.seconds_written - 0.5 <= params.nframes / RATE <= recorder.seconds_written
        assert np.array_equal(samples, audio[: params.nframes])
    recorder.close()
    assert storage.closed and read_wav(bytes(storage.data))[0].nframes == len(audio)


def test_close_later_writes_everything_now_and_hands_on_only_the_storage_close() -> None:
    storage = MemoryWav()
    recorder = WavRecorder(storage)
    recorder.write(np.full(4000, 1234, dtype=np.int16))  # half a second, not yet handed on
    assert read_wav(bytes(storage.data))[0].nframes == 0
    handed: list = []
    recorder.close_later(handed.append)
    assert read_wav(bytes(storage.data))[0].nframes == 4000
    assert recorder.closed and not storage.closed and handed == [storage.close]
    recorder.close_later(handed.append)  # once closed, nothing more happens
    recorder.close()
    assert len(handed) == 1 and not storage.closed


def test_the_recorder_refuses_wrong_shapes_and_settings() -> None:
    with WavRecorder(MemoryWav(), channels=2) as recorder:
        with pytest.raises(TypeError):
            recorder.write(np.zeros(10, dtype=np.int16))
        with pytest.raises(TypeError):
            recorder.write(np.zeros((10, 2), dtype=np.float32))
    with pytest.raises(ValueError):
        WavRecorder(MemoryWav(), channels=3)
    with pytest.raises(ValueError):
        WavRecorder(MemoryWav(), sync_seconds=1.5)


def test_memory_storage_patches_only_what_was_appended() -> None:
    storage = MemoryWav()
    storage.append(b"abcd")
    storage.patch(1, b"XY")
    assert storage.data == bytearray(b"aXYd")
    with pytest.raises(ValueError):
        storage.patch(3, b"ZZ")
