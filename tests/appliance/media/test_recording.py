"""WAV recordings: content, header kept true while writing, repair after a kill, mixing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
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
    Mixer,
    WavError,
    WavRecorder,
    interleave,
    mix_mono,
    read_format,
    repair,
    wav_header,
)

RATE = 8000
ROOT = Path(__file__).resolve().parents[3]


def sine(freq: float, seconds: float, amplitude: float = 8000, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def read_wav(path: Path) -> tuple[Any, np.ndarray]:
    with wave.open(str(path), "rb") as wav:
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


# ---- the recorder ---------------------------------------------------------------------------


def test_a_recorded_tone_reads_back_with_its_frequency_and_duration(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    audio = sine(1004, 3.5)
    with WavRecorder(path) as recorder:
        for i in range(0, len(audio), 160):
            recorder.write(audio[i:i + 160])
        assert recorder.seconds_written == pytest.approx(3.5)
    params, samples = read_wav(path)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, RATE)
    assert params.nframes / params.framerate == pytest.approx(3.5)
    assert np.array_equal(samples, audio)
    assert abs(peak_frequency(samples) - 1004) < 1


def test_stereo_keeps_the_parties_apart(tmp_path: Path) -> None:
    caller, agent = sine(440, 2.0), sine(1200, 1.7, amplitude=5000)
    mixer = Mixer(channels=2)
    path = tmp_path / "stereo.wav"
    with WavRecorder(path, channels=2) as recorder:
        for i in range(0, 2 * RATE, 160):
            mixer.push(CALLER, caller[i:i + 160])
            mixer.push(AGENT, agent[i:i + 160])
            recorder.write(mixer.pull())
        recorder.write(mixer.drain())
    params, samples = read_wav(path)
    assert params.nchannels == 2 and params.nframes == 2 * RATE
    assert abs(peak_frequency(samples[:, 0]) - 440) < 1
    assert abs(peak_frequency(samples[:, 1]) - 1200) < 1
    # No trace of one party on the other's channel.
    assert np.array_equal(samples[:, 0], caller)
    assert np.array_equal(samples[: len(agent), 1], agent) and not samples[len(agent):, 1].any()


def test_mono_mix_holds_both_parties(tmp_path: Path) -> None:
    path = tmp_path / "mono.wav"
    with WavRecorder(path) as recorder:
        recorder.write(mix_mono(sine(440, 1.0), sine(1200, 1.0)))
    _, samples = read_wav(path)
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    strongest = sorted(np.fft.rfftfreq(len(samples), 1 / RATE)[np.argsort(spectrum)[-2:]])
    assert strongest == [440, 1200]


def test_the_recorder_refuses_wrong_shapes_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    with WavRecorder(path, channels=2) as recorder:
        with pytest.raises(TypeError):
            recorder.write(np.zeros(10, dtype=np.int16))
        with pytest.raises(TypeError):
            recorder.write(np.zeros((10, 2), dtype=np.float32))
    with pytest.raises(FileExistsError):
        WavRecorder(path)


@pytest.mark.parametrize(("channels", "chunk"), [(1, 160), (2, 160), (1, 2_731), (2, 11_000)])
def test_a_copy_taken_at_any_moment_parses_and_is_at_most_a_second_short(
    tmp_path: Path, channels: int, chunk: int,
) -> None:
    """A kill simulated: the file's bytes are copied while the recorder is still open."""
    rng = np.random.default_rng(chunk + channels)
    path = tmp_path / "live.wav"
    audio = sine(700, 12.0)
    if channels == 2:
        audio = interleave(audio, sine(1300, 12.0))
    recorder = WavRecorder(path, channels=channels)
    copies = 0
    for i in range(0, len(audio), chunk):
        recorder.write(audio[i:i + chunk])
        if chunk > RATE or rng.random() < 0.25:
            copy = tmp_path / f"copy{copies}.wav"
            copy.write_bytes(path.read_bytes())
            copies += 1
            written = recorder.seconds_written
            # As it stands, without repair:
            params, samples = read_wav(copy)
            seconds = params.nframes / RATE
            assert written - 1.0 <= seconds <= written
            assert np.array_equal(samples, audio[: params.nframes])
            # Repaired: at least as much, and idempotent.
            repaired = repair(copy)
            assert written - 1.0 <= repaired <= written
            assert repair(copy) == repaired
            params, samples = read_wav(copy)
            assert params.nframes / RATE == repaired
            assert np.array_equal(samples, audio[: params.nframes])
    recorder.close()
    assert copies > 3
    assert repair(path) == pytest.approx(12.0)


def test_repair_trims_a_partial_frame_and_fixes_both_sizes(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    with WavRecorder(path, channels=2) as recorder:
        recorder.write(interleave(sine(500, 1.5), sine(900, 1.5)))
    whole = path.read_bytes()
    rng = np.random.default_rng(7)
    for cut in [HEADER_BYTES, HEADER_BYTES + 1, HEADER_BYTES + 3, len(whole) - 1,
                *rng.integers(HEADER_BYTES, len(whole), 20).tolist()]:
        # The header claims more than the file holds, as after a truncated copy.
        path.write_bytes(whole[:cut])
        frames = (cut - HEADER_BYTES) // 4
        assert repair(path) == frames / RATE
        assert path.stat().st_size == HEADER_BYTES + 4 * frames
        params, _ = read_wav(path)
        assert params.nframes == frames
        riff_size = int.from_bytes(path.read_bytes()[4:8], "little")
        assert riff_size == path.stat().st_size - 8
        before = path.read_bytes()
        repair(path)
        assert path.read_bytes() == before


def test_repair_refuses_what_is_not_a_wav(tmp_path: Path) -> None:
    path = tmp_path / "junk.wav"
    path.write_bytes(b"not a wav at all" * 10)
    with pytest.raises(WavError):
        repair(path)
    path.write_bytes(b"")
    with pytest.raises(WavError):
        repair(path)


CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    from appliance.media.recording import WavRecorder

    rate = 8000
    tone = np.round(6000 * np.sin(2 * np.pi * 440 * np.arange(rate // 10) / rate))
    recorder = WavRecorder(sys.argv[1])
    print("ready", flush=True)
    started = time.monotonic()
    # Ten times real time, so the kill lands well past several header rewrites; the wall-clock
    # cap ends the child even if the parent never kills it.
    while time.monotonic() - started < 30:
        recorder.write(tone.astype(np.int16))
        print(f"{recorder.seconds_written:.3f}", flush=True)
        time.sleep(0.01)
""")


KILL_PAST = 3.0  # seconds of audio written before the kill: past several header rewrites


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_recording_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "killed.wav"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline()  # EOF (and a failure below) if the child dies first
        assert first.strip() == "ready", child.stderr.read() if child.stderr else ""
        written = "0"
        for written in child.stdout:  # the seconds written so far, after each write
            if float(written) >= KILL_PAST:
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        printed = [written, *child.stdout.read().split()]
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert child.returncode == -signal.SIGKILL
    last = float(printed[-1])
    assert last > 1.0  # the kill came after at least one header rewrite
    # The kill may fall between a write and the printing of its figure: one chunk (0.1 s) more.
    most = last + 0.1 + 1e-9
    params, _ = read_wav(path)  # parses even before repair
    assert last - 1.0 <= params.nframes / RATE <= most
    duration = repair(path)
    assert last - 1.0 <= duration <= most
    params, samples = read_wav(path)
    assert params.nframes / RATE == duration
    assert abs(peak_frequency(samples) - 440) < 2


def test_close_later_leaves_a_whole_file_before_its_fsync_runs(tmp_path):
    path = tmp_path / "later.wav"
    recorder = WavRecorder(path)
    recorder.write(np.full(4000, 1234, dtype=np.int16))  # half a second, not yet synced
    handed: list = []
    recorder.close_later(handed.append)
    with wave.open(str(path), "rb") as wav:  # what a kill at this moment would leave
        assert wav.getnframes() == 4000
    assert not recorder.closed and len(handed) == 1
    handed[0]()  # the worker's fsync and close
    assert recorder.closed
