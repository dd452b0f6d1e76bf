"""First-call resolution and repeat callers, from the reduction's calls.

DOMAIN.md: first-call resolution = calls not followed by a repeat call from the same number
within a window / calls. A call counts once it has ended, if its caller's number is known (a
withheld number cannot be followed); it is followed when the next call from that number is
offered before it ends or within ``window`` seconds of its end. Calls near the end of the
records can only be followed by the calls the records hold. Beside it, the repeat callers'
figures of ``appliance.kpi.repeat`` (who served a repeat caller: their last agent or not).
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.pbx.acd.sticky import ANONYMOUS
from appliance.reduce import CallState


@dataclass(frozen=True)
class ResolutionStats:
    calls: int
    """Ended calls from a known caller number."""
    repeated: int
    """Of them, calls followed by another call from the same number within the window."""
    first_call_resolution: float | None
    """(calls - repeated) / calls."""
    repeat_answers: int
    """Answered calls whose caller number an agent had answered before."""
    by_last_agent: int
    """Of them, first answered by the agent who had answered that number last."""


class _Last:
    """A number's latest call: until when it was up (None: still up) and if followed."""

    __slots__ = ("end", "followed")

    def __init__(self) -> None:
        self.end: float | None = None
        self.followed = False


class ResolutionTally:
    def __init__(self, window: float) -> None:
        self.window = window
        self.latest: dict[str, _Last] = {}  # number -> its latest call
        self.last_agent: dict[str, str] = {}  # number -> agent who answered it last
        self.up: dict[int, _Last] = {}  # call -> its entry, while it is up
        self.calls = self.repeated = self.repeat_answers = self.by_last_agent = 0

    def opened(self, call: CallState) -> None:
        ani, t = call.offered.ani, call.offered.t
        if ani.lower() in ANONYMOUS:
            return
        last = self.latest.get(ani)
        if last is not None and not last.followed and (
                last.end is None or t - last.end <= self.window):
            last.followed = True
            self.repeated += 1
        self.latest[ani] = self.up[call.offered.call] = _Last()

    def answered(self, ani: str, agent: str, first: bool) -> None:
        """An answer of a call from ``ani``; ``first``: the call's first."""
        before = self.last_agent.get(ani)
        if first and before is not None:
            self.repeat_answers += 1
            self.by_last_agent += before == agent
        if ani.lower() not in ANONYMOUS:
            self.last_agent[ani] = agent

    def closed(self, call: CallState) -> None:
        last = self.up.pop(call.offered.call, None)
        ended_at = call.ended_at
        if last is None:
            return
        if ended_at is None:  # still up at the end of the records: not judged
            self.repeated -= last.followed
            return
        last.end = ended_at
        self.calls += 1

    def stats(self) -> ResolutionStats | None:
        if not self.calls:
            return None
        fcr = (self.calls - self.repeated) / self.calls
        return ResolutionStats(self.calls, self.repeated, fcr, self.repeat_answers,
                               self.by_last_agent)
