"""Simulated agents who miss rings, under each queue pause policy."""

from __future__ import annotations

from typing import Any

from appliance.events import AgentState, AgentStateChanged, RingNoAnswer
from sim.world import RunSpec, World
from tests.factories import build_site


def run(queue: dict[str, Any]) -> list:
    site = build_site(
        agents=4,
        trunks=10,
        ring_timeout=10,
        queue=queue,
        traffic={
            "calls_per_hour": 120,
            "call_types": [{"name": "general", "trunk_group": "pstn",
                            "talk_time": {"dist": "exponential", "mean": 90}}],
        },
        behaviour={"no_answer_probability": 0.3},
    )
    return World(site, RunSpec(hours=2, seed=5)).run().records


def pauses(records: list) -> list[AgentStateChanged]:
    return [r for r in records if isinstance(r, AgentStateChanged)
            and r.state is AgentState.NOT_READY and r.reason == "no_answer"]


def test_missed_rings_pause_agents_by_default() -> None:
    records = run({})
    assert any(isinstance(r, RingNoAnswer) for r in records)
    assert pauses(records)


def test_a_queue_that_never_pauses_keeps_agents_who_miss_rings_available() -> None:
    records = run({"autopause": "no"})
    assert any(isinstance(r, RingNoAnswer) for r in records)
    assert pauses(records) == []


def test_an_automatic_pause_ends_after_autopause_ready_after() -> None:
    records = run({"autopause_ready_after": 20})
    paused = pauses(records)
    assert paused
    ended_by_the_acd = 0
    for pause in paused:
        after = next(r for r in records if isinstance(r, AgentStateChanged)
                     and r.agent == pause.agent and r.t >= pause.t and r is not pause)
        # Back by themselves in time (they were away), or made ready by the queue at 20 s.
        assert after.state is AgentState.READY
        if after.reason == "autopause_over":
            assert after.t == pause.t + 20
            ended_by_the_acd += 1
        else:
            assert after.t < pause.t + 20
    assert ended_by_the_acd
