"""The media benchmark's machinery, at a size a test can afford."""

from __future__ import annotations

from sim.bench_media import RECORDING_BYTES_PER_SECOND, measure_step


def test_a_few_calls_of_rtp_cross_the_relay_process_without_loss():
    step = measure_step(calls=5, seconds=1.0, record=False)
    assert step.sent >= 2 * 5 * 40  # both ways, every 20 ms, for a second
    assert step.lost == 0
    assert 0 < step.p50_ms < 1000
    assert not step.recorded and step.recordings == 0


def test_recorded_calls_cross_the_media_plane_and_leave_one_wav_each():
    step = measure_step(calls=4, seconds=1.0)
    assert step.recorded
    assert step.lost == 0
    assert step.recordings == 4  # every call's WAV was found and read back
    # 8 kHz 16-bit mono, plus a 44-byte header over a recording of one to two seconds.
    assert RECORDING_BYTES_PER_SECOND < step.bytes_per_call_second < 16_100
    assert step.start_and_finish_cpu_ms_per_call > 0
