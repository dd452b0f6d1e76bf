"""Running sums of call figures, turned into ``CallStats`` at the end.

Every figure of ``CallStats`` is a count or a ratio of sums, so a tally per
(interval, queue) is enough: the queue's, the interval's and the center's
figures are sums of tallies.
"""

from __future__ import annotations

from collections.abc import Iterable

from appliance.kpi.report import CallStats, build

_COUNTS = (
    "offered",
    "blocked",
    "no_route",
    "blacklisted",
    "closed",
    "agent_unreachable",
    "answered",
    "abandoned",
    "abandoned_in_queue",
    "short_abandoned",
    "overflowed_out",
    "voicemail",
    "busy",
    "in_system",
    "entered_queue",
    "waited",
    "answered_within_sl",
    "handled",
    "transferred",
    "held",
    "callbacks_requested",
    "callbacks_connected",
    "callback_given_up",
    "callbacks_offered",
    "callbacks_within_sl",
    "transferred_to_queue",
    "transferred_to_agent",
    "transferred_attended",
    "transferred_to_extension",
    "transferred_outside",
    "recalls",
    "parked",
    "picked_up",
)
# Sums behind the means; talked and wrapped count the answers whose talk or
# wrap-up is known.
_SUMS = ("answer_wait", "abandon_wait", "talk", "talked", "hold", "wrap_up", "wrapped")
# Calls that ended in the IVR, counted by outcome so that every outcome has its count; the
# IVR's own figures (``appliance.kpi.ivr``) report them.
_IVR_ENDS = ("ivr_completed", "ivr_hang_up", "ivr_abandoned")


class CallTally:
    """Counts and sums for one group of calls (or queue visits)."""

    __slots__ = _COUNTS + _SUMS + _IVR_ENDS

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def add(self, other: CallTally) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @classmethod
    def total(cls, tallies: Iterable[CallTally]) -> CallTally:
        out = cls()
        for tally in tallies:
            out.add(tally)
        return out

    def stats(self) -> CallStats:
        counts = {name: getattr(self, name) for name in _COUNTS}
        long_abandons = self.abandoned_in_queue - self.short_abandoned
        att = ratio(self.talk, self.talked)
        acw = ratio(self.wrap_up, self.wrapped)
        counts.update(
            blocked_rate=ratio(self.blocked, self.offered),
            answer_rate=ratio(self.answered, self.offered),
            service_level=ratio(self.answered_within_sl, self.entered_queue),
            abandon_rate=ratio(long_abandons, self.entered_queue - self.short_abandoned),
            avg_abandon_time=ratio(self.abandon_wait, long_abandons),
            asa=ratio(self.answer_wait, self.answered),
            att=att,
            avg_hold_time=ratio(self.hold, self.held),
            acw=acw,
            aht=None if att is None or acw is None else att + acw,
            transfer_rate=ratio(self.transferred, self.answered),
            queue_placement_rate=ratio(self.waited, self.offered),
            transfer_rate_queue=ratio(self.transferred_to_queue, self.answered),
            transfer_rate_agent=ratio(self.transferred_to_agent, self.answered),
            transfer_rate_attended=ratio(self.transferred_attended, self.answered),
            transfer_rate_extension=ratio(self.transferred_to_extension, self.answered),
            transfer_rate_outside=ratio(self.transferred_outside, self.answered),
            callback_service_level=ratio(self.callbacks_within_sl, self.callbacks_requested),
        )
        return build(CallStats, counts)


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is zero."""
    return numerator / denominator if denominator else None
