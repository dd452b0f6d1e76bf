"""Running sums of agent figures, turned into ``AgentStats`` at the end."""

from __future__ import annotations

from collections.abc import Iterable

from appliance.events import AgentState
from appliance.kpi.calls import ratio
from appliance.kpi.report import AgentStats, build

LOGGED_OUT = AgentState.LOGGED_OUT
NOT_READY = AgentState.NOT_READY
_STATES = tuple(AgentState)  # iterating the enum itself runs a generator every time


class AgentTally:
    """State times and call counts of one agent, or of many added together."""

    __slots__ = ("calls_handled", "not_ready", "ring_no_answer", "times")

    def __init__(self) -> None:
        self.times: dict[AgentState, float] = dict.fromkeys(_STATES, 0.0)
        self.not_ready: dict[str, float] = {}
        self.calls_handled = 0
        self.ring_no_answer = 0

    def add_time(self, state: AgentState, reason: str, seconds: float) -> None:
        self.times[state] += seconds
        if state is NOT_READY:
            self.not_ready[reason] = self.not_ready.get(reason, 0.0) + seconds

    def add(self, other: AgentTally) -> None:
        for state, seconds in other.times.items():
            self.times[state] += seconds
        for reason, seconds in other.not_ready.items():
            self.not_ready[reason] = self.not_ready.get(reason, 0.0) + seconds
        self.calls_handled += other.calls_handled
        self.ring_no_answer += other.ring_no_answer

    @classmethod
    def total(cls, tallies: Iterable[AgentTally]) -> AgentTally:
        out = cls()
        for tally in tallies:
            out.add(tally)
        return out

    def logged_in_time(self) -> float:
        return sum(seconds for state, seconds in self.times.items() if state is not LOGGED_OUT)

    def stats(self) -> AgentStats:
        times = self.times
        talk = times[AgentState.TALKING]
        hold = times[AgentState.HELD]
        wrap_up = times[AgentState.WRAP_UP]
        available = talk + hold + wrap_up + times[AgentState.READY] + times[AgentState.RINGING]
        logged_in = self.logged_in_time()
        return build(
            AgentStats,
            dict(
                logged_in_time=logged_in,
                ready_time=times[AgentState.READY],
                ringing_time=times[AgentState.RINGING],
                talk_time=talk,
                hold_time=hold,
                wrap_up_time=wrap_up,
                not_ready_time=times[NOT_READY],
                not_ready_by_reason=dict(sorted(self.not_ready.items())),
                calls_handled=self.calls_handled,
                ring_no_answer=self.ring_no_answer,
                occupancy=ratio(talk + hold + wrap_up, available),
                occupancy_talk_only=ratio(talk + hold, available),
                calls_per_hour=ratio(self.calls_handled * 3600.0, logged_in),
            ),
        )
