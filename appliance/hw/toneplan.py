"""The tones a gateway's analog lines carry, per national tone plan: the busy and reorder
(congestion) tones the live driver listens for - cadences of the detector's registry
(`tones.CADENCES`) - and the ring cadence the carrier sends."""

from __future__ import annotations

from dataclasses import dataclass

from .kinds import RingCadence
from .tones import Cadence, cadence


@dataclass(frozen=True, slots=True)
class TonePlan:
    busy: Cadence
    reorder: Cadence  # congestion: the network, not the callee, is busy
    ring: RingCadence


TONE_PLANS = {
    # China's exchanges: busy 450 Hz 0.35 s on / 0.35 s off, congestion 0.7 / 0.7, ringing
    # 1 s on / 4 s off.
    "china": TonePlan(cadence("cn-busy"), cadence("cn-congestion"), RingCadence(1.0, 4.0)),
    # ITU-T E.180 as most of Europe plays it: 425 Hz, busy 0.5 / 0.5, congestion 0.25 / 0.25.
    "e180": TonePlan(cadence("eu-busy"), cadence("eu-congestion"), RingCadence(1.0, 4.0)),
}
"""Tone plans a gateway profile may name."""
