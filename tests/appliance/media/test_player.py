"""Prompts and music as paced RTP: timing, continuity, interruption, looping."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from appliance.media.g711 import ulaw_decode
from appliance.media.player import PACKET_SECONDS, Finished, Player
from appliance.media.rtp import seq_diff, ts_diff
from appliance.media.stream import OutboundStream


def tone(seconds: float, frequency: float = 440.0, amplitude: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * 8000)) / 8000
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def run(player: Player, until: float, wake_every: float = PACKET_SECONDS) -> list:
    """Wake the player as a driver would, returning (send time, packet) pairs."""
    sent = []
    now = 0.0
    while now <= until:
        deadline = player.next_deadline()
        if deadline is not None and deadline <= now:
            player.on_deadline(now)
            sent += [(now, p) for p in player.take_packets()]
        now = round(now + wake_every, 6)
    return sent


def test_a_prompt_is_sent_as_20_ms_packets_on_time_then_reported_finished():
    player = Player(OutboundStream(7, 0, 0))
    player.play("welcome", tone(0.5), now=0.0)
    sent = run(player, until=1.0)
    assert len(sent) == 25  # 0.5 s / 20 ms
    assert [round(t, 3) for t, _ in sent[:3]] == [0.0, 0.02, 0.04]
    packets = [p for _, p in sent]
    assert packets[0].marker and not any(p.marker for p in packets[1:])
    assert all(seq_diff(b.sequence, a.sequence) == 1 for a, b in pairwise(packets))
    assert all(b.timestamp - a.timestamp == 160 for a, b in pairwise(packets))
    assert player.take_events() == [Finished("welcome", pytest.approx(0.5))]
    assert player.next_deadline() is None


def test_a_late_wake_up_sends_every_packet_that_was_due():
    player = Player(OutboundStream(7, 0, 0))
    player.play("p", tone(0.2), now=0.0)
    player.on_deadline(0.1)  # woken 100 ms late
    assert len(player.take_packets()) == 6  # 0, 20, 40, 60, 80 and 100 ms


def test_music_loops_and_a_prompt_interrupts_it_then_music_resumes_where_it_was():
    player = Player(OutboundStream(1, 0, 0))
    music = np.arange(800, dtype=np.int16)  # 100 ms of a ramp: five frames, each different
    player.loop("moh", music, now=0.0)
    first = run(player, until=0.25)
    assert len(first) >= 12  # looped past its 100 ms at least twice
    player.play("position-3", tone(0.04), now=0.26)
    player.on_deadline(0.3)
    packets = player.take_packets()
    announcement = ulaw_decode(packets[0].payload)
    assert abs(announcement).max() > 1000  # the tone, not the ramp's small values
    assert player.take_events()[0].name == "position-3"
    assert player.playing == "moh"


def test_stop_silences_at_once_and_the_stream_continues_on_the_next_play():
    player = Player(OutboundStream(1, 0, 0))
    player.play("a", tone(1.0), now=0.0)
    player.on_deadline(0.1)
    last = player.take_packets()[-1]
    player.stop()
    assert player.next_deadline() is None and player.playing is None
    player.play("b", tone(0.1), now=5.0)
    player.on_deadline(5.0)
    resumed = player.take_packets()[0]
    assert resumed.marker and seq_diff(resumed.sequence, last.sequence) == 1
    # The silence between counts in the timestamps: 4.9 s after the last packet was due.
    assert ts_diff(resumed.timestamp, last.timestamp) == 4.9 * 8000


def test_a_law_and_bad_input():
    player = Player(OutboundStream(1, 0, 0), payload_type=8)
    player.play("x", tone(0.02), now=0.0)
    player.on_deadline(0.0)
    assert player.take_packets()[0].payload_type == 8
    with pytest.raises(ValueError):
        Player(OutboundStream(1, 0, 0), payload_type=18)
    with pytest.raises(ValueError):
        player.play("stereo", np.zeros((10, 2), dtype=np.int16), now=0.0)
