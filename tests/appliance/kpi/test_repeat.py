"""Repeat callers served by their last agent, read from the event log."""

from __future__ import annotations

from appliance.events import CallAnswered, CallEnded, CallOffered, EndCause, StickyOffered
from appliance.kpi.repeat import RepeatCallers, repeat_callers


def call(t: float, call_id: int, ani: str, agents: list[str], sticky: str = "") -> list:
    records: list = [CallOffered(t, call_id, "pstn", ani, "", 1)]
    if sticky:
        records.append(StickyOffered(t, call_id, "service", sticky, 0.0))
    records += [CallAnswered(t + 1 + i, call_id, "service", a, 1.0) for i, a in enumerate(agents)]
    return [*records, CallEnded(t + 9, call_id, EndCause.CALLER_HANGUP)]


def test_a_repeat_counts_once_against_the_last_answer_of_the_number() -> None:
    records = [
        *call(0, 1, "555", ["a1", "a2"]),  # transferred: a2 served 555 last
        *call(10, 2, "555", ["a2", "a3"], sticky="a2"),  # by the last agent (its first answer)
        *call(20, 3, "555", ["a1"]),  # a3 was last: not by the last agent
        *call(30, 4, "anonymous", ["a1"]),
        *call(40, 5, "anonymous", ["a1"]),  # withheld numbers are nobody's repeats
        *call(50, 6, "777", []),  # unanswered: no memory
        *call(60, 7, "777", ["a1"]),
    ]
    figures = repeat_callers(records)
    assert figures == RepeatCallers(repeats=2, by_last_agent=1, sticky_offers=1)
    assert figures.share == 0.5
    assert repeat_callers([]).share is None
