"""Hypothesis strategies for PLAY NUMBER's tests: numbers rich in zeros, where the rules of
each language's grammar (零, "and", scale words left out) are at work."""

from __future__ import annotations

from hypothesis import strategies as st

from appliance.media.speech import LARGEST

_ZERO_RICH = st.lists(st.sampled_from("000012579"), min_size=1, max_size=12).map(
    lambda digits: int("".join(digits)))

integers = st.one_of(st.integers(0, LARGEST), _ZERO_RICH, st.integers(0, 10**5))
"""0 .. LARGEST: anywhere in range, with many zeros, and small."""

cents = st.integers(0, 99)
