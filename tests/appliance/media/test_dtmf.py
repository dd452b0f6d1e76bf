"""DTMF: RFC 4733 payloads and receiver, and in-band detection with the Goertzel filter."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.media.dtmf import (
    COLUMN_FREQUENCIES,
    DIGITS,
    KEYPAD,
    ROW_FREQUENCIES,
    DtmfError,
    GoertzelDetector,
    Rfc4733Receiver,
    TelephoneEvent,
    event_code,
    telephone_event_packets,
)
from appliance.media.g711 import ulaw_decode, ulaw_encode
from tests.talk import amplitude, pcm, real_sounds, speech_like, speech_shaped_noise

RATE = 8000

# ---- RFC 4733 payload -------------------------------------------------------------------------


def test_payload_layout_matches_rfc_4733() -> None:
    # Event 5, E bit, volume 10, duration 800 (RFC 4733 2.3): 05 8a 03 20.
    event = TelephoneEvent(event=5, end=True, volume=10, duration=800)
    assert bytes(event) == bytes.fromhex("058a0320")
    assert TelephoneEvent.parse(bytes.fromhex("058a0320")) == event
    assert TelephoneEvent.parse(bytes.fromhex("0b0000a0")) == TelephoneEvent(11, False, 0, 160)


def test_the_reserved_bit_is_ignored_and_extra_bytes_too() -> None:
    assert TelephoneEvent.parse(bytes.fromhex("03ca0140ffff")) == TelephoneEvent(3, True, 10, 320)


@pytest.mark.parametrize("digit", list(DIGITS))
def test_events_0_to_15_are_the_sixteen_digits(digit: str) -> None:
    assert TelephoneEvent(event_code(digit)).digit == digit
    assert event_code(digit.lower()) == event_code(digit)


def test_other_events_have_no_digit() -> None:
    assert TelephoneEvent(16).digit is None  # flash
    with pytest.raises(DtmfError):
        event_code("E")


@pytest.mark.parametrize(
    "kwargs", [{"event": 256}, {"event": 1, "volume": 64}, {"event": 1, "duration": 65_536}],
)
def test_out_of_range_fields_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(DtmfError):
        TelephoneEvent(**kwargs)


def test_short_payload_is_refused() -> None:
    with pytest.raises(DtmfError):
        TelephoneEvent.parse(b"\x01\x02\x03")


@given(st.integers(0, 255), st.booleans(), st.integers(0, 63), st.integers(0, 65_535))
def test_payload_round_trips(event: int, end: bool, volume: int, duration: int) -> None:
    payload = TelephoneEvent(event, end, volume, duration)
    assert TelephoneEvent.parse(bytes(payload)) == payload


# ---- RFC 4733 sender and receiver -------------------------------------------------------------


def test_a_press_is_a_marked_start_updates_and_three_ends() -> None:
    packets = telephone_event_packets("7", 800)
    assert [p.payload.duration for p in packets] == [160, 320, 480, 640, 800, 800, 800]
    assert [p.marker for p in packets] == [True] + [False] * 6
    assert [p.payload.end for p in packets] == [False] * 4 + [True] * 3
    assert {p.timestamp_offset for p in packets} == {0}


def test_a_long_press_is_split_into_segments() -> None:
    packets = telephone_event_packets("1", 70_000, step=1_000)
    offsets = sorted({p.timestamp_offset for p in packets})
    assert offsets == [0, 65_535]
    assert all(p.payload.duration <= 65_535 for p in packets)
    assert packets[-1].payload.end and packets[-1].payload.duration == 70_000 - 65_535


def wire(presses: list[tuple[str, int]], *, gap: int = 800, first_ts: int = 1_000):
    """(timestamp, marker, payload, now) for presses in order, `gap` units apart."""
    out = []
    start = first_ts
    for digit, duration in presses:
        for packet in telephone_event_packets(digit, duration):
            now = (start + packet.send_offset) / RATE
            ts = (start + packet.timestamp_offset) % (1 << 32)
            out.append((ts, packet.marker, bytes(packet.payload), now))
        start += duration + gap
    return out


def receive(receiver: Rfc4733Receiver, packets) -> list[str]:
    digits = []
    for ts, marker, payload, now in packets:
        digits += receiver.feed(ts, marker, payload, now)
    return digits


def test_each_press_gives_one_digit() -> None:
    presses = [(d, 640) for d in "0123456789*#ABCD"] + [("5", 480), ("5", 480)]
    assert receive(Rfc4733Receiver(), wire(presses)) == [d for d, _ in presses]


def test_the_digit_comes_with_the_first_packet() -> None:
    receiver = Rfc4733Receiver()
    first, *rest = wire([("9", 800)])
    assert receiver.feed(*first) == ["9"]
    assert receive(receiver, rest) == []


def test_a_lost_start_still_gives_the_digit_once() -> None:
    packets = wire([("3", 800)])
    assert receive(Rfc4733Receiver(), packets[2:]) == ["3"]
    assert receive(Rfc4733Receiver(), packets[-1:]) == ["3"]


def test_a_long_press_across_segments_is_one_digit() -> None:
    packets = []
    for p in telephone_event_packets("#", 140_000, step=1_000):
        now = p.send_offset / RATE
        packets.append((5_000 + p.timestamp_offset, p.marker, bytes(p.payload), now))
    assert receive(Rfc4733Receiver(), packets) == ["#"]


def test_timestamps_wrap() -> None:
    packets = wire([("1", 640), ("2", 640)], first_ts=(1 << 32) - 900)
    assert receive(Rfc4733Receiver(), packets) == ["1", "2"]


def test_non_digit_events_are_ignored() -> None:
    flash = bytes(TelephoneEvent(16, end=True, duration=800))
    assert Rfc4733Receiver().feed(10, True, flash, 0.0) == []


def test_forgotten_events_are_bounded_in_time() -> None:
    receiver = Rfc4733Receiver(remember=5.0)
    end = bytes(TelephoneEvent(4, end=True, duration=800))
    assert receiver.feed(100, True, end, 0.0) == ["4"]
    assert receiver.feed(100, False, end, 4.0) == []
    # Ten seconds later a packet with that timestamp can only be a new event.
    assert receiver.feed(100, True, end, 20.0) == ["4"]


@given(
    st.lists(st.sampled_from(DIGITS), min_size=1, max_size=12),
    st.randoms(use_true_random=False),
)
def test_duplicates_and_reordering_within_a_press_never_change_the_digits(
    digits: list[str], rng: random.Random,
) -> None:
    sent = []
    for ts, marker, payload, now in wire([(d, 800) for d in digits]):
        # Every packet may be duplicated (retransmitted starts, network duplicates) ...
        sent += [(ts, marker, payload, now)] * rng.randint(1, 3)
    # ... and packets of one press may swap places with their neighbours.
    for i in range(len(sent) - 1):
        if sent[i][0] == sent[i + 1][0] and rng.random() < 0.3:
            sent[i], sent[i + 1] = sent[i + 1], sent[i]
    assert receive(Rfc4733Receiver(), sent) == digits


# ---- in-band detection --------------------------------------------------------------------------


def frequencies(digit: str) -> tuple[float, float]:
    for r, keys in enumerate(KEYPAD):
        if digit in keys:
            return ROW_FREQUENCIES[r], COLUMN_FREQUENCIES[keys.index(digit)]
    raise AssertionError(digit)


def tone(
    digit: str, ms: float, *, level: float = -10.0, twist: float = 0.0,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """A DTMF burst as float samples; `twist` dB is how much louder the row tone is."""
    low, high = frequencies(digit)
    n = int(RATE * ms / 1000)
    t = np.arange(n) / RATE
    phase = rng.uniform(0, 2 * np.pi, 2) if rng is not None else (0.0, 0.0)
    row = amplitude(level + twist / 2) * np.sin(2 * np.pi * low * t + phase[0])
    column = amplitude(level - twist / 2) * np.sin(2 * np.pi * high * t + phase[1])
    return row + column


def silence(ms: float) -> np.ndarray:
    return np.zeros(int(RATE * ms / 1000))


def detect(samples: np.ndarray, chunk: int = 160) -> list[str]:
    detector = GoertzelDetector()
    digits = []
    for i in range(0, len(samples), chunk):
        digits += detector.feed(samples[i:i + chunk])
    return digits


@pytest.mark.parametrize("digit", list(DIGITS))
@pytest.mark.parametrize("level", [-25.0, -10.0, -3.0])
def test_every_digit_is_detected_once_at_every_level(digit: str, level: float) -> None:
    rng = np.random.default_rng(event_code(digit))
    signal = np.concatenate([silence(30), tone(digit, 80, level=level, rng=rng), silence(60)])
    noise = rng.normal(0, amplitude(level - 20), len(signal))  # 20 dB below the tones
    assert detect(pcm(signal + noise)) == [digit]


@pytest.mark.parametrize("digit", list(DIGITS))
@pytest.mark.parametrize("twist", [-3.5, 0.0, 7.5])
def test_twist_within_limits_is_accepted(digit: str, twist: float) -> None:
    signal = np.concatenate([silence(20), tone(digit, 60, twist=twist), silence(60)])
    assert detect(pcm(signal)) == [digit]


@pytest.mark.parametrize("digit", list(DIGITS))
@pytest.mark.parametrize("twist", [-6.0, 11.0])
def test_twist_outside_limits_is_refused(digit: str, twist: float) -> None:
    signal = np.concatenate([silence(20), tone(digit, 200, twist=twist), silence(60)])
    assert detect(pcm(signal)) == []


def off_frequency(digit: str, deviation: float, ms: float = 100) -> np.ndarray:
    low, high = frequencies(digit)
    t = np.arange(int(RATE * ms / 1000)) / RATE
    scale = 2 * np.pi * (1 + deviation) * t
    both = np.sin(low * scale) + np.sin(high * scale)
    return np.concatenate([amplitude(-10) * both, silence(60)])


@pytest.mark.parametrize("digit", list(DIGITS))
@pytest.mark.parametrize("deviation", [-0.015, 0.015])
def test_q24_frequency_tolerance_is_accepted(digit: str, deviation: float) -> None:
    assert detect(pcm(off_frequency(digit, deviation))) == [digit]


@pytest.mark.parametrize("digit", list(DIGITS))
@pytest.mark.parametrize("deviation", [-0.035, 0.035])
def test_tones_far_off_frequency_are_refused(digit: str, deviation: float) -> None:
    assert detect(pcm(off_frequency(digit, deviation))) == []


def test_slow_amplitude_variation_within_a_tone_is_one_digit() -> None:
    t = np.arange(int(RATE * 0.3)) / RATE
    wobble = 1 + 0.5 * np.sin(2 * np.pi * 4 * t)  # +-6 dB at 4 Hz
    assert detect(pcm(tone("8", 300) * wobble)) == ["8"]


def test_the_detector_does_not_care_how_audio_is_chunked() -> None:
    signal = pcm(np.concatenate([tone(d, 50) if i % 2 == 0 else silence(50)
                                 for i, d in enumerate("1a2b3c4d".upper())]))
    expected = detect(signal, chunk=len(signal))
    assert expected == ["1", "2", "3", "4"]
    for chunk in (1, 37, 160, 205, 1000):
        assert detect(signal, chunk=chunk) == expected


def sixteen_digit_sequence(rng: np.random.Generator, on_ms: float = 40, off_ms: float = 40):
    digits = "".join(DIGITS[i] for i in rng.permutation(16))
    parts = [silence(25)]
    for digit in digits:
        level = rng.uniform(-20, -5)
        parts += [tone(digit, on_ms, level=level, twist=rng.uniform(-3, 6), rng=rng),
                  silence(off_ms)]
    signal = np.concatenate(parts)
    return list(digits), signal + rng.normal(0, amplitude(-45), len(signal))


@pytest.mark.parametrize("seed", range(6))
def test_forty_ms_tones_with_forty_ms_pauses_give_the_exact_sequence(seed: int) -> None:
    digits, signal = sixteen_digit_sequence(np.random.default_rng(seed))
    assert detect(pcm(signal)) == digits


@pytest.mark.parametrize("seed", range(6))
def test_the_sequence_survives_ulaw(seed: int) -> None:
    digits, signal = sixteen_digit_sequence(np.random.default_rng(100 + seed))
    through_g711 = ulaw_decode(ulaw_encode(pcm(signal)))
    assert detect(through_g711) == digits


def test_repeated_digit_needs_a_pause_between() -> None:
    pressed_twice = np.concatenate([tone("5", 60), silence(50), tone("5", 60), silence(50)])
    assert detect(pcm(pressed_twice)) == ["5", "5"]
    held = np.concatenate([tone("5", 400), silence(50)])
    assert detect(pcm(held)) == ["5"]


def test_too_short_a_burst_is_not_a_digit() -> None:
    assert detect(pcm(np.concatenate([silence(20), tone("6", 20), silence(60)]))) == []


@pytest.mark.parametrize(
    "freqs",
    [(f,) for f in ROW_FREQUENCIES + COLUMN_FREQUENCIES]
    + [(1000.0,), (350.0, 440.0), (480.0, 620.0), (440.0, 480.0), (697.0, 770.0),
       (1209.0, 1477.0)],
)
def test_single_tones_and_call_progress_tones_are_not_digits(freqs: tuple[float, ...]) -> None:
    t = np.arange(RATE) / RATE
    signal = sum(amplitude(-10) * np.sin(2 * np.pi * f * t) for f in freqs)
    assert detect(pcm(signal)) == []


@pytest.mark.parametrize("seed", range(8))
def test_speech_like_audio_and_noise_are_not_digits(seed: int) -> None:
    rng = np.random.default_rng(seed)
    assert detect(pcm(speech_like(rng, 10))) == []
    assert detect(pcm(speech_shaped_noise(rng, 5))) == []
    assert detect(pcm(rng.normal(0, amplitude(-15), 5 * RATE))) == []
    # Brown-ish noise: most of its energy low, where the row tones are.
    brown = np.cumsum(rng.normal(0, 1, 5 * RATE))
    brown -= np.convolve(brown, np.ones(400) / 400, mode="same")
    assert detect(pcm(brown / np.abs(brown).max() * amplitude(-6))) == []


def test_quiet_tones_below_the_threshold_are_ignored() -> None:
    assert detect(pcm(np.concatenate([tone("2", 200, level=-45), silence(50)]))) == []


def test_feed_takes_integer_arrays_only() -> None:
    with pytest.raises(TypeError):
        GoertzelDetector().feed(np.zeros(300))


def test_reset_forgets_a_tone_in_progress() -> None:
    detector = GoertzelDetector()
    assert detector.feed(pcm(tone("0", 200))) == ["0"]
    detector.reset()
    assert detector.feed(pcm(tone("0", 200))) == ["0"]


def test_sip_info_digits_in_the_formats_phones_send() -> None:
    from appliance.media.dtmf import info_digit

    assert info_digit("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n") == "5"
    assert info_digit("application/dtmf-relay", b"Signal= #\r\nDuration= 100") == "#"
    assert info_digit("application/dtmf-relay; charset=x", b"Signal=10\r\n") == "*"
    assert info_digit("Application/DTMF", b"11") == "#"
    assert info_digit("application/dtmf", b"a") == "A"
    assert info_digit("application/dtmf-relay", b"Duration=160") is None
    assert info_digit("application/dtmf", b"12") is None
    assert info_digit("application/sdp", b"v=0") is None


@pytest.mark.slow
def test_no_talk_off_on_real_speech_and_music_and_digits_after_speech_are_heard() -> None:
    # The default prompt sets (espeak-ng voices, English and Mandarin) and the music on hold:
    # about 100 s of speech and music through u-law, as a caller's line would carry it.
    sounds = real_sounds()
    speech = np.concatenate(sounds)
    assert len(speech) > 90 * 8000
    line = ulaw_decode(ulaw_encode(speech))
    assert detect(line) == []
    # A key pressed right after someone spoke is still one digit.
    pause = np.zeros(400, dtype=np.int16)
    key = ulaw_decode(ulaw_encode(pcm(tone("7", 60))))
    assert detect(np.concatenate([line[-8000:], pause, key, pause])) == ["7"]
