"""Call-progress tones the live driver listens for on analog lines (busy, reorder) and the ring
cadence the carrier sends, per national tone plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from .kinds import Cadence


@dataclass(frozen=True, slots=True)
class Tone:
    """A tone of `frequency` Hz switched by `cadence`."""

    frequency: float
    cadence: Cadence


@dataclass(frozen=True, slots=True)
class TonePlan:
    busy: Tone
    reorder: Tone  # congestion: the network, not the callee, is busy
    ring: Cadence


TONE_PLANS = {
    # YD/T 1244 as Chinese exchanges play it: busy 450 Hz 0.35 s on / 0.35 s off,
    # congestion 450 Hz 0.7 / 0.7, ringing 1 s on / 4 s off.
    "china": TonePlan(busy=Tone(450.0, Cadence(0.35, 0.35)),
                      reorder=Tone(450.0, Cadence(0.7, 0.7)), ring=Cadence(1.0, 4.0)),
    # ITU-T E.180 as most of Europe plays it: 425 Hz, busy 0.5 / 0.5, congestion 0.25 / 0.25.
    "e180": TonePlan(busy=Tone(425.0, Cadence(0.5, 0.5)),
                     reorder=Tone(425.0, Cadence(0.25, 0.25)), ring=Cadence(1.0, 4.0)),
}
"""Tone plans a gateway profile may name."""
