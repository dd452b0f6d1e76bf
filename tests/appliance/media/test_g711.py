"""G.711 u-law and A-law against the standard's tables and its quantisation bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from appliance.media.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

ALL_CODES = bytes(range(256))
ALL_SAMPLES = np.arange(-32_768, 32_768, dtype=np.int16)


@pytest.mark.parametrize(
    ("code", "value"),
    [
        (0xFF, 0), (0x7F, 0), (0x00, -32_124), (0x80, 32_124),
        (0xFE, 8), (0x7E, -8), (0xF0, 120), (0xEF, 132), (0x8F, 16_764), (0x70, -120),
    ],
)
def test_ulaw_decodes_the_g711_table(code: int, value: int) -> None:
    assert ulaw_decode(bytes([code]))[0] == value


@pytest.mark.parametrize(
    ("code", "value"),
    [
        (0xD5, 8), (0x55, -8), (0xD4, 24), (0xAA, 32_256), (0x2A, -32_256),
        (0xC5, 264), (0xC0, 344), (0xF5, 528), (0x75, -528),
    ],
)
def test_alaw_decodes_the_g711_table(code: int, value: int) -> None:
    assert alaw_decode(bytes([code]))[0] == value


@pytest.mark.parametrize(
    ("sample", "ulaw", "alaw"),
    [(0, 0xFF, 0xD5), (-1, 0x7F, 0x55), (32_767, 0x80, 0xAA), (-32_768, 0x00, 0x2A)],
)
def test_encodes_the_extremes(sample: int, ulaw: int, alaw: int) -> None:
    # u-law gives -1 its own code (0x7F, "negative zero"); its decoded value is 0 all the same.
    samples = np.array([sample], dtype=np.int16)
    assert ulaw_encode(samples) == bytes([ulaw])
    assert alaw_encode(samples) == bytes([alaw])


def test_decode_returns_int16_one_sample_per_byte() -> None:
    for decode in (ulaw_decode, alaw_decode):
        decoded = decode(ALL_CODES)
        assert decoded.dtype == np.int16 and decoded.shape == (256,)


def test_ulaw_every_code_but_negative_zero_survives_decode_then_encode() -> None:
    back = ulaw_encode(ulaw_decode(ALL_CODES))
    changed = [code for code in range(256) if back[code] != code]
    assert changed == [0x7F]
    assert back[0x7F] == 0xFF


def test_alaw_every_code_survives_decode_then_encode() -> None:
    assert alaw_encode(alaw_decode(ALL_CODES)) == ALL_CODES


def test_ulaw_decoded_values_are_distinct_but_for_the_two_zeros() -> None:
    values = ulaw_decode(ALL_CODES)
    assert len(set(values.tolist())) == 255
    assert len(set(alaw_decode(ALL_CODES).tolist())) == 256


def test_both_laws_are_odd_symmetric_and_monotonic() -> None:
    mirrored = bytes(code ^ 0x80 for code in range(256))  # the sign bit
    for encode, decode in ((ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)):
        assert np.array_equal(decode(mirrored), -decode(ALL_CODES))
        assert np.all(np.diff(decode(encode(ALL_SAMPLES)).astype(np.int32)) >= 0)


def test_ulaw_encode_then_decode_is_within_half_a_step() -> None:
    x = ALL_SAMPLES.astype(np.int32)
    error = np.abs(ulaw_decode(ulaw_encode(ALL_SAMPLES)).astype(np.int32) - x)
    # Segment e spans (|x| + 132) in [128 << e, 256 << e) with steps of 8 << e.
    half_step = (np.minimum(np.abs(x), 32_635) + 132) / 32
    clipping = np.maximum(np.abs(x) - 32_124, 0)
    assert np.all(error <= np.maximum(half_step, clipping))
    assert error.max() == 32_768 - 32_124


def test_alaw_encode_then_decode_is_within_half_a_step() -> None:
    x = ALL_SAMPLES.astype(np.int32)
    error = np.abs(alaw_decode(alaw_encode(ALL_SAMPLES)).astype(np.int32) - x)
    # Segments 0 and 1 step by 16; segment s >= 1 spans [256 << (s-1), 512 << (s-1)).
    half_step = np.maximum(8, (np.abs(x) + 16) / 32)
    assert np.all(error <= half_step)
    assert error.max() <= 512


def test_a_full_scale_sine_keeps_the_g711_signal_to_noise_ratio() -> None:
    t = np.arange(8000) / 8000
    tone = np.round(20_000 * np.sin(2 * np.pi * 1004 * t)).astype(np.int16)
    for encode, decode in ((ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)):
        noise = decode(encode(tone)).astype(np.float64) - tone
        snr = 10 * np.log10(np.sum(tone.astype(np.float64) ** 2) / np.sum(noise**2))
        assert snr > 35  # G.711's nominal is about 38 dB for a loud sine


@given(arrays(np.int16, st.integers(0, 400)))
def test_encoding_is_elementwise(samples: np.ndarray) -> None:
    for encode, decode in ((ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)):
        whole = encode(samples)
        assert len(whole) == len(samples)
        assert whole == b"".join(encode(samples[i:i + 1]) for i in range(len(samples)))
        assert np.array_equal(decode(whole), decode(encode(decode(whole))))


def test_encode_rejects_other_dtypes() -> None:
    with pytest.raises(TypeError):
        ulaw_encode(np.zeros(4, dtype=np.int32))
    with pytest.raises(TypeError):
        alaw_encode(np.zeros(4, dtype=np.float64))
