"""Recordings as files: the recorder on a new file, its repair after a kill, kill -9 itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np
import pytest

from appliance.media.recording import (
    AGENT,
    CALLER,
    HEADER_BYTES,
    Mixer,
    WavError,
    interleave,
    mix_mono,
)
from appliance.storage.wavfile import open_recording, repair
from tests.appliance.media.test_recording import RATE, peak_frequency, read_wav, sine

ROOT = Path(__file__).resolve().parents[3]


def test_a_recorded_tone_reads_back_with_its_frequency_and_duration(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    audio = sine(1004, 3.5)
    with open_recording(path) as recorder:
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
    with open_recording(path, channels=2) as recorder:
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
    with open_recording(path) as recorder:
        recorder.write(mix_mono(sine(440, 1.0), sine(1200, 1.0)))
    _, samples = read_wav(path)
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    strongest = sorted(np.fft.rfftfreq(len(samples), 1 / RATE)[np.argsort(spectrum)[-2:]])
    assert strongest == [440, 1200]


def test_the_recorder_refuses_wrong_shapes_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    with open_recording(path, channels=2) as recorder:
        with pytest.raises(TypeError):
            recorder.write(np.zeros(10, dtype=np.int16))
        with pytest.raises(TypeError):
            recorder.write(np.zeros((10, 2), dtype=np.float32))
    with pytest.raises(FileExistsError):
        open_recording(path)


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
    recorder = open_recording(path, channels=channels)
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
    with open_recording(path, channels=2) as recorder:
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
    from appliance.storage.wavfile import open_recording

    rate = 8000
    tone = np.round(6000 * np.sin(2 * np.pi * 440 * np.arange(rate // 10) / rate))
    recorder = open_recording(sys.argv[1])
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
    recorder = open_recording(path)
    recorder.write(np.full(4000, 1234, dtype=np.int16))  # half a second, not yet synced
    handed: list = []
    recorder.close_later(handed.append)
    with wave.open(str(path), "rb") as wav:  # what a kill at this moment would leave
        assert wav.getnframes() == 4000
    assert not recorder.storage.closed and len(handed) == 1
    handed[0]()  # the worker's fsync and close
    assert recorder.storage.closed
