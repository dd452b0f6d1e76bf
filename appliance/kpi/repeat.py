"""Repeat callers: how many were served again by the agent who served them last.

The figure behind a queue's `sticky` (sticky agent): computed from the event log alone,
so the box's log and a simulation's read the same way, with sticky set or not (the
share a site without it gets by chance is the baseline to compare with).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from appliance.events import CallAnswered, CallEnded, CallOffered, Record, StickyOffered
from appliance.pbx.acd.sticky import ANONYMOUS


class RepeatCallers(NamedTuple):
    """``repeats``: answered calls whose caller number an agent had answered before (a
    withheld number never counts); ``by_last_agent``: those whose first answer came from
    the agent who answered that number last; ``sticky_offers``: calls offered first to
    such an agent (``StickyOffered``)."""

    repeats: int
    by_last_agent: int
    sticky_offers: int

    @property
    def share(self) -> float | None:
        """The share of repeats served by their last agent; None without repeats."""
        return self.by_last_agent / self.repeats if self.repeats else None


def repeat_callers(records: Iterable[Record]) -> RepeatCallers:
    """The figures of a log's records, read in order. "Last" is the last answer of the
    number, a transfer's included, as the ACD's own memory has it."""
    ani: dict[int, str] = {}  # call -> caller number, while the call is up
    answered: set[int] = set()  # calls up that have had their first answer
    last: dict[str, str] = {}  # caller number -> agent who answered it last
    repeats = by_last = offers = 0
    for r in records:
        if isinstance(r, CallOffered):
            if r.ani.lower() not in ANONYMOUS:
                ani[r.call] = r.ani
        elif isinstance(r, StickyOffered):
            offers += 1
        elif isinstance(r, CallAnswered) and r.call in ani:
            before = last.get(ani[r.call])
            if before is not None and r.call not in answered:
                repeats += 1
                by_last += before == r.agent
            answered.add(r.call)
            last[ani[r.call]] = r.agent
        elif isinstance(r, CallEnded):
            ani.pop(r.call, None)
            answered.discard(r.call)
    return RepeatCallers(repeats, by_last, offers)
