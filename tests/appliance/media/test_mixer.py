"""The mixer: each listener hears the parties it is given, never itself, clipped, in its law."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from appliance.media.g711 import alaw_decode, ulaw_decode, ulaw_encode
from appliance.media.mixer import FRAME_SAMPLES, MAX_QUEUED, Mixer, decode, mix_frames


def tone(frequency: float, amplitude: int = 4000) -> np.ndarray:
    t = np.arange(FRAME_SAMPLES)
    return (np.sin(2 * np.pi * frequency * t / 8000) * amplitude).astype(np.int16)


def flat(value: int) -> np.ndarray:
    return np.full(FRAME_SAMPLES, value, dtype=np.int16)


def everyone(parties):
    return {p: [q for q in parties if q != p] for p in parties}


def test_each_hears_the_others_and_not_itself():
    frames = {"a": flat(100), "b": flat(1000), "c": flat(10_000)}
    mixed = mix_frames(frames, everyone("abc"))
    assert mixed["a"][0] == 11_000
    assert mixed["b"][0] == 10_100
    assert mixed["c"][0] == 1_100


def test_a_listener_given_itself_still_does_not_hear_itself():
    assert mix_frames({"a": flat(500)}, {"a": ["a"]})["a"][0] == 0


def test_sums_are_clipped_not_wrapped():
    frames = {"a": flat(30_000), "b": flat(30_000), "c": flat(-30_000), "d": flat(-30_000)}
    assert mix_frames(frames, {"x": ["a", "b"]})["x"][0] == 32_767
    assert mix_frames(frames, {"x": ["c", "d"]})["x"][0] == -32_768


def test_an_absent_party_is_silence():
    mixed = mix_frames({"a": flat(700)}, {"b": ["a", "c"], "c": ["b"]})
    assert mixed["b"][0] == 700
    assert not mixed["c"].any()


@given(st.lists(st.integers(-32768, 32767), min_size=1, max_size=6))
def test_a_mix_is_the_clipped_sum(values):
    frames = {index: flat(value) for index, value in enumerate(values)}
    mixed = mix_frames(frames, {"x": list(frames)})
    assert mixed["x"][0] == max(-32768, min(32767, sum(values)))


def test_decode_pads_short_payloads_and_ignores_other_payloads():
    assert len(decode(0, bytes(80))) == FRAME_SAMPLES
    assert decode(101, b"\x01\x00\x00\xa0") is None
    assert decode(13, b"\x40") is None


def test_the_mixer_encodes_in_each_listeners_law():
    mixer = Mixer()
    mixer.arrange({"u": 0, "a": 8}, everyone("ua"))
    mixer.heard("u", 0, ulaw_encode(flat(2000)))
    mixer.heard("a", 8, bytes([0xD5]) * FRAME_SAMPLES)
    out = mixer.tick()
    assert abs(int(alaw_decode(out["a"])[0]) - 2000) < 64  # the u-law party, heard in A-law
    assert abs(int(ulaw_decode(out["u"])[0])) < 16  # A-law 0xD5 is near silence


def test_each_tick_uses_one_frame_and_silence_follows():
    mixer = Mixer()
    mixer.arrange({"a": 0, "b": 0}, everyone("ab"))
    mixer.heard("a", 0, ulaw_encode(flat(1000)))
    assert abs(int(ulaw_decode(mixer.tick()["b"])[0]) - 1000) < 40
    assert not ulaw_decode(mixer.tick()["b"]).any()  # nothing came: silence, not a stall


def test_a_party_ahead_of_the_tick_keeps_its_newest_frames():
    mixer = Mixer()
    mixer.arrange({"a": 0, "b": 0}, everyone("ab"))
    for value in range(1, MAX_QUEUED + 3):
        mixer.heard("a", 0, ulaw_encode(flat(value * 1000)))
    first = int(ulaw_decode(mixer.tick()["b"])[0])
    assert abs(first - 3000) < 100  # the two oldest were dropped


def test_muted_parties_neither_hear_nor_are_heard():
    mixer = Mixer()
    mixer.arrange({"a": 0, "b": 0, "c": 0}, everyone("abc"))
    for party in "abc":
        mixer.heard(party, 0, ulaw_encode(flat(1000)))
    out = mixer.tick(muted=["a"])
    assert "a" not in out
    assert abs(int(ulaw_decode(out["b"])[0]) - 1000) < 40


def test_a_listener_who_hears_nobody_gets_nothing_and_strangers_are_ignored():
    mixer = Mixer()
    mixer.arrange({"a": 0, "s": 0}, {"a": [], "s": ["a"]})
    mixer.heard("stranger", 0, ulaw_encode(tone(440)))
    assert set(mixer.tick()) == {"s"}
