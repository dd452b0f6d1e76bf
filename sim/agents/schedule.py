"""Shifts and breaks: when each agent logs in, pauses, comes back and logs out.

Clock times in the configuration are turned into run times (seconds from the
run's start, which is ``traffic.start`` o'clock), day after day for runs longer
than a day. A break or log-out that falls during a call is applied by the ACD
once the call is wrapped up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from appliance.config import Agent

DAY = 86400.0


class PlannedStep(NamedTuple):
    at: float  # run time, seconds
    agent: str
    kind: str  # "login", "logout", "pause", "unpause"
    reason: str


def plan_agent(agent: Agent, run_start_clock: float, run_length: float) -> list[PlannedStep]:
    """The steps of one agent over a run of ``run_length`` seconds, in time order."""
    if agent.shift is None:
        return [PlannedStep(0.0, agent.id, "login", "")]
    steps: list[PlannedStep] = []
    start_clock = float(agent.shift.start)
    end_clock = float(agent.shift.end)
    length = (end_clock - start_clock) % DAY or DAY
    # Shifts that began the day before the run may still be on at its start.
    day = -DAY
    while day < run_length + DAY:
        shift_start = start_clock + day - run_start_clock
        shift_end = shift_start + length
        day += DAY
        if shift_end <= 0 or shift_start >= run_length:
            continue
        steps.append(PlannedStep(max(shift_start, 0.0), agent.id, "login", ""))
        for pause in agent.breaks:
            offset = (float(pause.start) - start_clock) % DAY
            begin = shift_start + offset
            if offset >= length or begin + pause.minutes * 60 <= 0:
                continue  # outside this shift, or over before the run starts
            steps.append(PlannedStep(max(begin, 0.0), agent.id, "pause", pause.reason))
            steps.append(PlannedStep(begin + pause.minutes * 60, agent.id, "unpause", ""))
        if shift_end < run_length:
            steps.append(PlannedStep(shift_end, agent.id, "logout", ""))
    steps.sort(key=lambda s: (s.at, _ORDER[s.kind]))
    return steps


_ORDER = {"login": 0, "pause": 1, "unpause": 2, "logout": 3}
