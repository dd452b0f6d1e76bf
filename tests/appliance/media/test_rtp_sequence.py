"""Sequence and timestamp arithmetic modulo 2^16 and 2^32."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appliance.media.rtp import SEQ_MOD, seq_diff, ts_diff


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(1, 0, 1), (0, 1, -1), (0, 65535, 1), (65535, 0, -1), (100, 65500, 136),
     (32767, 0, 32767), (32768, 0, -32768), (5, 5, 0)],
)
def test_seq_diff_wraps(a: int, b: int, expected: int) -> None:
    assert seq_diff(a, b) == expected


def test_ts_diff_wraps() -> None:
    assert ts_diff(80, (1 << 32) - 80) == 160
    assert ts_diff((1 << 32) - 80, 80) == -160
    assert ts_diff(1 << 31, 0) == -(1 << 31)


@given(st.integers(0, 0xFFFF), st.integers(-32768, 32767))
def test_seq_diff_inverts_modular_addition(b: int, delta: int) -> None:
    assert seq_diff((b + delta) % SEQ_MOD, b) == delta


@given(st.integers(0, (1 << 32) - 1), st.integers(-(1 << 31), (1 << 31) - 1))
def test_ts_diff_inverts_modular_addition(b: int, delta: int) -> None:
    assert ts_diff((b + delta) % (1 << 32), b) == delta
