"""The media plane: its per-packet taps (digits and recording take whatever arrives), and the
one stream a caller hears from its player and the relay together."""

from __future__ import annotations

from itertools import pairwise
from random import Random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.clock import Deadlines
from appliance.media.g711 import ulaw_decode
from appliance.media.plane import Digit, MediaPlane, PromptMissing
from appliance.media.prompts import PromptError
from appliance.media.rtp import RtpExtension, RtpPacket, parse, payload_of, seq_diff, ts_diff

GATEWAY = ("192.0.2.10", 40000)


def plane_with_call() -> tuple[MediaPlane, int]:
    plane = MediaPlane("127.0.0.1", range(30000, 30004), Deadlines(), Random(1))
    caller_port, _ = plane.open(1, 0.0)
    plane.set_caller(1, GATEWAY, 0, 101, inband_digits=True)
    return plane, caller_port


def test_malformed_rtp_on_a_tapped_call_is_dropped_not_raised():
    plane, port = plane_with_call()
    for packet in (
        bytes([0x8F, 0x00]) + bytes(11),  # fifteen CSRCs announced, none there
        bytes([0x90, 0x00]) + bytes(10) + b"\x00\x00\x00\xff",  # extension longer than it
        bytes([0xA0, 0x00]) + bytes(10) + b"\x00",  # padding of zero bytes
        bytes([0x80, 101]) + bytes(10) + b"\x01",  # a telephone-event cut short
    ):
        plane.receive(port, packet, GATEWAY, 0.1)
    assert plane.take_events() == []


def test_in_band_digits_are_found_behind_a_header_extension():
    import numpy as np

    from appliance.media.g711 import ulaw_encode

    plane, port = plane_with_call()
    t = np.arange(800) / 8000  # 100 ms of the digit 5 (770 Hz + 1336 Hz), then silence
    tone = (4000 * (np.sin(2 * np.pi * 770 * t) + np.sin(2 * np.pi * 1336 * t))).astype(np.int16)
    audio = ulaw_encode(np.concatenate([tone, np.zeros(1600, dtype=np.int16)]))
    extension = RtpExtension(0xBEDE, b"\x10\x01\x00\x00")
    for n in range(len(audio) // 160):
        packet = RtpPacket(0, n, n * 160, 7, audio[n * 160:(n + 1) * 160], extension=extension)
        assert payload_of(bytes(packet)) == (0, audio[n * 160:(n + 1) * 160])
        plane.receive(port, bytes(packet), GATEWAY, n * 0.02)
    assert [(e.digit, e.via) for e in plane.take_events() if isinstance(e, Digit)] == [
        ("5", "inband")]


PHONE = ("10.0.1.1", 42000)


@given(st.lists(st.tuples(st.sampled_from(["agent", "music", "silence", "wait"]),
                          st.integers(1, 30)), min_size=1, max_size=40),
       st.integers(0, 2**16 - 1))
@settings(max_examples=60, deadline=None)
def test_the_caller_hears_one_stream_whatever_mix_of_music_and_agent_audio(steps, seed):
    plane = MediaPlane("127.0.0.1", range(30000, 30004), Deadlines(), Random(seed),
                       music=np.arange(1600, dtype=np.int16))
    caller_port, agent_port = plane.open(1, 0.0)
    plane.set_caller(1, GATEWAY, 0, None, inband_digits=False)
    plane.set_agent(1, PHONE, 0.0)
    now, agent_sequence = 0.0, 5000
    to_caller: list[RtpPacket] = []

    def sent() -> None:  # drained after each input, as a driver does, to keep their order
        to_caller.extend(parse(data) for port, data, to in plane.take_datagrams()
                         if port == caller_port and to == GATEWAY)

    for action, count in steps:
        if action == "music":
            plane.play_music(1, now)
        elif action == "silence":
            plane.silence(1)
        for _ in range(count):
            now = round(now + 0.02, 6)
            if action == "agent":
                packet = RtpPacket(0, agent_sequence % 65536, agent_sequence * 160, 0x99,
                                   b"\x00" * 160)
                plane.receive(agent_port, bytes(packet), PHONE, now)
                agent_sequence += 1
                sent()
            deadline = plane.next_deadline()
            while deadline is not None and deadline <= now:
                plane.on_deadline(deadline)
                sent()
                deadline = plane.next_deadline()
    assert len({packet.ssrc for packet in to_caller}) <= 1
    assert all(seq_diff(b.sequence, a.sequence) == 1 for a, b in pairwise(to_caller))
    assert all(ts_diff(b.timestamp, a.timestamp) >= 160 for a, b in pairwise(to_caller))
    for before, after in pairwise(to_caller):
        if (before.payload == b"\x00" * 160) != (after.payload == b"\x00" * 160):
            assert after.marker  # music to agent or back: the source changed


class Level:
    """Prompts of 0.1 s at one sample level, so that what a caller hears tells the set."""

    def __init__(self, level: int) -> None:
        self.level = level

    def samples(self, name: str) -> np.ndarray:
        return np.full(800, self.level, dtype=np.int16)


def levels_heard(plane: MediaPlane, until: float) -> set[int]:
    deadlines = plane.deadlines
    while (due := deadlines.next_deadline()) is not None and due <= until:
        deadlines.run_due(due)
    return {int(level) for port, data, _ in plane.take_datagrams() if port % 2 == 0
            for level in ulaw_decode(parse(data).payload)}  # RTCP from the odd ports left out


def test_prompts_play_from_the_set_of_the_language_asked_for_else_the_planes():
    plane = MediaPlane("127.0.0.1", range(30000, 30004), Deadlines(), Random(1),
                       prompts={"en": Level(1000), "zh": Level(-3000)}, language="zh")
    plane.open(1, 0.0)
    plane.set_caller(1, GATEWAY, 0, None, inband_digits=False)
    heard = {}
    for start, language in enumerate(["en", None, "fr"]):
        plane.play(1, ["welcome"], float(start), language)
        heard[language] = levels_heard(plane, start + 0.5)
    assert {key: {round(v, -2) for v in levels} for key, levels in heard.items()} == {
        "en": {1000}, None: {-3000}, "fr": {-3000}}


def test_one_prompt_set_speaks_every_language():
    plane = MediaPlane("127.0.0.1", range(30000, 30004), Deadlines(), Random(1),
                       prompts=Level(1000))
    assert plane.source_for("zh") is plane.source_for("en") is plane.prompts


class LevelWithGap(Level):
    """`Level`, but one prompt's file is gone."""

    def samples(self, name: str) -> np.ndarray:
        if name == "gone":
            raise PromptError("/prompts/gone.wav: no such prompt")
        return super().samples(name)


def test_a_prompt_that_cannot_be_read_is_reported_and_the_others_play():
    plane = MediaPlane("127.0.0.1", range(30000, 30004), Deadlines(), Random(1),
                       prompts=LevelWithGap(1000))
    plane.open(1, 0.0)
    plane.set_caller(1, GATEWAY, 0, None, inband_digits=False)
    plane.play(1, ["welcome", "gone", "welcome"], 0.0)
    assert plane.take_events() == [
        PromptMissing(1, "gone", "/prompts/gone.wav: no such prompt")]
    deadlines = plane.deadlines
    while (due := deadlines.next_deadline()) is not None and due <= 0.5:
        deadlines.run_due(due)
    heard = [parse(data).payload for port, data, _ in plane.take_datagrams() if port % 2 == 0]
    loud = [payload for payload in heard if round(float(ulaw_decode(payload).mean()), -2) == 1000]
    assert len(loud) == 10  # two prompts of 0.1 s, 20 ms a packet
