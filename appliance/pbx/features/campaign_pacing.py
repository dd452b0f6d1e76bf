"""Pacing of the campaigns whose answered calls go to one queue: they share its free agents.

Each campaign's dialer paces for itself (rate, hours, retries); without sharing, two
campaigns on one queue would each dial as if every free agent were theirs. Here a call
ringing takes ``1 / ratio`` of a free agent (its own campaign's ratio), so that, across the
campaigns, ``sum(ringing / ratio) <= free_agents`` whenever `dial_shared` places a call:
with one ratio ``r`` for all, calls ringing never exceed ``floor(free_agents * r)``.

The room is handed out in turn, one call at a time, to the campaign with the least in use
per unit of its ``weight`` (ties: the order given): campaigns with numbers due share the
free agents by weight, and one with nothing to dial leaves its share to the others.
Clock-free, like the dialer (`tests/appliance/pbx/features/test_campaign_pacing.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance.pbx.features.campaign import Attempt, Dialer

# Room is a sum of fractions of agents: a call that exactly fills it must still fit.
_EPSILON = 1e-9


def dial_shared(dialers: Sequence[Dialer], free_agents: int,
                now: float) -> list[tuple[Dialer, Attempt]]:
    """The calls to place now, each with its campaign, the `dialers` sharing `free_agents`
    (see the module's docstring). Each call is logged by its dialer (`CampaignDialed`)."""
    room = free_agents - sum(dialer.in_use() for dialer in dialers)
    for dialer in dialers:
        dialer.asked(now)
    wanting = list(dialers)
    placed: list[tuple[Dialer, Attempt]] = []
    while wanting:
        dialer = min(wanting, key=lambda d: (_share(d), dialers.index(d)))
        need = 1.0 / dialer.settings.ratio
        attempt = dialer.place_next(now) if need <= room + _EPSILON else None
        if attempt is None:
            wanting.remove(dialer)
            continue
        placed.append((dialer, attempt))
        room -= need
    return placed


def _share(dialer: Dialer) -> float:
    """Free agents `dialer` takes per unit of its weight."""
    return dialer.in_use() / dialer.settings.weight
