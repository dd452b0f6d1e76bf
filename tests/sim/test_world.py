"""One simulation run as a whole."""

from __future__ import annotations

import gc

from appliance.config import resolve_site
from sim.world import RunSpec, World
from tests.factories import build_site

BUSY_SITE = build_site(
    agents=6,
    trunks=8,
    wrap_up=5,
    queue={"max_wait": 120, "on_max_wait": {"action": "voicemail"}},
    traffic={
        "calls_per_hour": 150,
        "call_types": [
            {
                "name": "general",
                "trunk_group": "pstn",
                "talk_time": {"dist": "exponential", "mean": 120},
                "patience": {"dist": "exponential", "mean": 60},
                "hold": {"probability": 0.2, "duration": {"dist": "fixed", "value": 20}},
                "retrial": {"after_abandon": 0.3, "after_busy": 0.5},
            }
        ],
    },
    behaviour={"answer_delay": {"dist": "exponential", "mean": 3}, "no_answer_probability": 0.1},
)


def garbage_after_run(hours: float) -> tuple[int, int]:
    """(calls, objects only the cyclic collector could free) after a whole run."""
    gc.collect()
    gc.disable()
    try:
        world = World(BUSY_SITE, RunSpec(hours=hours, seed=3))
        log = world.run()  # kept alive: the records are not garbage
        calls = world.core._next_call_id
        del world
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found = len(gc.garbage)
        assert log.records
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return calls, found


def test_calls_leave_no_reference_cycles_behind() -> None:
    # The run switches the cyclic collector off; that is only safe if calls
    # are freed by reference counting. The cycles that remain belong to the
    # world itself and to what is still in progress when the run stops, so
    # they do not grow with the number of calls.
    short_calls, short_garbage = garbage_after_run(2.0)
    long_calls, long_garbage = garbage_after_run(12.0)
    assert long_calls > short_calls + 1000
    assert long_garbage - short_garbage < 0.02 * (long_calls - short_calls)


def test_the_collector_is_back_on_after_a_run() -> None:
    assert gc.isenabled()
    World(resolve_site("small"), RunSpec(hours=0.5, seed=1)).run()
    assert gc.isenabled()


def test_a_deadline_at_time_zero_is_kept() -> None:
    # An announcement due the moment the first caller queues, at t = 0: the core's
    # first deadline is 0.0, which must still wake it.
    site = build_site(
        agents=1,
        queue={"announcements": {"first_after": 0, "every": 30, "duration": 5}},
        traffic={
            "calls_per_hour": 1,
            "call_types": [
                {"name": "a", "trunk_group": "pstn", "talk_time": {"dist": "fixed", "value": 60}}
            ],
        },
    )
    world = World(site, RunSpec(hours=1, seed=1))
    world.driver.handlers.clear()  # a caller of our own, not one of the testbed's
    world.core.agent_login(0.0, "a1", ready=False)
    world.core.offer_call(0.0, "pstn")
    world.driver.run(10.0)
    records = world.log.records
    announced = [r for r in records if type(r).__name__ == "CallAnnounced"]
    assert announced and announced[0].t == 0.0
