"""The pacer: a SimPy environment run in step with wall time, with inputs handed in."""

from __future__ import annotations

import asyncio
import gc

import pytest
import simpy

from sim.clock import SimClock
from sim.load.realtime import COLLECT_EVERY, Lag, Pacer, collector_quieted


def test_events_run_in_order_up_to_the_end_of_the_run() -> None:
    env = simpy.Environment()
    ran: list[float] = []
    clock = SimClock(env)
    for delay in (0.03, 0.01, 0.02):
        clock.after(delay, lambda event: ran.append(event.env.now))
    pacer = Pacer(env)
    asyncio.run(pacer.run(0.05))
    assert ran == [0.01, 0.02, 0.03]
    assert env.now == pytest.approx(0.05)
    assert pacer.lag.steps >= 1 and pacer.lag.worst >= 0.0


def test_an_input_handed_in_runs_after_what_was_due_before_it() -> None:
    env = simpy.Environment()
    pacer = Pacer(env)
    seen: list[tuple[str, float]] = []
    SimClock(env).after(0.001, lambda event: seen.append(("timer", event.env.now)))

    async def main() -> None:
        run = asyncio.create_task(pacer.run(0.2))
        await asyncio.sleep(0.02)
        pacer.hand_in(lambda now: seen.append(("input", now)))
        await run

    asyncio.run(main())
    assert [kind for kind, _ in seen] == ["timer", "input"]
    assert seen[1][1] >= seen[0][1]


def test_a_timer_set_by_an_input_wakes_the_pacer() -> None:
    env = simpy.Environment()
    pacer = Pacer(env)
    fired: list[float] = []

    def arm(now: float) -> None:
        SimClock(env).after(0.01, lambda event: fired.append(event.env.now - now))

    async def main() -> None:
        run = asyncio.create_task(pacer.run(0.5))
        await asyncio.sleep(0.01)
        pacer.hand_in(arm)
        await run

    asyncio.run(main())
    assert fired == [pytest.approx(0.01)]


def test_what_an_input_raises_ends_the_run() -> None:
    pacer = Pacer(simpy.Environment())

    def broken(now: float) -> None:
        raise ValueError("no such call")

    async def main() -> None:
        run = asyncio.create_task(pacer.run(5.0))
        await asyncio.sleep(0.01)
        pacer.hand_in(broken)
        await run

    with pytest.raises(ValueError, match="no such call"):
        asyncio.run(main())


def test_the_collector_is_quieted_inside_and_restored_after() -> None:
    before = gc.get_threshold()
    with collector_quieted():
        assert gc.get_threshold() == COLLECT_EVERY
        assert gc.get_freeze_count() > 0  # what was alive on entry is never rescanned
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_lag_counts_afresh_after_a_reset() -> None:
    lag = Lag()
    lag.observe(0.5)
    lag.reset()
    lag.observe(0.1)
    assert (lag.worst, lag.mean, lag.steps) == (0.1, 0.1, 1)
