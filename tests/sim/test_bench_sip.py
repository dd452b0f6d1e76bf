"""The overload step of `ccbox bench sip`: its pieces, and a short step through the live
appliance asserting the figures that must be zero."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime

import pytest

from sim.bench_sip import (
    OptionsProbe,
    _percentile,
    _recovery,
    format_overload,
    measure_overload,
)


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]


def test_recovery_is_read_from_the_appliances_own_words() -> None:
    end = 1_800_000_000.0
    overloaded = f"{_stamp(end - 5)} WARNING appliance.live.udp: overloaded: SIP datagrams ...\n"
    back = f"{_stamp(end + 2.5)} WARNING appliance.live.udp: load back to normal: taking ...\n"
    assert _recovery("", end) == 0.0
    assert _recovery(overloaded, end) is None
    assert _recovery(overloaded + back, end) == pytest.approx(2.5, abs=0.01)
    early = f"{_stamp(end - 1)} WARNING appliance.live.udp: load back to normal: ...\n"
    assert _recovery(overloaded + early, end) == 0.0


def test_percentile() -> None:
    assert _percentile([], 0.99) == 0.0
    assert _percentile([float(n) for n in range(1, 101)], 0.99) == 100.0
    assert _percentile([3.0, 1.0, 2.0], 0.5) == 2.0


def test_options_probe_counts_what_is_answered_and_what_is_not() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(0.05)
    answered: list[int] = []
    running = True

    def answer_every_other() -> None:
        count = 0
        while running:
            try:
                data, source = server.recvfrom(65535)
            except TimeoutError:
                continue
            count += 1
            if count % 2:
                server.sendto(b"SIP/2.0 200 OK\r\n" + data.split(b"\r\n", 1)[1], source)
                answered.append(count)

    responder = threading.Thread(target=answer_every_other)
    responder.start()
    try:
        with OptionsProbe(server.getsockname(), interval=0.01) as probe:
            deadline = time.monotonic() + 5
            while len(answered) < 5 and time.monotonic() < deadline:
                time.sleep(0.01)
        assert len(probe.latencies) >= 5 and probe.unanswered >= 4
        assert abs(len(probe.latencies) - probe.unanswered) <= 1
    finally:
        running = False
        responder.join()
        server.close()


@pytest.mark.slow
def test_a_short_overload_step_leaves_nothing_unanswered_or_held() -> None:
    figures = measure_overload(10, ramp_seconds=20, agents=50, calls_before=5, held_after=40)
    text = format_overload(figures)
    assert figures.placed > 0, text
    assert figures.without_final == 0, text
    assert figures.options_sent > 0 and figures.options_answered == figures.options_sent, text
    assert figures.calls_up_completed == figures.calls_up_before, text
    assert figures.calls_held == 0 and figures.media_ports_held == 0, text
    assert figures.stayed_up_after_bye == 0, text
