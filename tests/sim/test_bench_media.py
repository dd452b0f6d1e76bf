"""The media benchmark's machinery, at a size a test can afford."""

from __future__ import annotations

from sim.bench_media import measure_step


def test_a_few_calls_of_rtp_cross_the_relay_process_without_loss():
    step = measure_step(calls=5, seconds=1.0)
    assert step.sent >= 2 * 5 * 40  # both ways, every 20 ms, for a second
    assert step.lost == 0
    assert 0 < step.p50_ms < 1000
